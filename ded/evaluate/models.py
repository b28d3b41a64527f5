"""What is evaluated, and how it is sampled.

An evaluated model is named by a path fragment (docs/layout.md):
`base/<student>`, `teacher/<teacher>`, `smoke/<student>/<teacher>`,
`trained/<student>/<teacher>/<corpus>`. The fragment is the `model` column
of every score row, so results of the same student trained on different
corpora never collide.
"""

from __future__ import annotations

from typing import Iterable

from .metrics import base_model_of  # noqa: F401  (part of this module's API)

#: kind -> number of names after it
FRAGMENT_KINDS = {"base": 1, "teacher": 1, "smoke": 2, "trained": 3}

#: Regex for the `{model}` wildcard of the evaluation rules.
MODEL_WILDCARD = r"(base|teacher)/[^/]+|smoke/[^/]+/[^/]+|trained/[^/]+/[^/]+/[^/]+"

#: A benchmark's sampling settings (`benchmarks.<name>`; defaults in config/schema.yaml).
SAMPLING_KEYS = ("samples", "temperature", "top_p", "max_tokens", "pass_k")


def parse_model_fragment(model: str) -> tuple[str, list[str]]:
    kind, *parts = model.split("/")
    if kind not in FRAGMENT_KINDS or len(parts) != FRAGMENT_KINDS[kind] or not all(parts):
        raise ValueError(
            f"evaluated model '{model}' is not one of base/<student>, teacher/<teacher>, "
            "smoke/<student>/<teacher>, trained/<student>/<teacher>/<corpus>")
    return kind, parts


def sampling_settings(benchmark: str, config: dict) -> dict:
    """The benchmark's sampling settings (`benchmarks.<name>`), schema defaults filled in."""
    try:
        spec = config["benchmarks"][benchmark]
    except KeyError:
        raise KeyError(f"config: benchmarks.{benchmark} is not defined") from None
    from ..settings import schema_default

    return {key: spec[key] if key in spec else schema_default(f"benchmarks.*.{key}") for key in SAMPLING_KEYS}


def eval_generation_spec(model: str, benchmark: str, config: dict, model_dir: str | None = None) -> dict:
    """The `teacher_spec` that `ded.sample.sample_problems` receives for an evaluation run.

    A teacher keeps its own config entry (backend, endpoint, prompt settings);
    a student, smoke-test or trained model is the student's base model entry
    with the evaluation backend. The benchmark's sampling settings and the
    evaluation seed override whatever the entry says, so every model on a
    benchmark is sampled alike.
    """
    kind, parts = parse_model_fragment(model)
    evaluation = config["evaluation"]
    if kind == "teacher":
        spec = dict(config["teachers"][parts[0]])
    else:
        spec = {"model": config["students"][parts[0]]["model"], "backend": evaluation["backend"]}
    spec.pop("warm_start", None)  # the warm start is already in model_dir
    spec["template"] = config["models"][spec["model"]]["template"]
    sampling = sampling_settings(benchmark, config)
    spec.update(temperature=sampling["temperature"], top_p=sampling["top_p"], max_tokens=sampling["max_tokens"],
                seed=evaluation["seed"])
    if model_dir:
        spec["model_dir"] = str(model_dir)
    return spec


def evaluated_models(config: dict, smoke: Iterable[tuple[str, str]] = (),
                     trained: Iterable[tuple[str, str, str]] = ()) -> list[str]:
    """Model fragments to evaluate under `evaluation.models`.

    `smoke` ((student, teacher) pairs) and `trained` ((student, teacher,
    corpus) triples) come from the stages that make those models.
    """
    which = config["evaluation"]["models"]
    out = []
    if which["base"]:
        out += [f"base/{s}" for s in config["students"]]
    if which["teachers"]:
        out += [f"teacher/{t}" for t in config["teachers"]]
    if which["smoke"]:
        out += [f"smoke/{s}/{t}" for s, t in smoke]
    if which["trained"]:
        out += [f"trained/{s}/{t}/{c}" for s, t, c in trained]
    return out


def ood_model_dir(model: str, config: dict, model_dir) -> str:
    """Input of the out-of-domain rule: the model folder, or a clear error why there is none."""
    if not config["evaluation"]["out_of_domain"]["enabled"]:
        raise ValueError(f"out-of-domain evaluation of '{model}' asked for, but "
                         "config evaluation.out_of_domain.enabled is false")
    if not model_dir:
        raise ValueError(f"out-of-domain evaluation of '{model}': lm-eval needs a local model folder, and "
                         "this model is reached only through an API (models.<name>.materialize: false)")
    return model_dir
