"""``tracekit report``: one self-contained HTML page (inline SVG and CSS, no script, nothing
fetched) with the figures and tables of a set of traces. Sections without data are left
out, and the page says which."""
from __future__ import annotations

from tracekit.report import dataset, figures, html_tables
from tracekit.report.comparison import ModelComparison
from tracekit.report.dataset import Entry
from tracekit.report.html_tables import esc
from tracekit.report.parallel import map_forked

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em auto;max-width:1400px;
padding:0 1em;color:#111827;background:#fff}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #d1d5db}
h3{font-size:1.05em}figure{margin:1em 0}figure svg{max-width:100%;height:auto}
figcaption{color:#374151;font-size:.9em;max-width:70em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #d1d5db;padding:2px 6px;text-align:left}td.num{text-align:right}
th{background:#f3f4f6}.note{color:#4b5563}
.provenance td,.provenance th{overflow-wrap:anywhere}.provenance td:first-child{min-width:12em}
.provenance td:nth-child(n+3):nth-child(-n+8),.provenance td.num{white-space:nowrap}
@media print{body{max-width:none}h2{page-break-before:auto}}
"""


def figure(fid: str, svg: str, caption: str) -> str:
    return f'<figure id="{fid}">{svg}<figcaption>{caption}</figcaption></figure>'


def draw(entries: list[Entry], comparisons: list[ModelComparison]) -> dict[str, str]:
    """Every figure's SVG by name, drawn in parallel (each figure is independent)."""
    builders = {"gemm": lambda: figures.gemm_split(entries),
                "non-gemm": lambda: figures.non_gemm_groups(entries),
                "amdahl": lambda: figures.amdahl(entries)}
    if comparisons:
        builders["comparison"] = lambda: figures.runtime_comparison(comparisons)
    names = list(builders)
    return dict(zip(names, map_forked(lambda name: builders[name](), names)))


def render(entries: list[Entry], comparisons: list[ModelComparison], title: str = "tracekit report") -> str:
    """The page, as text."""
    svgs = draw(entries, comparisons)
    body = [f"<h1>{esc(title)}</h1>", _intro(entries), _outliers(entries)]
    body.append(_section("gemm", "GEMM vs non-GEMM", figure(
        "fig-gemm-split", svgs["gemm"],
        "Time per step of every trace split into GEMM-based (GEMM, convolution, attention), non-GEMM "
        "and communication, grouped by model with a bar per batch size, one panel per runtime. "
        "Top: milliseconds per step; bottom: shares of the total, the GEMM share written on the bar.")))
    body.append(_section("non-gemm", "Non-GEMM time by group", figure(
        "fig-non-gemm-groups", svgs["non-gemm"],
        "Non-GEMM time per step by group, stacked: which non-GEMM group dominates each model.")))
    body.append(_comparison(comparisons, svgs.get("comparison", "")))
    body.append(_section("amdahl", "Top non-GEMM operators and Amdahl's bound", figure(
        "fig-amdahl", svgs["amdahl"],
        "Speedup of the whole run if GEMM-based time went to zero: total / (total - GEMM). "
        "A value near 1 means non-GEMM work bounds the run.") + html_tables.top_ops(entries)))
    body.extend(_optional_sections(entries))
    body.append(_section("provenance", "Inputs and their numbers", "<p class=note>The numbers of "
                         "<code>tracekit summary --json</code> for each input (nanoseconds in the "
                         "window named under “steps used”).</p>" + html_tables.provenance(entries)))
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(b for b in body if b) + "\n</body></html>\n")


def _section(sid: str, heading: str, content: str) -> str:
    return f'<section id="{sid}"><h2>{esc(heading)}</h2>{content}</section>'


def _intro(entries: list[Entry]) -> str:
    models, runtimes = dataset.models(entries), dataset.runtimes(entries)
    points = sorted({e.point for e in entries if e.batch is not None})
    where = f"; batch/sequence points {esc(', '.join(points))}" if points else ""
    return (f"<p>{len(entries)} traces: models {esc(', '.join(models))}; runtimes "
            f"{esc(', '.join(runtimes))}{where}. Times are per "
            "step (or ONNX Runtime run) in each trace's window: the steps after the warm-up, named "
            "under “steps used” below. "
            "Host-only traces count operators' self time, GPU traces kernel time; see the time basis "
            "of each input below.</p>")


def _outliers(entries: list[Entry]) -> str:
    """A step far longer (or shorter) than the others, from a noisy neighbour or a late
    warm-up, weighs on every per-step figure: the page names it as the summary does."""
    lines = [f"<li>{esc(e.model)} {esc(e.runtime)} {esc(e.point)}: {esc(e.summary.step_outlier)}</li>"
             for e in entries if e.summary.step_outlier]
    if not lines:
        return ""
    return ("<p class=note id=step-outliers>Step outliers: every figure below includes them "
            "(<code>tracekit summary FILE --step …</code> as suggested reads the other steps).</p>"
            f"<ul>{''.join(lines)}</ul>")


def _comparison(comparisons: list[ModelComparison], svg: str) -> str:
    if not comparisons:
        return _section("comparison", "Runtime comparison",
                        "<p class=note>No model ran under more than one runtime.</p>")
    notes = [f"<li>{esc(c.model)} {esc(p.point)}: {esc('; '.join(p.reasons))}</li>"
             for c in comparisons for p in c.points if p.reasons]
    caveat = f"<p class=note>Caveats:</p><ul>{''.join(notes)}</ul>" if notes else ""
    return _section("comparison", "Runtime comparison", figure(
        "fig-runtime-comparison", svg,
        "Per model and batch size, each runtime's time per step by group (eager vs compile vs "
        "ONNX Runtime vs TensorRT).") + caveat)


def _optional_sections(entries: list[Entry]) -> list[str]:
    parts, absent = [], []
    for sid, heading, content in (
            ("fusion", "TensorRT fusion", html_tables.fusion(entries)),
            ("fallback", "Copies and ONNX Runtime CPU fallback", html_tables.fallback(entries)),
            ("communication", "Communication", html_tables.communication(entries)),
            ("devices", "Per device", html_tables.devices(entries))):
        if content:
            parts.append(_section(sid, heading, content))
        else:
            absent.append(heading)
    if absent:
        parts.append(f"<p class=note>Not in these traces: {esc(', '.join(absent))}.</p>")
    return parts
