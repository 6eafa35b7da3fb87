"""Fuzzing: small real traces of every format, mutated by a seeded mutator (byte flips,
cuts, deleted and duplicated events, wrong types, huge and negative numbers, hostile
names), each run through the CLI in this process.

Every case must end in exit 0 with groups adding up to the total and no negative time,
or exit 2 with one error line (warnings aside) that is not an internal error; no output
may hold an escape sequence; no case may take long. ``TRACEKIT_FUZZ=N`` runs N cases
per format instead of the CI default, ``TRACEKIT_FUZZ_SEED`` picks another seed.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CORPUS, KINETO, SAMPLES
from tests.test_safety import HOSTILE, RAW_BYTES, cli

ROOT = Path(__file__).resolve().parents[1]
CASES = int(os.environ.get("TRACEKIT_FUZZ", "0")) or None
SEED = os.environ.get("TRACEKIT_FUZZ_SEED", "tracekit")
CASE_SECONDS = 20  # generous on a loaded 2-core CI machine; a hang is caught, not waited on
INTERNAL = ("could not be parsed", "Traceback", "Error:", "OverflowError", "TypeError",
            "ValueError", "KeyError", "IndexError", "RuntimeWarning")
BIG = [1e16, -1e16, 1e308, -1e308, 2**64, -2**63, 2**63, 9.2e18, 1e400, -5, -1, 0, 0.5,
       "abc", "", None, [], {}, True, "1e999", "0x7fffffffffffffff", "-0"]


@dataclass
class Source:
    name: str
    path: Path
    kind: str  # "json" (plain or gzip), "sqlite", "trt"
    cases: int  # in CI


def sources() -> list[Source]:
    out = []
    small = sorted((p for p in KINETO.glob("*.json*") if p.stat().st_size < 40_000),
                   key=lambda p: p.stat().st_size) if KINETO.is_dir() else []
    for p in small[-6:]:
        out.append(Source("kineto:" + p.name[-40:], p, "json", 10))
    for p in sorted((ROOT / "tests" / "fixtures" / "ort").glob("*.json")):
        out.append(Source("ort:" + p.name, p, "json", 10))
    for p in sorted(SAMPLES.glob("*.pt.trace.json*")):
        if p.stat().st_size < 200_000:
            out.append(Source("sample:" + p.name, p, "json", 8))
    trt = sorted((CORPUS / "tensorrt").glob("*fp32__resnet.onnx.engine.profile.json")) \
        if (CORPUS / "tensorrt").is_dir() else []
    for p in trt[:1]:
        out.append(Source("trt:" + p.name[-40:], p, "trt", 15))
    nsys = sorted((CORPUS / "nsys").glob("*.sqlite"), key=lambda p: p.stat().st_size) \
        if (CORPUS / "nsys").is_dir() else []
    for p in nsys[:1]:
        out.append(Source("nsys:" + p.name[-40:], p, "sqlite", 12))
    return out


SOURCES = sources()


# ------------------------------------------------------------------ mutations

def _json_doc(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _events(doc):
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("traceEvents",):
            if isinstance(doc.get(key), list):
                return doc[key]
        for value in doc.values():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return value
    return None


def _leaves(event: dict, depth=0):
    """(container, key) of every scalar inside an event (args included)."""
    for key, value in list(event.items()):
        if isinstance(value, dict) and depth < 2:
            yield from _leaves(value, depth + 1)
        else:
            yield event, key


def mutate_events(doc, rng: random.Random) -> str:
    events = _events(doc)
    if not events:
        return "no events"
    what = rng.choice(["delete", "duplicate", "wrong type", "number", "name", "number", "shuffle"])
    n = max(1, len(events) // rng.choice([50, 10, 3]))
    for _ in range(n if what != "shuffle" else 1):
        i = rng.randrange(len(events))
        e = events[i]
        if what == "delete":
            del events[i]
            if not events:
                break
        elif what == "duplicate":
            events.insert(rng.randrange(len(events) + 1), json.loads(json.dumps(e)))
        elif what == "shuffle":
            rng.shuffle(events)
        elif isinstance(e, dict):
            leaves = list(_leaves(e))
            if not leaves:
                continue
            box, key = rng.choice(leaves)
            if what == "number":
                key = rng.choice([k for k in ("ts", "dur", "pid", "tid", "correlation", "id",
                                              "averageMs", "timeMs", "percentage", key) if k in box] or [key])
                box[key] = rng.choice(BIG[:10])
            elif what == "wrong type":
                box[key] = rng.choice(BIG)
            else:
                key = next((k for k in ("name", "cat", "op_name", "layerName") if k in box), key)
                box[key] = HOSTILE + str(box.get(key))[:20]
        else:
            events[i] = rng.choice(BIG)
    return what


def _json_text(doc) -> bytes:
    try:
        return json.dumps(doc).encode()
    except ValueError:  # 1e400 -> Infinity is not JSON: write the number's text itself
        return json.dumps(doc, allow_nan=True).replace("Infinity", "1e400").replace("NaN", "1e999").encode()


def mutate_bytes(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    what = rng.choice(["flip", "cut", "cut", "splice"])
    data = bytearray(raw)
    if what == "flip":
        for _ in range(rng.choice([1, 3, 30])):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif what == "cut":
        data = data[: rng.randrange(len(data))]
    else:  # a chunk of the file repeated somewhere else
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randrange(1, 400))
        at = rng.randrange(len(data))
        data[at:at] = data[a:b]
    return bytes(data), what


def make_case(src: Source, rng: random.Random, tmp: Path) -> tuple[Path, str]:
    raw = src.path.read_bytes()
    packed = raw[:2] == b"\x1f\x8b"
    plain = gzip.decompress(raw) if packed else raw
    suffix = ".json.gz" if packed and rng.random() < 0.5 else ".json"
    if src.kind == "sqlite":
        return _sqlite_case(src, rng, tmp)
    name = "case" + suffix
    if src.kind == "trt":
        name = "case.profile.json"
    if rng.random() < 0.6:
        doc = _json_doc(plain)
        how = mutate_events(doc, rng) if doc is not None else "not json"
        data = _json_text(doc)
        if rng.random() < 0.2:
            data, more = mutate_bytes(data, rng)
            how += " + " + more
    else:
        data, how = mutate_bytes(plain, rng)
    path = tmp / name
    path.write_bytes(gzip.compress(data, 1) if name.endswith(".gz") else data)
    return path, how


def _sqlite_case(src: Source, rng: random.Random, tmp: Path) -> tuple[Path, str]:
    path = tmp / "case.sqlite"
    shutil.copyfile(src.path, path)
    if rng.random() < 0.4:
        data, how = mutate_bytes(path.read_bytes(), rng)
        path.write_bytes(data)
        return path, how
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    kernel = next((t for t in tables if t == "CUPTI_ACTIVITY_KIND_KERNEL"), None)
    how = "sql"
    if kernel:
        rows = con.execute(f"SELECT rowid FROM {kernel}").fetchall()
        pick = [r[0] for r in rng.sample(rows, min(len(rows), rng.choice([1, 5, 50])))]
        column = rng.choice(["start", "end", "shortName", "demangledName", "deviceId", "streamId",
                             "correlationId"])
        value = rng.choice([-2**63, 2**63 - 1, -5, 0, 10**18, "abc", None, 1e308])
        how = f"sql {column}={value!r}"
        try:
            con.executemany(f"UPDATE {kernel} SET {column} = ? WHERE rowid = ?", [(value, r) for r in pick])
        except sqlite3.Error:  # a NOT NULL column: the export stays as it was
            how += " (refused)"
    if "StringIds" in tables and rng.random() < 0.5:
        con.execute("UPDATE StringIds SET value = ? WHERE id IN (SELECT id FROM StringIds "
                    "ORDER BY random() LIMIT 5)", (HOSTILE,))
        how += " + hostile names"
    con.commit()
    con.close()
    return path, how


# ------------------------------------------------------------------ checks

class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def run_case(path: Path, rng: random.Random):
    command = rng.choices(["summary", "fallback", "export"], weights=[8, 1, 1])[0]
    argv = [command, path, "--no-cache"]
    if command == "export":
        argv += ["-o", path.with_name("out" + rng.choice([".json", ".pftrace", ".csv"]))]
    elif rng.random() < 0.6:
        argv.append("--json")
    if rng.random() < 0.2 and command != "export":
        argv += ["--step", "all"]
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    start = time.perf_counter()
    try:
        result = cli(*argv)
    except Timeout:
        return None, argv, CASE_SECONDS
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return result, argv, time.perf_counter() - start


def problems(result, argv) -> str | None:
    """Why this outcome breaks the contract (None when it keeps it)."""
    text = result.stdout + result.stderr
    for raw in RAW_BYTES:
        if raw in text:
            return f"raw {raw!r} in the output"
    lines = result.stderr.strip().splitlines()
    others = [line for line in lines if not line.startswith("tracekit: warning: ")]
    if result.returncode == 2:
        if len(others) != 1 or not others[0].startswith("tracekit: error: "):
            return f"exit 2 without exactly one error line: {result.stderr[-600:]!r}"
        if any(word in others[0] for word in INTERNAL):
            return f"internal error text: {others[0][:300]!r}"
        return None
    if result.returncode != 0:
        return f"exit {result.returncode}: {result.stderr[-600:]!r}"
    if others:
        return f"exit 0 with stray stderr: {others[:3]!r}"
    if any(word in result.stderr for word in INTERNAL):
        return f"internal text in a warning: {result.stderr[:300]!r}"
    if argv[0] == "export":
        if not result.stdout.startswith("wrote "):
            return f"export said {result.stdout[:200]!r}"
    elif argv[0] == "fallback":
        if "--json" in argv:
            try:
                _negative = _negative_times(json.loads(result.stdout))
            except ValueError as exc:
                return f"--json output is not JSON ({exc})"
            if _negative:
                return f"negative time {_negative}"
    elif "--json" in argv:
        try:
            doc = json.loads(result.stdout)
        except ValueError as exc:
            return f"--json output is not JSON ({exc})"
        for summary in doc.get("traces", [doc]):
            groups = summary.get("groups", {})
            if sum(groups.values()) != summary.get("total_ns"):
                return f"groups add up to {sum(groups.values())}, total_ns {summary.get('total_ns')}"
            if sum(summary.get("group_counts", {}).values()) not in (summary.get("kernels"), summary.get("ops")):
                return "group counts do not add up to the kernels or ops"
        negative = _negative_times(doc)
        if negative:
            return f"negative time {negative}"
    if not result.stdout.strip():
        return "exit 0 with no output"
    return None


def _negative_times(node, key=""):
    if isinstance(node, dict):
        for k, v in node.items():
            found = _negative_times(v, k)
            if found:
                return found
    elif isinstance(node, list):
        for v in node:
            found = _negative_times(v, key)
            if found:
                return found
    elif key.endswith("_ns") and isinstance(node, (int, float)) and node < 0:
        return f"{key}={node}"
    return None


@pytest.mark.parametrize("src", SOURCES, ids=[s.name for s in SOURCES])
def test_fuzz(src, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEKIT_CACHE_DIR", str(tmp_path / "cache"))
    n = CASES or src.cases
    failures, outcomes = [], {0: 0, 2: 0}
    for i in range(n):
        rng = random.Random(f"{SEED}:{src.name}:{i}")
        case_dir = tmp_path / str(i)
        case_dir.mkdir()
        path, how = make_case(src, rng, case_dir)
        result, argv, seconds = run_case(path, rng)
        if result is None:
            failures.append(f"case {i} ({how}): no result after {seconds} s")
        else:
            outcomes[result.returncode] = outcomes.get(result.returncode, 0) + 1
            why = problems(result, argv)
            if why:
                failures.append(f"case {i} ({how}): {why}")
        shutil.rmtree(case_dir, ignore_errors=True)
    if CASES:
        print(f"\n{src.name}: {n} cases, exit 0: {outcomes.get(0, 0)}, exit 2: {outcomes.get(2, 0)}, "
              f"failures: {len(failures)}")
    assert not failures, f"{len(failures)} of {n} cases (seed {SEED!r}):\n" + "\n".join(failures[:15])
