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

The report's front page (Snakemake's global `report:` description, read as
static text when the report is built) is written by rule front_page from
the run's records: `front_page` turns the loaded records into its RST.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .settings import resolve_section

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
    how = [spec["backend"]]
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
    where = _dataset(spec)
    if spec.get("start_date") or spec.get("end_date"):
        where += f" with contest dates {spec.get('start_date') or '…'} to {spec.get('end_date') or '…'}"
    return f"{n} problems drawn from {where}" if n else f"all problems of {where}"


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
    per_teacher = config["sampling"]["samples_per_question"]
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


# --------------------------------------------------------------------------
# the front page

#: The config file Snakefile reads when no --configfile is given, as `config_file_labels` names it.
EMBEDDED_DEFAULT = "config/config.yaml"
#: Where rule front_page writes the report's front page (Snakemake's global `report:` description).
FRONT_PAGE = "results/report/front_page.rst"
#: The keys of a benchmark spec the front page names (what defines its problems, and the samples per problem).
_BENCHMARK_KEYS = ("loader", "path", "subset", "split", "n", "seed", "samples")
#: LiveCodeBench's contest-date window: named only when set, so a config without one keeps its setup.
_BENCHMARK_WINDOW = ("start_date", "end_date")


def _judge_setup(judge: Mapping | None) -> dict | None:
    if not judge:
        return None
    from .filter.judge import DEFAULT_DECIDES

    return {"model": judge["model"], "decides": list(judge.get("decides") or DEFAULT_DECIDES)}


def front_page_setup(config: Mapping) -> dict:
    """The settings the front page describes: the rule's `setup` param. Just those, so the page is rewritten
    when one of them changes, and not when a setting it does not name does (worker counts, batch sizes)."""
    def section(name):
        return config.get(name) or {}

    evaluation, analysis = section("evaluation"), section("analysis")
    return {
        "models": {m: {"source": spec.get("source") or {}} for m, spec in section("models").items()},
        "students": {s: {"model": spec["model"]} for s, spec in section("students").items()},
        "teachers": {t: {"model": spec["model"], "backend": spec["backend"],
                         "warm_start": {"style": (spec.get("warm_start") or {}).get("style")}}
                     for t, spec in section("teachers").items()},
        "seeds": dict(section("seeds")),
        "benchmarks": {b: {k: spec[k] for k in _BENCHMARK_KEYS + _BENCHMARK_WINDOW if spec.get(k) or
                           (k in spec and k in _BENCHMARK_KEYS)}
                       for b, spec in section("benchmarks").items()},
        "sampling": {"samples_per_question": section("sampling")["samples_per_question"]},
        "teacher_selection": {"pinned": section("teacher_selection").get("pinned")},
        "decontamination": dict(section("decontamination")),
        "filter": {"max_response_tokens": section("filter").get("max_response_tokens"),
                   "judge": _judge_setup(section("filter").get("judge"))},
        "compression": {"threshold": section("compression").get("threshold")},
        "diversity": {"trajectories_per_question": section("diversity").get("trajectories_per_question")},
        "corpora": {"variants": list(section("corpora").get("variants") or [])},
        "evaluation": {"models": dict(evaluation.get("models") or {}),
                       "out_of_domain": {"enabled": bool((evaluation.get("out_of_domain") or {}).get("enabled"))}},
        "smoke_steps": (section("train").get("smoke") or {}).get("max_steps"),
        "paper_comparison": {"literature": len(analysis.get("literature") or []),
                             "methods": len(analysis.get("methods") or [])},
    }


def filter_stages(summary_rows: Iterable[Mapping]) -> dict[str, int]:
    """Samples left after each check of the quality and correctness filter, from the rows of a filter summary
    (results/filter/<teacher>/<domain>/summary.tsv, values as read from the TSV): {samples, format, length,
    correct}. A sample cut off at the token limit (`truncated`) fails the format check."""
    failed: dict[str, int] = {}
    total = kept = None
    for row in summary_rows:
        if row["verdict"] == "all":
            total, kept = int(row["n"]), int(row["keep"])
        else:
            failed[row["verdict"]] = failed.get(row["verdict"], 0) + int(row["n"])
    if total is None:
        raise ValueError("a filter summary without its 'all' row")
    fmt = total - failed.get("truncated", 0) - failed.get("format", 0)
    return {"samples": total, "format": fmt, "length": fmt - failed.get("length", 0), "correct": kept}


