"""GPU claims of jobs on one machine without a scheduler (ded/gpus.py, profiles/local-gpus)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from ded import gpus

ROOT = Path(__file__).resolve().parents[2]
LOG = logging.getLogger("test")


def _release(handles):
    for handle in handles:
        handle.close()


def test_claims_are_disjoint_and_freed_when_released(tmp_path):
    devices = ["0", "1", "2", "3"]
    first, first_locks = gpus.try_claim(2, devices, tmp_path)
    second, second_locks = gpus.try_claim(2, devices, tmp_path)
    assert first == ["0", "1"] and second == ["2", "3"]
    assert gpus.try_claim(1, devices, tmp_path) is None  # all four held
    _release(first_locks)
    third, third_locks = gpus.try_claim(2, devices, tmp_path)
    assert third == ["0", "1"]
    _release(second_locks + third_locks)


def test_a_partial_claim_holds_nothing(tmp_path):
    devices = ["0", "1", "2"]
    _, held = gpus.try_claim(2, devices, tmp_path)
    assert gpus.try_claim(2, devices, tmp_path) is None
    # device 2 was locked and let go again by the failed claim
    got, more = gpus.try_claim(1, devices, tmp_path)
    assert got == ["2"]
    _release(held + more)


def test_a_killed_job_frees_its_devices(tmp_path):
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from ded.gpus import try_claim
        got, held = try_claim(2, ["0", "1"], Path({str(tmp_path)!r}))
        print(",".join(got), flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "0,1"
        assert gpus.try_claim(1, ["0", "1"], tmp_path) is None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    got, held = gpus.try_claim(2, ["0", "1"], tmp_path)
    assert got == ["0", "1"]
    _release(held)


def test_asking_for_more_than_the_machine_has_fails_at_once(tmp_path):
    with pytest.raises(gpus.GpuClaimError, match="asks for 3 GPU.s. but this machine offers 2"):
        gpus.claim_devices(3, ["0", "1"], tmp_path)


def test_waiting_for_busy_devices_ends_with_a_named_error(tmp_path):
    _, held = gpus.try_claim(1, ["0"], tmp_path)
    start = time.monotonic()
    with pytest.raises(gpus.GpuClaimError, match="no 1 free GPU"):
        gpus.claim_devices(1, ["0"], tmp_path, wait_s=0.3, poll_s=0.05)
    assert time.monotonic() - start < 5
    _release(held)


def test_visible_devices_follow_cuda_visible_devices():
    assert gpus.visible_devices({"CUDA_VISIBLE_DEVICES": "2, 5,7"}) == ["2", "5", "7"]
    assert gpus.visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []


def test_claim_for_job_sets_the_devices_and_leaves_slurm_jobs_alone(tmp_path):
    env = {"CUDA_VISIBLE_DEVICES": "4,5,6", "DED_GPU_LOCK_DIR": str(tmp_path)}
    assert gpus.claim_for_job(2, LOG, env) == ["4", "5"]
    assert env["CUDA_VISIBLE_DEVICES"] == "4,5"
    slurm = {"CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_ID": "7", "DED_GPU_LOCK_DIR": str(tmp_path)}
    assert gpus.claim_for_job(1, LOG, slurm) == [] and slurm["CUDA_VISIBLE_DEVICES"] == "0"
    assert gpus.claim_for_job(0, LOG, {"DED_GPU_LOCK_DIR": str(tmp_path)}) == []
    for handle in gpus._HELD:
        handle.close()
    gpus._HELD.clear()


SNAKEFILE = '''
rule all:
    input:
        expand("out/{name}.json", name=["a", "b", "c"]),


rule use_gpus:
    output:
        "out/{name}.json",
    log:
        "logs/{name}.log",
    resources:
        gpu=2,
    script:
        "job.py"
'''

JOB = '''
import json, os, sys, time
sys.path.insert(0, {root!r})
from scripts._common import setup

log = setup(snakemake)
start = time.time()
time.sleep(2)
with open(snakemake.output[0], "w") as out:
    json.dump({{"devices": os.environ["CUDA_VISIBLE_DEVICES"], "start": start, "end": time.time()}}, out)
'''


def test_local_jobs_get_distinct_devices_through_snakemake(tmp_path):
    """Three 2-GPU jobs on a 4-GPU "machine" (CUDA_VISIBLE_DEVICES; no GPU needed): at most two run at
    once (--resources gpu=4), and jobs running at the same time never share a device."""
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "job.py").write_text(JOB.format(root=str(ROOT)))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="0,1,2,3", DED_GPU_LOCK_DIR=str(tmp_path / "claims"))
    env.pop("SLURM_JOB_ID", None)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "3", "--resources", "gpu=4"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = [json.loads((tmp_path / f"out/{n}.json").read_text()) for n in "abc"]
    # Jobs starting at the same moment may interleave their locks (0,2 and 1,3): what holds is that each
    # gets two distinct devices and jobs running at once share none.
    for i, a in enumerate(jobs):
        mine = set(a["devices"].split(","))
        assert len(mine) == 2 and mine <= {"0", "1", "2", "3"}, a
        for b in jobs[i + 1:]:
            overlap = a["start"] < b["end"] and b["start"] < a["end"]
            assert not (overlap and mine & set(b["devices"].split(","))), (a, b)
    provenance = json.loads((tmp_path / "logs/a.provenance.json").read_text())
    assert provenance["allocation"]["asked"]["gpu"] == 2
    assert provenance["allocation"]["granted"]["cuda_visible_devices"] == jobs[0]["devices"]


def test_local_gpu_profile_asks_what_the_slurm_profile_asks():
    slurm = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    local = yaml.safe_load((ROOT / "profiles/local-gpus/config.yaml").read_text())
    wanted = {rule: res["gpu"] for rule, res in slurm["set-resources"].items() if "gpu" in res}
    assert {rule: res["gpu"] for rule, res in local["set-resources"].items()} == wanted
    (total,) = [r for r in local["resources"] if r.startswith("gpu=")]
    assert max(wanted.values()) <= int(total.split("=")[1])


def test_training_trains_on_what_cuda_sees_or_stops():
    assert gpus.training_gpus(0, {}, 0) == 0
    assert gpus.training_gpus(2, {"CUDA_VISIBLE_DEVICES": "3,4"}, 2) == 2
    # the stand-in GPUs of a test cluster (scripts/slurm/start.sh): the CPU
    assert gpus.training_gpus(1, {"SLURM_GPUS_ON_NODE": "1", "CUDA_VISIBLE_DEVICES": "0",
                                  "DED_STAND_IN_GPUS": "1"}, 0) == 0
    # GPUs asked for that CUDA cannot see anywhere else: a named error before any compute
    with pytest.raises(gpus.GpuClaimError, match="asks for 2 GPU.s. but CUDA sees 0"):
        gpus.training_gpus(2, {"SLURM_GPUS_ON_NODE": "2", "CUDA_VISIBLE_DEVICES": "0,1"}, 0)
    with pytest.raises(gpus.GpuClaimError, match="CUDA sees 1"):
        gpus.training_gpus(2, {"DED_STAND_IN_GPUS": "1", "CUDA_VISIBLE_DEVICES": "0"}, 1)
