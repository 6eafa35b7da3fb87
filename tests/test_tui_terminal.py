"""Drives the real ``tracekit tui`` command in tmux: waits for the overview, reads the
screen text, presses q and checks that the command exits cleanly."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import ROOT, SAMPLES

pytest.importorskip("textual")
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux not installed")


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_tracekit_tui_in_tmux(tmp_path, cache_dir, size):
    trace = SAMPLES / "decoder_h100.pt.trace.json.gz"
    rc_file = tmp_path / "rc"
    session = f"tracekit-test-{uuid.uuid4().hex[:8]}"
    cmd = [sys.executable, "-m", "tracekit.cli.main", "tui", str(trace), "--cache-dir", str(cache_dir)]
    shell = f"cd {shlex.quote(str(ROOT))} && {shlex.join(cmd)}; echo $? > {shlex.quote(str(rc_file))}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    subprocess.run([TMUX, "-L", session, "new-session", "-d", "-s", session, "-x", str(size[0]),
                    "-y", str(size[1]), "bash", "--norc", "-c", shell], check=True, env=env)
    try:
        _wait_socket(session, "GEMM vs non-GEMM", 60)
        # the footer's screen keys can land a frame after the overview's body
        text = _wait_socket(session, "1 Overview", 10)
        assert "GEMM vs non-GEMM" in text and "decoder_h100" in text
        assert "Amdahl" in text and "Traceback" not in text
        subprocess.run([TMUX, "-L", session, "send-keys", "-t", session, "2"], check=True)
        _wait_socket(session, "by: op", 60)
        subprocess.run([TMUX, "-L", session, "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 60
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rc_file.exists(), "tracekit tui did not exit after q"
        assert rc_file.read_text().strip() == "0"
    finally:
        subprocess.run([TMUX, "-L", session, "kill-server"], capture_output=True, check=False)


def _wait_socket(session: str, needle: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = subprocess.run([TMUX, "-L", session, "capture-pane", "-p", "-t", session],
                              capture_output=True, text=True, check=False).stdout
        if needle in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not on screen after {timeout}s:\n{text}")
