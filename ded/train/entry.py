"""Process entry of a training run: `python -m ded.train.entry train <yaml>`.

One code path for CPU, one GPU and torchrun workers:

- Under torchrun (each worker has LOCAL_RANK/WORLD_SIZE set) the worker calls
  llamafactory's `run_exp` directly, as llamafactory's own launcher does for
  the workers it spawns (`launcher.py`'s `__main__`); calling the CLI there
  would make every worker spawn a torchrun of its own when it sees several
  devices or FORCE_TORCHRUN.
- Otherwise it calls llamafactory's CLI main (single process).

Before either, a stand-in torchaudio is registered where the real one cannot
load (see `ded.train.compat`).
"""

from __future__ import annotations

import os
import sys

from .compat import EXPECTED_WORLD_SIZE, cpu_map_location_for_resume, ensure_torchaudio


def ensure_torchaudio_importable() -> bool:
    """Register the torchaudio stand-in where the real one cannot load (see `ded.train.compat`)."""
    return ensure_torchaudio()


def is_torchrun_worker(environ=os.environ) -> bool:
    return "LOCAL_RANK" in environ and "WORLD_SIZE" in environ


def check_world_size(environ=os.environ) -> None:
    expected = environ.get(EXPECTED_WORLD_SIZE)
    actual = int(environ.get("WORLD_SIZE", "1"))
    if expected is not None and int(expected) != actual:
        raise SystemExit(
            f"ded.train.entry: this run's YAML was planned for {expected} process(es) "
            f"(gradient_accumulation_steps keeps the global batch for that many), but torchrun "
            f"started {actual}; regenerate the YAML for {actual} GPU(s)")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "train" or len(argv) < 2:
        raise SystemExit("usage: python -m ded.train.entry train <config.yaml> [key=value ...]")
    ensure_torchaudio()
    check_world_size()
    if is_torchrun_worker():
        import torch

        if not torch.cuda.is_available():
            cpu_map_location_for_resume()
        # llamafactory reads the YAML from sys.argv[1] once the command is removed.
        sys.argv = [sys.argv[0]] + argv[1:]
        from llamafactory.train.tuner import run_exp

        run_exp()
    else:
        sys.argv = [sys.argv[0]] + argv
        from llamafactory.cli import main as llamafactory_main

        llamafactory_main()


if __name__ == "__main__":
    main()
