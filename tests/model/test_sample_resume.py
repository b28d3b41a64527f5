"""A sampling job killed with SIGKILL at several points resumes to the same, complete output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ded.io import read_records, write_records
from ded.sample import sample_problems

ROOT = Path(__file__).resolve().parents[2]
N = 3


def _problems():
    out = [{"id": f"m{i}", "domain": "math", "source": "t", "prompt": f"What is {i} times {i + 1}?",
            "gold": str(i * (i + 1)), "gold_kind": "math"} for i in range(6)]
    out.append({"id": "c0", "domain": "code", "source": "t", "prompt": "Print the sum of two integers.",
                "gold": None, "gold_kind": "tests", "tests": [{"input": "1 2\n", "output": "3\n"}]})
    return out


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _run_until(cmd, progress: Path, lines: int | None, after_s: float | None, deadline_s: float = 180):
    """Start the job; SIGKILL it once the progress file has `lines` lines (or after `after_s`)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() - start < deadline_s:
            if lines is not None and _lines(progress) >= lines:
                break
            if after_s is not None and time.monotonic() - start >= after_s:
                break
            time.sleep(0.005)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return killed, proc.returncode, err.decode(errors="replace")


def test_sigkill_at_several_points_then_rerun_completes(tiny_llama_dir, tmp_path):
    problems = _problems()
    write_records(tmp_path / "problems.jsonl", problems, "problem")
    out, progress = tmp_path / "samples.jsonl", tmp_path / "progress.jsonl"
    cmd = [sys.executable, "-m", "ded", "sample", "--problems", str(tmp_path / "problems.jsonl"),
           "--model-path", str(tiny_llama_dir), "--backend", "hf", "--n", str(N), "--max-tokens", "8",
           "--top-p", "1.0", "--batch-size", "2", "--model-name", "tiny",
           "--out", str(out), "--progress", str(progress), "--no-progress-bar"]
    total = len(problems) * N

    kills = 0
    # before the model is loaded, then after 2, 9 and 16 of 21 pairs, with a torn line added on the way
    for lines, after_s in ((None, 0.5), (2, None), (9, None), (16, None)):
        killed, rc, err = _run_until(cmd, progress, lines, after_s)
        if killed:
            kills += 1
            assert not out.exists(), "a killed job must not leave the declared output"
        else:
            assert rc == 0, err[-2000:]
        if lines == 9:
            with progress.open("ab") as fh:  # what a kill in the middle of a write leaves
                fh.write(b'{"question_id": "m5", "sample_id": 2, "model": "ti')
    assert kills >= 3, "the job finished before it could be killed; make it longer"
    done_before = _lines(progress)
    assert done_before < total

    killed, rc, err = _run_until(cmd, progress, None, None)
    assert not killed and rc == 0, err[-2000:]
    assert f"{total - done_before} of {total} (question, sample) pairs to sample" in err
    records = read_records(out, "sample")
    pairs = [(r["question_id"], r["sample_id"]) for r in records]
    assert pairs == [(p["id"], s) for p in problems for s in range(N)]  # each pair once, in order
    saved = read_records(progress)
    assert len(saved) == total and len({(r["question_id"], r["sample_id"]) for r in saved}) == total

    # what an uninterrupted run draws, in this process with other batches: the same tokens
    sample_problems(problems, {"max_tokens": 8, "top_p": 1.0}, model_name="tiny", n=N,
                    out_path=tmp_path / "ref.jsonl", progress_path=tmp_path / "ref.progress",
                    batch_size=5, model_path=str(tiny_llama_dir))
    reference = read_records(tmp_path / "ref.jsonl", "sample")
    assert [r["raw_text"] for r in records] == [r["raw_text"] for r in reference]
    assert [r["seed"] for r in records] == [r["seed"] for r in reference]

    # a rerun of a finished job loads no model and rewrites the same output
    out.unlink()
    killed, rc, err = _run_until(cmd, progress, None, None)
    assert rc == 0 and "0 of 21" in err and "Loading weights" not in err
    assert read_records(out, "sample") == records
