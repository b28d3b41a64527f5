"""Distillation corpora: the DED corpus and the variants the paper compares.

Every variant is built from the chosen teacher's samples and verdicts, the
seed problems and, from `right_hard` on, the student's pass rates. Per
domain (Tables 3 and 4: each stage of the pipeline on its own):

- ``full``: no filtering; one sample per question, sample_id 0 (the lowest
  sample id present when 0 is missing).
- ``right``: verified only; one kept sample per question (the lowest kept
  sample id, the same one the smoke corpus uses).
- ``right_hard``: ``right`` on the questions that survive compression.
- ``right_hard_diverse``: the compressed questions with the P most diverse
  kept samples each (`ded.select.diversity`): the DED corpus.

Length ablation (Table 7), on the DED corpus's questions with P samples
each, so that only the selection criterion differs from the DED corpus:

- ``longest`` / ``shortest``: the P longest / shortest kept samples, by
  completion tokens (``length_by: tokens``; a question where a kept sample
  lacks a token count falls back to characters for all its samples) or by
  characters (``length_by: chars``); ties go to the smaller sample id.

Domain mix (Table 5), across domains:

- ``mixed``: half of each domain's DED corpus, by question: from each
  domain, ceil(n/2) of its n questions drawn with a seeded RNG (seed
  ``corpora.seed`` and the domain name), with all their rows, so the mixed
  corpus is about as large as one domain's and both domains count equally.

Corpus names: ``{domain}-{variant}`` for per-domain variants (e.g.
``math-right_hard_diverse``), the variant name alone for ``mixed``.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Iterable, Mapping, Sequence

from ..settings import schema_default
from .common import SelectionError, kept_ids_by_question
from .compression import compress
from .diversity import select_diverse_many
from .teacher import corpus_row

LENGTH_BY = ("tokens", "chars")


@dataclass(frozen=True)
class Variant:
    name: str
    per_domain: bool
    needs: tuple[str, ...]  # inputs build_corpus reads
    paper: str
    doc: str


_TEACHER_FILES = ("samples", "verdicts", "problems")
#: Every corpus variant, in build order (mixed needs the DED corpora).
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("full", True, _TEACHER_FILES, "Tables 3-4", "unfiltered: sample 0 of every question"),
    Variant("right", True, _TEACHER_FILES, "Tables 3-4", "verified: one kept sample per question"),
    Variant("right_hard", True, _TEACHER_FILES + ("pass_rates",), "Tables 3-4", "verified, compressed questions"),
    Variant("right_hard_diverse", True, _TEACHER_FILES + ("pass_rates",), "Tables 1-4",
            "the DED corpus: compressed questions, P most diverse kept samples"),
    Variant("longest", True, _TEACHER_FILES + ("pass_rates",), "Table 7", "P longest kept samples"),
    Variant("shortest", True, _TEACHER_FILES + ("pass_rates",), "Table 7", "P shortest kept samples"),
    Variant("mixed", False, ("ded_corpora",), "Table 5", "half of each domain's DED corpus, by question"),
)}
DED_VARIANT = "right_hard_diverse"


def corpus_name(variant: str, domain: str | None = None) -> str:
    spec = _variant(variant)
    if spec.per_domain:
        if not domain:
            raise SelectionError(f"corpus variant {variant!r} is built per domain: give a domain")
        return f"{domain}-{variant}"
    return variant


def parse_corpus_name(name: str) -> tuple[str, str | None]:
    """(variant, domain or None) of a corpus name."""
    if name in VARIANTS and not VARIANTS[name].per_domain:
        return name, None
    domain, sep, variant = name.partition("-")
    if sep and variant in VARIANTS and VARIANTS[variant].per_domain and domain:
        return variant, domain
    raise SelectionError(f"{name!r} is not a corpus name: expected '<domain>-<variant>' with a per-domain variant "
                         f"or one of {[v for v, s in VARIANTS.items() if not s.per_domain]}")


def corpus_names(domains: Sequence[str], variants: Sequence[str] | None = None) -> list[str]:
    """Every corpus to build: one per (domain, per-domain variant), one per cross-domain variant.

    `mixed` is named only when at least two domains exist.
    """
    out = []
    for v in (variants if variants is not None else list(VARIANTS)):
        spec = _variant(v)
        if spec.per_domain:
            out += [corpus_name(v, d) for d in domains]
        elif len(domains) >= 2:
            out.append(v)
    return out


def _variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise SelectionError(f"unknown corpus variant {name!r} (known: {', '.join(VARIANTS)})")
    return VARIANTS[name]


@dataclass(frozen=True)
class CorpusSettings:
    """The config values corpus building uses (sections compression, diversity, corpora).

    A field the caller leaves out takes the schema's default (config/schema.yaml): the workflow hands each
    variant only the values it uses (ded/jobs.py, corpus_settings), and a corpus's stats record all.
    """

    threshold: float = schema_default("compression.threshold")
    per_question: int = schema_default("diversity.trajectories_per_question")  # P
    unit: str = schema_default("diversity.unit")
    exact_limit: int = schema_default("diversity.exact_limit")
    tokenizer: str | None = schema_default("diversity.tokenizer")
    length_by: str = schema_default("corpora.length_by")
    seed: int = schema_default("corpora.seed")
    workers: int | None = None  # processes for diversity (the rule's threads)

    @classmethod
    def from_config(cls, config: Mapping, workers: int | None = None) -> "CorpusSettings":
        """From a resolved config (ded.settings.resolve_config)."""
        comp, div, corp = config["compression"], config["diversity"], config["corpora"]
        return cls(threshold=comp["threshold"], per_question=div["trajectories_per_question"], unit=div["unit"], exact_limit=div["exact_limit"],
                   tokenizer=div["tokenizer"], length_by=corp["length_by"], seed=corp["seed"], workers=workers)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "workers"}


# --------------------------------------------------------------------------
# indexes


class _Pool:
    """The teacher's samples of one domain, indexed, with the kept ids per question."""

    def __init__(self, samples: Iterable[dict], verdicts: Iterable[dict], problems: Sequence[dict]):
        self.problems = list(problems)
        self.problem = {p["id"]: p for p in self.problems}
        self.samples: dict[str, dict[int, dict]] = defaultdict(dict)
        for s in samples:
            q, sid = s["question_id"], s["sample_id"]
            if q not in self.problem:
                raise SelectionError(f"sample {sid} of question {q!r} has no seed problem "
                                     "(samples and seeds out of sync)")
            if sid in self.samples[q]:
                raise SelectionError(f"two samples with question {q!r} sample_id {sid}")
            self.samples[q][sid] = s
        self.kept: dict[str, list[int]] = {}
        for q, ids in kept_ids_by_question(verdicts).items():
            missing = [sid for sid in ids if sid not in self.samples.get(q, {})]
            if missing:
                raise SelectionError(f"verdicts keep question {q!r} sample(s) {missing} that are not in the samples")
            self.kept[q] = ids

    def row(self, q: str, sid: int, teacher: str, domain: str) -> dict:
        return corpus_row(self.samples[q][sid], self.problem[q], teacher, domain)

    def question_ids(self) -> list[str]:
        return [p["id"] for p in self.problems]


