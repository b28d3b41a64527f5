"""`make_generate`: a plain generate(prompts) -> texts over a configured model (the filter's LLM judge)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .. import think
from .base import Request, SamplingParams
from .prompts import teacher_settings


def generation_spec(model_name: str, config: dict) -> dict:
    """How to reach a `models` entry: the first teacher entry on it (its backend, endpoint, template
    settings), else the evaluation backend."""
    for spec in config["teachers"].values():
        if spec["model"] == model_name:
            return {k: v for k, v in spec.items() if k != "warm_start"}
    return {"model": model_name, "backend": config["evaluation"]["backend"]}


def make_generate(model_name: str, config: dict, *, max_new_tokens: int = 1024, model_dir: str | None = None,
                  batch_size: int = 8, backend_options: dict | None = None,
                  spec: dict | None = None) -> Callable[[list[str]], list[str]]:
    """Greedy generate(prompts) -> texts; each prompt is one user message. The backend starts on first use.

    spec: how to reach the model (teacher keys: backend, api_base, ...); None uses `generation_spec`.
    Texts come back normalised ('<think>reasoning</think>answer' when the model
    or API reasons), so a caller can read what follows </think>.
    """
    from .runner import make_backend

    settings = teacher_settings(spec if spec is not None else generation_spec(model_name, config),
                                where=f"models.{model_name}")
    if model_dir is None and settings["backend"] in ("hf", "vllm") and config["models"][model_name].get(
            "materialize", True):
        model_dir = str(Path("resources/models") / model_name)
    state: dict = {}

    def generate(prompts: list[str]) -> list[str]:
        if "backend" not in state:
            state["backend"] = make_backend(settings, model_path=model_dir, model_name=model_name,
                                            batch_size=batch_size, backend_options=backend_options)
        params = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=max_new_tokens, seed=0)
        system = [{"role": "system", "content": settings["system_prompt"]}] if settings["system_prompt"] else []
        requests = [Request(tuple(system + [{"role": "user", "content": p}]), params) for p in prompts]
        return [think.normalise(c[0].raw_text, c[0].reasoning_content, c[0].prefilled_think)
                for c in state["backend"].generate(requests)]

    return generate
