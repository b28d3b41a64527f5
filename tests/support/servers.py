"""The project's OpenAI-compatible servers, started for a test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

from support.workflow import ROOT


@contextlib.contextmanager
def served_model(*args: str, timeout_s: float = 180):
    """`python -m <args>` (an OpenAI-compatible server of the project) started from the workflow's folder;
    yields the api_base it prints once it listens, and stops it afterwards."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = ""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and "listening on" not in line:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "server exited before it listened"
        yield line.split("listening on ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