def _length(sample: dict, by: str) -> int:
    return sample["completion_tokens"] if by == "tokens" else len(sample["text"])


def _by_length(pool: _Pool, q: str, p: int, longest: bool, length_by: str) -> list[int]:
    ids = pool.kept[q]
    samples = [pool.samples[q][sid] for sid in ids]
    by = length_by if length_by == "chars" or all(isinstance(s.get("completion_tokens"), int) for s in samples) \
        else "chars"
    sign = -1 if longest else 1
    ranked = sorted(ids, key=lambda sid: (sign * _length(pool.samples[q][sid], by), sid))
    return sorted(ranked[:p])


# --------------------------------------------------------------------------
# building


def build_corpus(variant: str, *, teacher: str, domain: str | None = None, samples: Iterable[dict] = (),
                 verdicts: Iterable[dict] = (), problems: Sequence[dict] = (), pass_rates: Iterable[dict] | None = None,
                 ded_corpora: Mapping[str, Sequence[dict]] | None = None,
                 settings: CorpusSettings = CorpusSettings()) -> tuple[list[dict], dict]:
    """(CORPUS_ROW records, stats) of one corpus variant.

    Per-domain variants read `samples`, `verdicts` and `problems` of
    `domain` (and `pass_rates` from right_hard on); `mixed` reads
    `ded_corpora` ({domain: rows of its DED corpus}). Stats: the corpus's
    size (rows, questions, characters, completion tokens when known) and
    why questions were left out.
    """
    spec = _variant(variant)
    if settings.length_by not in LENGTH_BY:
        raise SelectionError(f"corpora.length_by must be one of {list(LENGTH_BY)}, got {settings.length_by!r}")
    if settings.per_question < 1:
        raise SelectionError(f"diversity.trajectories_per_question (P) must be at least 1, got {settings.per_question}")
    if variant == "mixed":
        if not ded_corpora:
            raise SelectionError("corpus 'mixed' needs the DED corpus of each domain (ded_corpora)")
        rows, dropped = mix_corpora(ded_corpora, settings.seed)
        return rows, _stats(variant, None, teacher, rows, None, dropped, settings)
    if not spec.per_domain or not domain:
        raise SelectionError(f"corpus variant {variant!r} is built per domain: give a domain")
    if "pass_rates" in spec.needs and pass_rates is None:
        raise SelectionError(f"corpus variant {variant!r} needs the student's pass rates")

    pool = _Pool(samples, verdicts, problems)
    questions = pool.question_ids()
    dropped: dict[str, int] = {}

    if variant == "full":
        chosen = {q: [min(pool.samples[q])] for q in questions if pool.samples.get(q)}
        dropped["no_samples"] = len(questions) - len(chosen)
    else:
        if "pass_rates" in spec.needs:
            questions, compressed = compress(questions, pass_rates, settings.threshold)
            dropped["compressed"] = len(compressed)
        verified = [q for q in questions if pool.kept.get(q)]
        dropped["no_verified_sample"] = len(questions) - len(verified)
        if variant in ("right", "right_hard"):
            chosen = {q: pool.kept[q][:1] for q in verified}
        elif variant == "right_hard_diverse":
            groups = {q: [(sid, pool.samples[q][sid]["text"]) for sid in pool.kept[q]] for q in verified}
            chosen = select_diverse_many(groups, settings.per_question, settings.unit, settings.exact_limit,
                                         settings.tokenizer, settings.workers)
        else:  # longest / shortest
            chosen = {q: _by_length(pool, q, settings.per_question, variant == "longest", settings.length_by)
                      for q in verified}

    rows = [pool.row(q, sid, teacher, domain) for q in pool.question_ids() if q in chosen for sid in chosen[q]]
    tokens = [pool.samples[r["question_id"]][r["sample_id"]].get("completion_tokens") for r in rows]
    total_tokens = sum(tokens) if all(isinstance(t, int) for t in tokens) else None
    return rows, _stats(variant, domain, teacher, rows, total_tokens, dropped, settings)


