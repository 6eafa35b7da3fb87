"""trtexec console logs -> the same records as trtexec's JSON exports (parsers/tensorrt.py).

``trtexec --dumpProfile`` prints the per-layer profile as a table at the end of its log,
``--dumpLayerInfo`` the engine's layer information; people save the console output and
keep it instead of ``--exportProfile`` / ``--exportLayerInfo`` files. Two table layouts
exist: TensorRT 8.2 prints the layer name first (right-aligned) then ``Time (ms)``,
``Avg. Time (ms)``, ``Time %``; later versions print ``Time(ms) Avg.(ms) Median(ms)
Time(%)`` and the layer name last. Lines may carry the logger prefix
("[05/26/2022-18:09:34] [I] ").

Per-layer time is the table's total time divided by the iteration count (more digits than
the rounded average column), as ``--exportProfile`` computes ``averageMs``.
"""
from __future__ import annotations

import re

_PREFIX = re.compile(r"^(?:\[[^\]\n]*\]\s*)?\[[IVWEF]\]\s?")
_MARKS = re.compile(rb"&&&& (?:RUNNING|PASSED|FAILED) TensorRT\.trtexec|\[[IVWE]\] === (?:Profile \(|"
                    rb"Performance summary ===|Model Options ===|Inference Options ===|Trace details ===)")
_PROFILE = re.compile(r"^=== Profile \((\d+) iterations? ?\) ===\s*$")
_NUMBER = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_COMMAND = re.compile(r"&&&& RUNNING TensorRT\.trtexec(?: \[TensorRT v(\d+)\])? # (.*)$")
_EXPORT_FLAG = re.compile(r"--(exportLayerInfo|exportProfile|exportTimes)=(\S+)")
_DEVICE = re.compile(r"^Selected Device: (.+?)\s*$")
_STATS = re.compile(r"^(Latency|GPU Compute Time|H2D Latency|D2H Latency|Enqueue Time|"
                    r"End-to-End Host Latency): (.*)$")
_STAT = re.compile(r"(min|max|mean|median|percentile\((\d+)%\)) = " + _NUMBER + " ms")
_THROUGHPUT = re.compile(r"^Throughput: " + _NUMBER + r" qps")
_QUERIES = re.compile(r"^Timing trace has (\d+) queries")
_LAYER_INFO = re.compile(r"^Layer Information:\s*$")
_FIELD_NAME = re.compile(r"^Name: (.*?), LayerType: ([^,]*)(?:, |$)")
_ONNX_LAYER = re.compile(r"\[ONNX Layer: ([^\]]+)\]")
_FORMAT = re.compile(r"Format/Datatype: ([^}\]]*?)\s*[}\]]")
STAT_KEYS = {"Latency": "latency_ms", "GPU Compute Time": "compute_ms", "H2D Latency": "h2d_ms",
             "D2H Latency": "d2h_ms", "Enqueue Time": "enqueue_ms"}


def is_log(head: bytes) -> bool:
    """A trtexec console log: its banner or one of its section headings near the top."""
    return bool(_MARKS.search(head))


def _lines(text: str) -> list[str]:
    return [_PREFIX.sub("", line.rstrip("\r")) for line in text.split("\n")]


def read(text: str) -> dict:
    """{"count", "names", "avg_ms", "median_ms", "total_ms", "layers", "timing", "device",
    "version", "command", "exports", "sections"} from a log's text; "names" is empty when
    the log holds no profile table."""
    lines = _lines(text)
    out: dict = {"count": 0, "names": [], "avg_ms": [], "median_ms": [], "total_ms": None,
                 "layers": None, "timing": None, "device": None, "version": None,
                 "command": None, "exports": {}, "sections": 0}
    for raw in text.split("\n", 50)[:50]:
        m = _COMMAND.search(raw)
        if m:
            out["version"], out["command"] = m.group(1), m.group(2).strip()
            out["exports"] = {k: v for k, v in _EXPORT_FLAG.findall(m.group(2))}
            break
    starts = [i for i, line in enumerate(lines) if _PROFILE.match(line.strip())]
    out["sections"] = len(starts)
    if starts:  # the last table: a log of several runs reports the final one last
        i = starts[-1]
        out["count"] = int(_PROFILE.match(lines[i].strip()).group(1))
        _table(lines, i + 1, out)
    out["timing"] = _timing(lines)
    for line in lines:
        m = _DEVICE.match(line)
        if m:
            out["device"] = m.group(1)
            break
    out["layers"] = _layer_info(lines)
    return out


