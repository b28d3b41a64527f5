"""Checks on the config that a JSON schema cannot express (cross-references)."""

from __future__ import annotations

from .errors import DedError


class ConfigError(DedError, ValueError):
    pass


def check_references(config: dict) -> None:
    """Every name a section uses must exist where it points; fail naming the key path."""
    models = config.get("models", {})
    for section in ("students", "teachers"):
        for name, spec in config.get(section, {}).items():
            if spec.get("model") not in models:
                raise ConfigError(
                    f"config: {section}.{name}.model = {spec.get('model')!r} is not a key of `models` "
                    f"(known: {', '.join(sorted(models)) or 'none'})")
    pinned = (config.get("teacher_selection") or {}).get("pinned")
    if pinned is not None and pinned not in config.get("teachers", {}):
        raise ConfigError(
            f"config: teacher_selection.pinned = {pinned!r} is not a key of `teachers` "
            f"(known: {', '.join(sorted(config.get('teachers', {}))) or 'none'})")
    check_no_parallel_size(config)


def check_no_parallel_size(config: dict) -> None:
    """No tensor-parallel size in the config: each job's comes from its `gpu` resource (profiles/slurm),
    so the engine always spans exactly the GPUs the scheduler granted."""
    evaluation = config.get("evaluation") or {}
    places = {"evaluation.backend_options": evaluation.get("backend_options"),
              "evaluation.out_of_domain.model_args": (evaluation.get("out_of_domain") or {}).get("model_args")}
    for name, spec in (config.get("teachers") or {}).items():
        places[f"teachers.{name}.engine_args"] = spec.get("engine_args")
    for where, options in places.items():
        if options and "tensor_parallel_size" in options:
            raise ConfigError(
                f"config: {where}.tensor_parallel_size is set, but the tensor-parallel size is the job's GPU "
                f"count (the `gpu` resource; profiles/slurm sets it per rule): remove the key and set the "
                f"rule's gpu instead, e.g. --set-resources 'generate_eval:gpu=4'")
