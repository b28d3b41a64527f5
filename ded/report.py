"""What a run ran, in words, for the captions of the Snakemake report (report/*.rst).

A caption is RST rendered by Jinja2 against the job's `snakemake` object:
its input, output, params, wildcards, threads, resources, log, rule and the
config, but not the config files a run was started with nor which teacher
the smoke test chose. Rules with report outputs therefore pass
`describe_run(...)` as the param `run`, and every caption ends with the same
paragraph built from it (see `RUN_PARAGRAPH`).

Every phrase comes from the config, the config file names and the teacher
selection alone, so the param only changes when the setup does: Snakemake
reruns a job whose params change. Names are RST literals (``name``), so an
underscore or asterisk in a name is never read as markup.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

#: The paragraph each caption ends with (the test of the captions checks that each has it).
RUN_PARAGRAPH = "**What ran.**"


def config_file_labels(paths: Iterable[str | os.PathLike], basedir: str | os.PathLike,
                       overrides: Mapping | None = None) -> list[str]:
    """How the config files of a run are named in the report: relative to the workflow folder when inside it.

    Snakemake makes the paths of --configfile absolute; one inside the
    workflow folder is shown relative to it (config/paper.yaml), so the label
    does not depend on where the workflow was checked out. `overrides`
    (--config key=value) are named by their top-level keys.
    """
    base = Path(basedir).resolve()
    out = []
    for p in paths:
        path = Path(p)
        try:
            out.append(path.resolve().relative_to(base).as_posix() if path.is_absolute() else path.as_posix())
        except ValueError:
            out.append(path.as_posix())
    if overrides:
        out.append("--config " + ", ".join(sorted(str(k) for k in overrides)))
    return out


def _lit(name) -> str:
    return f"``{name}``"


def model_source(config: Mapping, model: str) -> str:
    """Where a `models` entry comes from: its hub id, local folder or GGUF package."""
    source = (config.get("models", {}).get(model) or {}).get("source") or {}
    if source.get("hub"):
        rev = source.get("revision")
        return _lit(source["hub"] + (f"@{rev}" if rev else ""))
    if source.get("path"):
        return _lit(source["path"])
    if source.get("gguf_package"):
        return f"the GGUF of package {_lit(source['gguf_package'])}"
    return "unknown source"


def _model(config: Mapping, name: str, model: str) -> str:
    """A model's source, after its `models` key where that differs from the student's or teacher's name."""
    return (f"{_lit(model)}, " if model != name else "") + model_source(config, model)


def _student(config: Mapping, name: str) -> str:
    return f"{_lit(name)} ({_model(config, name, config['students'][name]['model'])})"


def _teacher(config: Mapping, name: str) -> str:
    spec = config["teachers"][name]
    model = spec["model"]
    how = [spec.get("backend", "hf")]
    if (spec.get("warm_start") or {}).get("style"):
        how.insert(0, f"warm-started on {spec['warm_start']['style']} traces")
    return f"{_lit(name)} ({_model(config, name, model)}; {', '.join(how)})"


def _dataset(spec: Mapping) -> str:
    where = _lit(spec.get("path", "?"))
    if spec.get("subset"):
        where += f" {_lit(spec['subset'])}"
    return f"{where} ({spec.get('split', 'train')})"


def _seed_questions(spec: Mapping) -> str:
    if spec.get("source") == "procedural":
        return f"{spec.get('n')} generated (seed {spec.get('seed', 0)})"
    n = spec.get("n")
    return f"{n} drawn from {_dataset(spec)}" if n else f"all of {_dataset(spec)}"


def _benchmark_problems(spec: Mapping) -> str:
    if str(spec.get("loader", "")).startswith("procedural"):
        return f"{spec.get('n')} generated problems (seed {spec.get('seed', 0)})"
    n = spec.get("n")
    return f"{n} problems drawn from {_dataset(spec)}" if n else f"all problems of {_dataset(spec)}"


def _samples(n) -> str:
    return f"{n} sample{'' if n == 1 else 's'}"


def describe_run(config: Mapping, configfiles: Iterable[str], chosen: Mapping[str, object] | None = None,
                 chosen_by: str | None = None, only: Mapping[str, str] | None = None) -> dict[str, str]:
    """The `run` param of a rule with report outputs: one RST phrase per part of the setup.

    `chosen`: student -> chosen teacher (or teachers) where known; None or
    empty leaves `chosen` empty, and the caption says nothing about it.
    `chosen_by` says where the choice comes from; by default the config's
    pinned teacher or the smoke test. `only` ({"student": s, "teacher": t})
    names just that pair, for a job about one run: its param (and so the
    job) then stays the same when another teacher or student is added.
    """
    if only:
        config = dict(config, students={only["student"]: config["students"][only["student"]]},
                      teachers={only["teacher"]: config["teachers"][only["teacher"]]})
    files = list(configfiles)
    pinned = (config.get("teacher_selection") or {}).get("pinned")
    per_teacher = (config.get("sampling") or {}).get("samples_per_question", 4)
    chosen_text = ""
    if chosen:
        parts = []
        for student, teacher in chosen.items():
            teachers = [teacher] if isinstance(teacher, str) else list(teacher)
            parts.append(f"{_lit(student)} ← {', '.join(_lit(t) for t in teachers)}")
        chosen_by = chosen_by or ("pinned by the config" if pinned else "by the smoke test")
        chosen_text = "; ".join(parts) + f" ({chosen_by})"
    return {
        "config": ", ".join(_lit(f) for f in files) if files else "the embedded default",
        "students": ", ".join(_student(config, s) for s in config.get("students", {})),
        "teachers": ", ".join(_teacher(config, t) for t in config.get("teachers", {})),
        "chosen": chosen_text,
        "seeds": "; ".join(f"{_lit(d)}: {_seed_questions(s)}" for d, s in config.get("seeds", {}).items())
                 + f"; each teacher writes {_samples(per_teacher)} per question left after decontamination",
        "benchmarks": "; ".join(f"{_lit(b)}: {_benchmark_problems(s)} × {_samples(s.get('samples', 1))} each"
                                for b, s in config.get("benchmarks", {}).items())
                      + ("; the ``n`` column of results/scores.tsv counts the problems scored"
                         if any(not s.get("n") for s in config.get("benchmarks", {}).values()) else ""),
    }