def _table(lines: list[str], at: int, out: dict) -> None:
    """Rows of the profile table whose header is at ``at``; stops at the first line that is
    not a row (the blank log line after the table)."""
    header = lines[at].strip() if at < len(lines) else ""
    name_last = header.startswith("Time")
    columns = [c for c in re.split(r"\s{2,}", header) if c and c != "Layer"]
    n = len(columns)
    if n < 2:
        return
    numbers = r"\s+".join([_NUMBER] * n)
    row = re.compile(rf"^\s*{numbers}\s+(\S.*?)\s*$" if name_last else rf"^(.*?)\s+{numbers}\s*$")
    median_col = next((j for j, c in enumerate(columns) if c.lower().startswith("median")), None)
    avg_col = next((j for j, c in enumerate(columns) if c.lower().startswith("avg")), None)
    time_col = 0
    count = out["count"]
    for line in lines[at + 1:]:
        m = row.match(line)
        if not m or not line.strip():
            break
        groups = m.groups()
        name, values = (groups[-1], groups[:-1]) if name_last else (groups[0].strip(), groups[1:])
        values = [float(v) for v in values]
        total = values[time_col]
        avg = total / count if count and total >= 0 else (values[avg_col] if avg_col is not None else total)
        out["names"].append(name)
        out["avg_ms"].append(avg)
        out["median_ms"].append(values[median_col] if median_col is not None else 0.0)


def _timing(lines: list[str]) -> dict | None:
    timing: dict = {}
    for line in lines:
        m = _STATS.match(line)
        if m and m.group(1) in STAT_KEYS:
            stats = {}
            for key, pct, value in _STAT.findall(m.group(2)):
                stats[f"p{pct}" if pct else key] = float(value)
            if stats:  # not the explanation lines of verbose logs ("Latency: the summation ...")
                timing[STAT_KEYS[m.group(1)]] = stats
            continue
        m = _THROUGHPUT.match(line)
        if m:
            timing["throughput_per_s"] = float(m.group(1))
            continue
        m = _QUERIES.match(line)
        if m:
            timing["iterations"] = int(m.group(1))
    if not timing:
        return None
    timing.setdefault("iterations", None)
    timing["source"] = "trtexec log"
    return timing


def _layer_info(lines: list[str]) -> list[dict] | None:
    """``--dumpLayerInfo`` output: "Layer Information:", "Layers:", one layer per line (its
    name, or "Name: ..., LayerType: ..., ..." when the engine was built with detailed
    verbosity), then "Bindings:"."""
    start = next((i for i, line in enumerate(lines) if _LAYER_INFO.match(line.strip())), None)
    if start is None:
        return None
    layers = []
    i = start + 1
    while i < len(lines) and lines[i].strip() != "Layers:":
        if i > start + 3:
            return None
        i += 1
    for line in lines[i + 1:]:
        text = line.strip()
        if not text or text == "Bindings:" or _PROFILE.match(text) or text.startswith("==="):
            break
        m = _FIELD_NAME.match(text)
        if m:
            layer = {"Name": m.group(1), "LayerType": m.group(2).strip()}
            nodes = _ONNX_LAYER.findall(text)
            if nodes:
                layer["Metadata"] = "\x1f".join(f"[ONNX Layer: {n}]" for n in nodes)
            formats = _FORMAT.findall(text)
            if formats:
                layer["Inputs"] = [{"Format/Datatype": formats[0]}]
            layers.append(layer)
        else:
            layers.append({"Name": text})
    return layers
