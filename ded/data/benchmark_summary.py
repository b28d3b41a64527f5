"""What each loaded benchmark holds: problems per difficulty and, for multiple choice, where the answer sits.

A shuffle that leaves the right answer in one position (public GPQA copies
list it first; a harness that forgets to shuffle keeps it there) lets a model
score by position. The table counts, per benchmark with choice answers, how
often each option letter is the gold one, and a chi-square test against equal
shares says whether the spread is beyond chance.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, Sequence

from .benchmarks import LETTERS, difficulty_counts

SUMMARY_COLUMNS = ("benchmark", "facet", "value", "problems", "share")

# Below this p-value the gold letters are called unbalanced: with 198 GPQA items a position bias of
# a few points stays above it, one that puts every answer under one letter falls far below.
UNBALANCED_P = 0.001


def gold_option_counts(records: Iterable[Mapping]) -> dict[str, int]:
    """Multiple-choice problems per gold letter, every letter the options allow listed (zeros kept).

    Problems without `gold_kind: choice` are not counted; an empty dict means there were none.
    """
    choice = [r for r in records if r.get("gold_kind") == "choice"]
    if not choice:
        return {}
    width = max(len(r.get("options") or ()) for r in choice)
    counts = Counter(str(r["gold"]).strip().upper() for r in choice)
    letters = [LETTERS[k] for k in range(max(width, 1))]
    letters += sorted(set(counts) - set(letters))  # a gold outside the options still shows
    return {letter: counts[letter] for letter in letters}


def equal_share_p_value(counts: Mapping[str, int]) -> float | None:
    """Chi-square goodness-of-fit p-value of the counts against equal shares (None for fewer than 2 cells)."""
    from scipy.stats import chisquare

    observed = list(counts.values())
    if len(observed) < 2 or sum(observed) == 0:
        return None
    return float(chisquare(observed).pvalue)


def summary_rows(name: str, records: Sequence[Mapping]) -> list[dict]:
    """Long rows (benchmark, facet, value, problems, share) for one benchmark."""
    total = len(records)
    rows = [{"benchmark": name, "facet": "problems", "value": "all", "problems": total, "share": 1.0 if total else None}]
    for facet, counts in (("difficulty", difficulty_counts(list(records))), ("gold option", gold_option_counts(records))):
        if facet == "difficulty" and list(counts) == ["none"]:
            continue  # no difficulty labels: the row above says it all
        n = sum(counts.values())
        rows += [{"benchmark": name, "facet": facet, "value": value, "problems": count,
                  "share": count / n if n else None} for value, count in counts.items()]
    return rows


def unbalanced_benchmarks(rows: Sequence[Mapping]) -> dict[str, float]:
    """Benchmarks whose gold letters are unequal beyond chance: name -> p-value."""
    out = {}
    for name in dict.fromkeys(r["benchmark"] for r in rows):
        counts = {r["value"]: r["problems"] for r in rows if r["benchmark"] == name and r["facet"] == "gold option"}
        p = equal_share_p_value(counts)
        if p is not None and p < UNBALANCED_P:
            out[name] = p
    return out


def summary_markdown(rows: Sequence[Mapping]) -> str:
    """The table as Markdown, with one line per benchmark whose gold letters are unbalanced."""
    import pandas as pd

    from ..markdown import markdown_table

    frame = pd.DataFrame(list(rows), columns=list(SUMMARY_COLUMNS))
    frame["share"] = [f"{s:.1%}" if s is not None and s == s else "" for s in frame["share"]]
    lines = ["# Benchmarks", "",
             "Problems per benchmark, per difficulty where the source gives one, and for multiple-choice "
             "benchmarks how often each option letter holds the right answer after the shuffle.", "",
             markdown_table(frame, right=("problems", "share")), ""]
    choice = {r["benchmark"] for r in rows if r["facet"] == "gold option"}
    unbalanced = unbalanced_benchmarks(rows)
    for name in sorted(choice):
        if name in unbalanced:
            lines.append(f"- **{name}: the right answer is not spread evenly over the options** (chi-square "
                         f"p = {unbalanced[name]:.2g}); a model could score by position.")
        else:
            counts = {r["value"]: r["problems"] for r in rows if r["benchmark"] == name and r["facet"] == "gold option"}
            p = equal_share_p_value(counts)
            lines.append(f"- {name}: the right answer's position is consistent with equal shares"
                         + (f" (chi-square p = {p:.2g})." if p is not None else "."))
    return "\n".join(lines).rstrip() + "\n"
