"""Make llamafactory importable beside the CPU torch wheel.

llamafactory 0.9.5's `data/mm_plugin.py` imports torchaudio unconditionally,
but only calls it for audio inputs, which text SFT never has. PyPI's
torchaudio is linked against CUDA and fails to load beside the CPU torch, so
where it cannot be imported an empty stand-in module is registered instead.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

STANDIN_NAME = "torchaudio"

#: Set by `ded.train.run` so a worker can check that the world it joined is the
#: one the gradient accumulation in the YAML was computed for.
EXPECTED_WORLD_SIZE = "DED_EXPECTED_WORLD_SIZE"


def cpu_map_location_for_resume() -> None:
    """Let a multi-process CPU run (gloo) resume from its checkpoint.

    transformers' Trainer loads the optimizer state of a run with several processes with
    `map_location=args.device`, which on CPUs is `torch.device("cpu", 0)`; torch.load cannot restore a
    storage to "cpu:0" ("don't know how to restore data location ... (tagged with cpu:0)"), so every such
    resume fails. In a CPU worker, an indexed CPU device given as map_location becomes plain "cpu", which is
    the same memory. GPU runs are untouched (the workers call this only without CUDA).
    """
    import functools

    import torch

    if getattr(torch.load, "__ded_cpu_map_location__", False):
        return
    original = torch.load

    @functools.wraps(original)
    def load(*args, **kwargs):
        where = kwargs.get("map_location")
        if isinstance(where, torch.device) and where.type == "cpu":
            kwargs["map_location"] = "cpu"
        return original(*args, **kwargs)

    load.__ded_cpu_map_location__ = True
    torch.load = load


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except Exception:  # a CUDA-linked wheel raises OSError/ImportError/RuntimeError on load
        sys.modules.pop(name, None)
        return False
    return True


def ensure_torchaudio() -> bool:
    """Register an empty `torchaudio` when the real one cannot load; True if a stand-in was registered."""
    existing = sys.modules.get(STANDIN_NAME)
    if existing is not None:
        return getattr(existing, "__ded_standin__", False)
    if _importable(STANDIN_NAME):
        return False
    module = types.ModuleType(STANDIN_NAME, "Stand-in: torchaudio cannot load here; audio inputs are unsupported.")
    # transformers and others probe optional packages with importlib.util.find_spec,
    # which raises ValueError on a module whose __spec__ is None.
    module.__spec__ = importlib.machinery.ModuleSpec(STANDIN_NAME, loader=None)
    module.__ded_standin__ = True
    module.__version__ = "0.0.0+ded.standin"

    def _unavailable(*_args, **_kwargs):
        raise RuntimeError("torchaudio is not available in this environment (text-only training)")

    module.load = _unavailable
    functional = types.ModuleType(f"{STANDIN_NAME}.functional")
    functional.__spec__ = importlib.machinery.ModuleSpec(f"{STANDIN_NAME}.functional", loader=None)
    functional.resample = _unavailable
    module.functional = functional
    sys.modules[STANDIN_NAME] = module
    sys.modules[f"{STANDIN_NAME}.functional"] = functional
    return True
