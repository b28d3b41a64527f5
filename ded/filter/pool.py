"""A small process pool whose tasks can be killed.

concurrent.futures' ProcessPoolExecutor cannot stop one stuck task, and one
dead worker breaks the whole pool. A time limit inside the worker (a signal
handler) does not fire during a long C-level call (a huge integer power, say),
so each task here also has hard limits: a wall-clock deadline and, optionally,
a CPU-time allowance (read from /proc, where there is one). Past either the
worker is killed and replaced and the task gets `on_timeout`'s result; a
worker that dies gets `on_crash`'s. The CPU allowance is what makes the
outcome the same on an idle and a busy machine; the deadline only has to
catch a worker that hangs without computing.

Workers are plain `python -m ded.filter.pool MODULE:FUNCTION` processes
speaking JSON lines on stdin/stdout. Not multiprocessing: its "spawn" method
re-runs the caller's __main__ (a Snakemake script) in every worker, and
"fork" in a process with threads (tokenizers, the sandbox) can deadlock.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable, Sequence

_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the ded package
#: how often (seconds) the workers' CPU time is read while a CPU allowance is set
CPU_POLL_S = 0.25
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process, or None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()  # the command name may hold spaces
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def serve(target: str) -> None:
    """Worker loop: one JSON task per stdin line, one JSON [kind, value] per stdout line."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    module, name = target.split(":")
    fn = getattr(importlib.import_module(module), name)
    out = sys.stdout
    for line in sys.stdin:
        try:
            res = ["ok", fn(json.loads(line))]
        except BaseException as exc:  # noqa: BLE001 - math-verify's TimeoutException is a BaseException
            res = ["error", f"{type(exc).__name__}: {exc}"]
        out.write(json.dumps(res) + "\n")
        out.flush()


class _Worker:
    def __init__(self, target: str):
        env = dict(os.environ)
        env["PYTHONPATH"] = _ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen([sys.executable, "-m", "ded.filter.pool", target], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, text=True, encoding="utf-8", bufsize=1)
        self.job: tuple[int, float, float | None] | None = None  # (task index, deadline, CPU at start)

    def fileno(self) -> int:
        return self.proc.stdout.fileno()

    def send(self, task: Any) -> None:
        self.proc.stdin.write(json.dumps(task) + "\n")
        self.proc.stdin.flush()

    def recv(self) -> list:
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError
        return json.loads(line)

    def cpu_s(self) -> float | None:
        return process_cpu_s(self.proc.pid)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class KillablePool:
    def __init__(self, workers: int, target: str, task_timeout_s: float = 60.0, task_cpu_s: float | None = None):
        """task_timeout_s: wall-clock seconds per task; task_cpu_s: CPU seconds per task (None: no limit)."""
        self.target = target
        self.task_timeout_s = task_timeout_s
        self.task_cpu_s = task_cpu_s
        self.workers = [_Worker(target) for _ in range(max(1, workers))]

    def map(self, tasks: Sequence[Any], on_timeout: Callable[[Any], Any],
            on_crash: Callable[[Any, str], Any]) -> list:
        """Results in task order. A task that raises, or whose worker dies, gets on_crash(task, message)."""
        results: list = [None] * len(tasks)
        pending = deque(range(len(tasks)))
        idle = list(self.workers)
        busy: list[_Worker] = []
        while pending or busy:
            while idle and pending:
                w = idle.pop()
                i = pending.popleft()
                try:
                    w.send(tasks[i])
                except (BrokenPipeError, OSError):
                    results[i] = on_crash(tasks[i], f"worker died (exit code {w.proc.poll()})")
                    idle.append(self._replace(w))
                    continue
                w.job = (i, time.monotonic() + self.task_timeout_s, w.cpu_s() if self.task_cpu_s else None)
                busy.append(w)
            if not busy:
                continue
            wait_s = min(w.job[1] for w in busy) - time.monotonic()
            if self.task_cpu_s:
                wait_s = min(wait_s, CPU_POLL_S)
            ready = wait(busy, timeout=max(0.0, wait_s))
            for w in ready:
                busy.remove(w)
                i = w.job[0]
                try:
                    kind, value = w.recv()
                except (EOFError, OSError, ValueError):
                    results[i] = on_crash(tasks[i], f"worker died (exit code {w.proc.poll()})")
                    idle.append(self._replace(w))
                    continue
                results[i] = value if kind == "ok" else on_crash(tasks[i], value)
                w.job = None
                idle.append(w)
            now = time.monotonic()
            for w in list(busy):
                if w.job[1] <= now or self._over_cpu(w):
                    busy.remove(w)
                    results[w.job[0]] = on_timeout(tasks[w.job[0]])
                    idle.append(self._replace(w))
        return results

    def _over_cpu(self, w: _Worker) -> bool:
        start = w.job[2]
        if not self.task_cpu_s or start is None:
            return False
        used = w.cpu_s()
        return used is not None and used - start > self.task_cpu_s

    def _replace(self, w: _Worker) -> _Worker:
        w.kill()
        new = _Worker(self.target)
        self.workers[self.workers.index(w)] = new
        return new

    def close(self) -> None:
        for w in self.workers:
            try:
                w.proc.stdin.close()
            except OSError:
                pass
        for w in self.workers:
            try:
                w.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            w.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    serve(sys.argv[1])
