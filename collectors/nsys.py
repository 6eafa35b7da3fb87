"""Nsight Systems collector: ``nsys profile --trace=cuda,nvtx,osrt`` around a command,
then ``nsys export --type sqlite`` so that tracekit's Nsight parser reads the result.
``nsys`` is looked up lazily; a clear message when it is absent."""
from __future__ import annotations

import os
import shutil
import subprocess

from collectors.run import CollectError, write_json


def available() -> str | None:
    return shutil.which("nsys")


def unavailable_reason() -> str:
    return ("Nsight Systems is not available: 'nsys' is not on PATH "
            "(install Nsight Systems, on a machine with an NVIDIA GPU)")


def commands(output: str, command: list[str], trace="cuda,nvtx,osrt") -> tuple[list, list]:
    """(profile command, export command) for ``output`` (a path without extension)."""
    profile = ["nsys", "profile", f"--trace={trace}", "--force-overwrite=true",
               "-o", output, *command]
    export = ["nsys", "export", "--type", "sqlite", "--force-overwrite=true",
              "-o", output + ".sqlite", output + ".nsys-rep"]
    return profile, export


def collect(output: str, command: list[str], trace="cuda,nvtx,osrt") -> dict:
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise CollectError("nsys", "give the command to profile after --, e.g. "
                           "tracekit collect nsys -o run -- python my_script.py")
    if output.endswith(".nsys-rep") or output.endswith(".sqlite"):
        output = os.path.splitext(output)[0]
    if available() is None:
        raise CollectError("nsys", unavailable_reason())
    profile, export = commands(output, command, trace)
    for cmd in (profile, export):
        result = subprocess.run(cmd)
        if result.returncode != 0:
            raise CollectError(output,
                               f"'{' '.join(cmd[:2])}' failed with exit code {result.returncode}")
    meta = {"collector": "nsys", "command": command, "trace": trace,
            "report": output + ".nsys-rep", "sqlite": output + ".sqlite"}
    write_json(output + ".meta.json", meta)
    return meta
