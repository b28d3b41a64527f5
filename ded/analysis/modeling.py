"""Loading a scoring model and encoding prompts the way the model saw them."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import DedError

log = logging.getLogger(__name__)


class AnalysisError(DedError, ValueError):
    pass


def pick_device(device: str | None = None) -> str:
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(dtype: str | None, device: str):
    """float32 on CPU (bf16 matmuls are slow there); bfloat16 on accelerators, unless asked otherwise."""
    import torch

    if dtype in (None, "auto"):
        return torch.float32 if device == "cpu" else torch.bfloat16
    try:
        return getattr(torch, dtype)
    except AttributeError:
        raise AnalysisError(f"unknown dtype '{dtype}' (use float32, bfloat16 or float16)") from None


def load_model(model_dir: str | Path, device: str | None = None, dtype: str | None = None):
    """(model, tokenizer, device) from a Hugging Face folder, in eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise AnalysisError(f"model folder '{model_dir}' has no config.json (expected a Hugging Face model folder)")
    device = pick_device(device)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=pick_dtype(dtype, device))
    model.to(device)
    model.eval()
    return model, tok, device


def chat_prompt(tokenizer, prompt: str) -> str:
    """The prompt as the model sees it before its answer: chat template with the generation prompt.

    Tokenizers without a chat template get the bare prompt followed by a newline.
    """
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
        if not isinstance(text, str):  # some tokenizers return a BatchEncoding-like object
            raise AnalysisError("apply_chat_template(tokenize=False) did not return a string")
        return text
    return prompt + "\n"


def encode(tokenizer, text: str) -> list[int]:
    """Token ids of `text` with no special tokens added (the chat template carries its own)."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def pad_id(tokenizer) -> int:
    for tid in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return int(tid)
    return 0


def padded_batch(ids: list[list[int]], pad: int):
    """(input_ids, attention_mask) tensors of token-id lists, right-padded to the longest."""
    import torch

    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, x in enumerate(ids):
        input_ids[i, :len(x)] = torch.tensor(x, dtype=torch.long)
        mask[i, :len(x)] = 1
    return input_ids, mask