def _n(value) -> str:
    return "—" if value is None else str(value)


def _cell(text) -> str:
    return " ".join(str(text).split()) or "—"


def rst_table(header: list[str], rows: list[list]) -> str:
    """A simple RST table; an empty cell is written as a dash (a blank first cell would continue the row above)."""
    cells = [[_cell(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([rule, line(cells[0]), rule, *(line(r) for r in cells[1:]), rule])


def _section(title: str, *paragraphs: str) -> str:
    return "\n\n".join([f"{title}\n{'-' * len(title)}", *[p for p in paragraphs if p]])


def _listing(items: Iterable[str]) -> str:
    return ", ".join(items)


def _what_ran(setup: Mapping, configfiles: list[str], chosen: Mapping[str, str], pinned: bool) -> str:
    run = describe_run(setup, configfiles, chosen, "pinned by the config" if pinned else "by the smoke test")
    config = run["config"] + (" (the embedded default)" if EMBEDDED_DEFAULT in configfiles else "")
    items = [("Config", config), ("Students", run["students"]), ("Teachers", run["teachers"]),
             ("Seed questions", run["seeds"]), ("Benchmarks (problems × samples each)", run["benchmarks"]),
             ("Chosen teacher", run["chosen"])]
    return _section("What ran", "\n".join(f"- **{k}:** {v}" for k, v in items if v))


def _decontamination(setup: Mapping, decontamination: Mapping[str, Mapping]) -> str:
    domains = list(decontamination)
    benchmarks = list(setup.get("benchmarks", {}))
    spec = setup["decontamination"]
    n = spec["ngram"]
    rule = (f"A seed question is removed when, after normalisation, it shares {spec['min_shared']} or more "
            f"word {n}-grams with a benchmark problem (covering at least {spec['min_coverage']:.0%} of "
            f"the shorter text's), or either is shorter than {n} words and they are equal"
            + (f", or rapidfuzz's ratio reaches {spec['fuzzy_threshold']:g}" if spec.get("fuzzy_threshold") else "")
            + ". Seed questions per domain:")

    def matching(d: Mapping, b: str) -> int:
        return len({m["seed_id"] for m in d["matches"].get(b, [])})

    rows = [["loaded"] + [decontamination[d]["loaded"] for d in domains]]
    rows += [[f"matching {_lit(b)}"] + [matching(decontamination[d], b) for d in domains] for b in benchmarks]
    rows.append(["removed"] + [decontamination[d]["loaded"] - decontamination[d]["kept"] for d in domains])
    rows.append(["kept"] + [decontamination[d]["kept"] for d in domains])
    excluded = {d: decontamination[d].get("excluded", 0) for d in domains}
    notes = ["Every matched pair: ``results/data/decontamination/<domain>.md``."]
    if any(excluded.values()):
        notes.insert(0, "Before that, the seed loaders left out "
                     + _listing(f"{n} {_lit(d)} source row{'' if n == 1 else 's'}" for d, n in excluded.items() if n)
                     + " (why: ``results/data/seeds_excluded/<domain>.jsonl``).")
    return _section("Decontamination", rule, rst_table(["seed questions"] + [_lit(d) for d in domains], rows),
                    " ".join(notes))


def _score(value) -> str:
    return "—" if value is None else f"{float(value):.4f}"


def _gains(gains: Sequence[Mapping]) -> str:
    """The gains of results/scores.tsv (ded.evaluate.tables.gains_frame rows) as a paragraph and a table."""
    if not gains:
        return ""

    def ratio(g):
        r = g["gain/se"]
        if r != r:  # NaN: no spread between the per-problem differences
            return "no spread"
        return f"{r:+.1f}" + (" (beyond noise)" if abs(r) >= 2 else "")

    header = ["model", "benchmark", "problems", "pass@1", "base pass@1", "gain", "SE", "gain / SE"]
    rows = [[_lit(g["model"]), _lit(g["benchmark"]), str(g["problems"]), _score(g["pass@1"]),
             _score(g["base pass@1"]), f"{g['gain']:+.4f}", f"{g['se']:.4f}", ratio(g)] for g in gains]
    return ("Each model's pass@1 gain over its base student on the same problems, with the paired standard "
            "error of that gain (problems as the unit). Two standard errors or more, either way, is beyond "
            "noise at about the 95% level.\n\n" + rst_table(header, rows))


def _margin_sentence(margin: Mapping | None) -> str:
    """Whether the chosen teacher's lead over the runner-up is beyond noise (ded.select.teacher.choice_margin)."""
    if not margin:
        return ""
    runner = _lit(margin["runner_up"])
    if margin.get("se") is None:
        return f" Whether its lead over {runner} is beyond noise cannot be said: {margin.get('why')}."
    diff, se = margin["difference"], margin["se"]
    ratio = f"{diff / se:.1f} standard errors" if se > 0 else "with no spread between problems"
    verdict = ("beyond noise" if margin["beyond_noise"]
               else "within noise: with other samples the other candidate could have been chosen")
    return (f" Its lead over {runner}, {diff:+.4f} ({ratio}; standard error {se:.4f}, paired by problem), "
            f"is {verdict}.")


def _smoke_test(setup: Mapping, selections: Mapping[str, Mapping], tables: Mapping[str, list[Mapping]]) -> str:
    pinned = {s: sel for s, sel in selections.items() if sel.get("pinned")}
    if len(pinned) == len(selections):
        teacher = next(iter(selections.values()))["teacher"] if selections else None
        return _section("Teacher smoke test", f"Not run: ``teacher_selection.pinned`` names {_lit(teacher)}, "
                        "so no candidate was compared.")
    steps = setup.get("smoke_steps")
    intro = ("Each candidate teacher's verified samples (one per seed question) distil a copy of the student"
             + (f" for {steps} optimizer steps" if steps else "")
             + "; each copy is evaluated on the benchmarks, and the teacher whose copy scores best is chosen "
             "(ties go to the alphabetically first).")
    several = len(selections) > 1
    header, rows, why = [], [], []
    for student, sel in selections.items():
        if sel.get("pinned"):
            why.append(f"{_lit(student)}: {_lit(sel['teacher'])}, pinned by the config.")
            continue
        metrics = sel.get("metrics") or []
        names = [f"{m['benchmark']} {m['metric']}" for m in metrics]
        weighted = sel.get("rule") == "weighted"
        if not header:
            header = (["student"] if several else []) + ["teacher"] + names + [
                "score (weighted mean)" if weighted else "score (mean)"]
        by_teacher = {r["teacher"]: r for r in tables.get(student, [])}
        ranked = sorted(sel["scores"].items(), key=lambda kv: (-kv[1], kv[0]))
        for teacher, score in ranked:
            row = by_teacher.get(teacher, {})
            label = _lit(teacher) + (" (chosen)" if teacher == sel["teacher"] else "")
            rows.append(([_lit(student)] if several else []) + [label]
                        + [_score(row.get(f"{m['benchmark']}/{m['metric']}")) for m in metrics] + [_score(score)])
        best = sel["scores"][sel["teacher"]]
        others = [(t, s) for t, s in ranked if t != sel["teacher"]]
        tied = [t for t, s in others if abs(s - best) <= 1e-9]
        what = ("weighted mean" if weighted else "mean") + " of " + _listing(names)
        if tied:
            reason = (f"{_lit(sel['teacher'])} ties with {_listing(_lit(t) for t in tied)} on the {what} "
                      f"({_score(best)}) and comes first alphabetically")
        else:
            reason = (f"{_lit(sel['teacher'])} has the highest {what}: {_score(best)}"
                      + (f", against {_listing(f'{_score(s)} for {_lit(t)}' for t, s in others)}" if others else ""))
        why.append((f"For {_lit(student)}, " if several else "") + reason + "." + _margin_sentence(sel.get("margin")))
    why.append("Per-student scores: ``results/selection/<student>/scores.tsv``; the decision: "
               "``results/selection/<student>/teacher.json``.")
    return _section("Teacher smoke test", intro, rst_table(header, rows) if rows else "", " ".join(why))


def _filter(setup: Mapping, chosen: Mapping[str, str], domains: list[str], stages: Mapping[tuple[str, str], Mapping],
            corpus_stats: Mapping[tuple[str, str, str], Mapping], seeds_kept: Mapping[str, int]) -> str:
    from .select.corpora import DED_VARIANT, corpus_name

    per_question = setup["sampling"]["samples_per_question"]
    limit = (setup.get("filter") or {}).get("max_response_tokens")
    threshold = (setup.get("compression") or {}).get("threshold")
    per_question_p = (setup.get("diversity") or {}).get("trajectories_per_question")
    variants = (setup.get("corpora") or {}).get("variants") or []
    judge = (setup.get("filter") or {}).get("judge")
    judged = (f" by rules, then by the LLM judge ``{judge['model']}`` on the answers routed to it "
              f"(``filter.judge.decides``: {', '.join(judge['decides'])})" if judge else "")
    intro = ("How many of the chosen teacher's samples (or questions) each stage of the pipeline kept, per domain. "
             "Format: one <think> pair and an answer, not cut off; length: at most "
             f"{_n(limit)} tokens of the student's tokenizer; correctness: the answer verified{judged}; compression: "
             f"questions the student solves at most {_n(threshold)} of the time; diversity: the DED corpus "
             f"(``{DED_VARIANT}``), at most {_n(per_question_p)} most diverse correct samples per question.")
    parts = [intro]
    several = len(chosen) > 1
    for student, teacher in chosen.items():
        def stats(domain, key):
            for variant in ([DED_VARIANT] + [v for v in variants if v != DED_VARIANT]):
                found = corpus_stats.get((student, teacher, corpus_name(variant, domain) if variant != "mixed"
                                          else variant))
                if found and key in (found.get("dropped_questions") or {}):
                    return found
            return None

        rows = [["seed questions", "questions"] + [seeds_kept.get(d) for d in domains],
                [f"written by {_lit(teacher)}", "samples"] + [stages[(teacher, d)]["samples"] for d in domains]]
        for key, label in (("format", "format"), ("length", "length"), ("correct", "correctness")):
            rows.append([label, "samples"] + [stages[(teacher, d)][key] for d in domains])
        compression, diversity = [], []
        for d in domains:
            comp = stats(d, "compressed")
            compression.append(None if comp is None else seeds_kept[d] - comp["dropped_questions"]["compressed"])
            ded = corpus_stats.get((student, teacher, corpus_name(DED_VARIANT, d)))
            diversity.append(None if ded is None else f"{ded['rows']} ({ded['questions']})")
        rows.append([f"compression ({_lit(student)})", "questions"] + compression)
        rows.append(["diversity", "samples (questions)"] + diversity)
        if several:
            parts.append(f"**{_lit(student)} ← {_lit(teacher)}**")
        parts.append(rst_table(["stage", "unit"] + [_lit(d) for d in domains], rows))
    notes = []
    if DED_VARIANT not in variants:
        notes.append(f"``corpora.variants`` has no ``{DED_VARIANT}``, so the DED corpus was not built.")
    chosen_set = set(chosen.values())
    others = [t for t in setup.get("teachers", {}) if t not in chosen_set]
    if others:
        notes.append("The other candidates through the same filter (samples written → correct): "
                     + "; ".join(f"{_lit(t)}: " + _listing(f"{d} {stages[(t, d)]['samples']} → "
                                                           f"{stages[(t, d)]['correct']}" for d in domains)
                                 for t in others) + ".")
    notes.append(f"Each teacher writes {per_question} samples per seed question; every rejected sample's reason: "
                 "``results/filter/<teacher>/<domain>/summary.tsv``. The size of every training corpus: "
                 "``results/corpus_stats.tsv``.")
    parts.append(" ".join(notes))
    return _section("Filter stages", *parts)


def _not_run(setup: Mapping, pinned: bool) -> list[str]:
    from .select.corpora import VARIANTS

    out = []
    comparison = setup.get("paper_comparison") or {}
    if not comparison.get("literature") and not comparison.get("methods"):
        out.append("Comparison with the paper's numbers: not available with this config. ``analysis.literature`` "
                   "and ``analysis.methods`` are empty (the reported scores belong to the paper's benchmarks; "
                   "``config/paper.yaml`` has them), so Figure 1 has no literature points and Table 2 no "
                   "reported rows.")
    elif not comparison.get("methods"):
        out.append("Reported scores of other methods (Table 2): none, ``analysis.methods`` is empty.")
    elif not comparison.get("literature"):
        out.append("Literature points of Figure 1: none, ``analysis.literature`` is empty.")
    if pinned:
        out.append("Teacher smoke test: skipped, ``teacher_selection.pinned`` names the teacher.")
    variants = (setup.get("corpora") or {}).get("variants") or []
    missing = [v for v in VARIANTS if v not in variants]
    if missing:
        out.append("Corpus variants not built (their rows of the paper's tables stay empty): "
                   + _listing(f"{_lit(v)} ({VARIANTS[v].paper})" for v in missing) + ".")
    evaluation = setup.get("evaluation") or {}
    models = resolve_section(evaluation.get("models"), "evaluation.models", check=False)  # the schema's defaults
    names = {"base": "base students", "teachers": "teachers",
             "smoke": "smoke-test students (beyond the benchmarks the teacher choice reads)",
             "trained": "trained students"}
    skipped = [k for k in names if not models[k]]
    if skipped:
        out.append("Not evaluated on the benchmarks (``evaluation.models``): "
                   + _listing(names[k] for k in skipped) + ".")
    if not (evaluation.get("out_of_domain") or {}).get("enabled"):
        out.append("Out-of-domain suites (Table 6): not run, ``evaluation.out_of_domain.enabled`` is false.")
    return out


#: Styles for the page in Snakemake's HTML report (9.x). Its content pane centres what it shows vertically,
#: so a description taller than the window would lose its top (title, what ran), out of reach of the scroll
#: bar; and docutils writes the page's title and its sections' titles as h1 alike, so the sections' are made
#: smaller. The description sits in a 32rem column beside the rule graph, hence tables of few, short columns.
PAGE_STYLE = """.. raw:: html

   <style>
   .h-screen.items-center.justify-center { align-items: flex-start; }
   .prose .document .section > h1 { font-size: 1.5em; margin-top: 1.5em; }
   </style>"""


def _source_row(source: Mapping) -> list[str]:
    """(kind, what, revision) of a model or dataset a job read (ded.provenance.note_source)."""
    if source.get("hub"):
        what = source["hub"] + "".join(f" {k}={source[k]}" for k in ("subset", "split") if source.get(k))
        asked = source.get("revision") or "main"
        resolved = source.get("resolved_revision")
        revision = f"{asked} → {resolved[:12]}" if resolved else f"{asked} (not resolved: hub not reached)"
    elif source.get("package"):
        what = f"{source['package']} {source.get('package_version') or '?'}"
        revision = (source.get("sha256") or "—")[:19]
    else:
        what = source.get("path") or "—"
        revision = (source.get("sha256") or "a local folder")[:19]
    return [source.get("kind", "—"), what, revision]


def _provenance(provenance: Mapping | None) -> str:
    if not provenance:
        return ""
    workflow = provenance.get("workflow") or {}
    if workflow.get("commit"):
        commit = f"``{workflow['commit'][:12]}``" + (
            " with uncommitted changes to tracked files" if workflow.get("dirty") else ", a clean tree")
    else:
        commit = "not known (not run from a git checkout)"
    packages = ", ".join(f"{name} {v}" for name, v in (provenance.get("packages") or {}).items())
    sources = {json.dumps(s, sort_keys=True): s for s in provenance.get("sources") or []}
    table = rst_table(["Kind", "Model or dataset", "Revision"], [_source_row(s) for s in sources.values()]) \
        if sources else ""
    return _section(
        "Provenance",
        f"- **Workflow commit:** {commit}\n- **Python:** {provenance.get('python', '—')}\n"
        f"- **Packages:** {packages or '—'}",
        table,
        "Every job records its own beside its log (``logs/<rule>/….provenance.json``): the commit, its "
        "environment's package versions, a hash of the config values it read, and the exact revision or content "
        "hash of each model and dataset it read.")


def _jinja_safe(text: str) -> str:
    """`snakemake --report` renders the front page with Jinja2 before docutils reads it; text that Jinja2
    would read as a tag (a name with ``{{`` in it) is kept as it is."""
    if any(tag in text for tag in ("{{", "{%", "{#")):
        return "{% raw %}" + text.replace("{% endraw %}", "{ % endraw % }") + "{% endraw %}\n"
    return text


def front_page(setup: Mapping, configfiles: list[str], *, selections: Mapping[str, Mapping],
               selection_tables: Mapping[str, list[Mapping]],
               filter_summaries: Mapping[tuple[str, str], list[Mapping]],
               corpus_stats: Mapping[tuple[str, str, str], Mapping],
               decontamination: Mapping[str, Mapping], provenance: Mapping | None = None,
               gains: Sequence[Mapping] = ()) -> str:
    """The report's front page (RST): what ran, the decontamination, the smoke test's choice, the filter
    stages, where the scores are, what did not run, and where it all came from.

    setup: `front_page_setup(config)`. configfiles: `config_file_labels(...)` (empty for the embedded
    default). selections: student -> results/selection/<student>/teacher.json. selection_tables: student ->
    rows of results/selection/<student>/scores.tsv (teacher, score, one column per metric). filter_summaries:
    (teacher, domain) -> rows of its summary.tsv. corpus_stats: (student, teacher, corpus) -> the corpus's
    stats.json. decontamination: domain -> {loaded, kept, excluded, matches: {benchmark: [contamination]}}.
    provenance: {workflow, python, packages, sources} (ded.provenance; sources from the data jobs' records).
    gains: rows of ded.evaluate.tables.gains_frame over results/scores.tsv.
    """
    domains = list(setup.get("seeds") or decontamination)
    chosen = {s: sel["teacher"] for s, sel in selections.items()}
    pinned = bool((setup.get("teacher_selection") or {}).get("pinned"))
    stages = {key: filter_stages(rows) for key, rows in filter_summaries.items()}
    seeds_kept = {d: decontamination[d]["kept"] for d in decontamination}
    title = "DED: data-efficient distillation of reasoning"
    intro = ("A reproduction of arXiv 2508.09883 as a Snakemake workflow: seed questions → teacher samples → "
             "quality and correctness filter → teacher smoke test → question compression → diversity → training → "
             "evaluation. This page is written by rule ``front_page`` from the run's own records "
             f"(``{FRONT_PAGE}``); the results are in the menu on the left.")
    scores = _section(
        "Scores, tables and figures",
        "Every evaluated model (base students, smoke-test students, trained students) on every benchmark: "
        "Scores_ (``results/scores.tsv``, one row per model, benchmark and metric; ``results/scores_summary.csv`` "
        "and ``results/scores.md``, one row per model). The paper's Tables 1-7 and Figures 1, 3 and 4 are under "
        "their own entries in the menu; each caption ends with what ran.", _gains(gains))
    not_run = _not_run(setup, pinned)
    parts = [f"{'=' * len(title)}\n{title}\n{'=' * len(title)}", intro,
             _what_ran(setup, configfiles, chosen, pinned),
             _decontamination(setup, decontamination),
             _smoke_test(setup, selections, selection_tables),
             _filter(setup, chosen, domains, stages, corpus_stats, seeds_kept),
             scores,
             _section("Not run", "\n".join(f"- {line}" for line in not_run) if not_run
                      else "Every stage and comparison of the paper ran."),
             _provenance(provenance),
             PAGE_STYLE]
    return _jinja_safe("\n\n".join(parts) + "\n")