def mix_corpora(ded_corpora: Mapping[str, Sequence[dict]], seed: int = 0) -> tuple[list[dict], dict[str, int]]:
    """Half of each domain's corpus by question (ceil(n/2) questions, seeded by seed and domain)."""
    rows, dropped = [], {}
    for domain in sorted(ded_corpora):
        corpus = ded_corpora[domain]
        qids = sorted({r["question_id"] for r in corpus})
        k = math.ceil(len(qids) / 2)
        # A string seed is hashed deterministically (sha512), unlike hash() of a str.
        take = set(random.Random(f"{seed}:{domain}").sample(qids, k))
        rows += [r for r in corpus if r["question_id"] in take]
        dropped[f"{domain}_not_drawn"] = len(qids) - k
    return rows, dropped


def _stats(variant: str, domain: str | None, teacher: str, rows: Sequence[dict], tokens: int | None,
           dropped: dict, settings: CorpusSettings) -> dict:
    return {
        "corpus": corpus_name(variant, domain) if domain else variant,
        "variant": variant,
        "domain": domain,
        "teacher": teacher,
        "rows": len(rows),
        "questions": len({(r["domain"], r["question_id"]) for r in rows}),
        "chars": sum(len(r["response"]) for r in rows),
        "completion_tokens": tokens,
        "dropped_questions": dropped,
        "settings": settings.as_dict(),
    }
