"""Command line: one module per subcommand; ``main`` dispatches."""
