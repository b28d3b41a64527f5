"""Entry point that runs LlamaFactory's CLI: `python -m ded.train.entry train job.yaml`.

llamafactory 0.9.5 imports torchaudio unconditionally (data/mm_plugin.py)
although text-only SFT never uses it, and PyPI's torchaudio is CUDA-linked and
fails to load beside the CPU torch wheel. Where torchaudio cannot be found, an
empty stand-in module is registered before LlamaFactory is imported; on GPU
nodes with a real torchaudio nothing changes. torchrun can start this module
too (`torchrun -m ded.train.entry train job.yaml`).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types


def ensure_torchaudio_importable() -> bool:
    """Register a stand-in `torchaudio` when the real one is absent; True if a stand-in was registered."""
    if "torchaudio" in sys.modules or importlib.util.find_spec("torchaudio") is not None:
        return False
    stub = types.ModuleType("torchaudio")
    stub.__doc__ = "Stand-in registered by ded.train.entry: audio is not supported in this environment."
    # importlib.util.find_spec raises on a module whose __spec__ is None.
    stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
    sys.modules["torchaudio"] = stub
    return True


def main(argv: list[str] | None = None) -> int:
    ensure_torchaudio_importable()
    from llamafactory.cli import main as llamafactory_main

    sys.argv = ["llamafactory-cli", *(sys.argv[1:] if argv is None else argv)]
    llamafactory_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
