"""Reporters turn analysis results into output; each has ``render(result, out)``."""
