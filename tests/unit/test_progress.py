"""The progress helper of the long stages (ded/progress.py) and the Markdown table renderer (ded/markdown.py)."""

from __future__ import annotations

import logging

import pandas as pd

from ded import progress as P
from ded.markdown import markdown_table


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.progress"]


def test_a_long_loop_logs_one_line_per_step_not_per_item(caplog, monkeypatch):
    monkeypatch.setattr(P, "LOG_MIN_INTERVAL_S", 0.0)
    log = logging.getLogger("test.progress")
    with caplog.at_level(logging.INFO, logger="test.progress"):
        with P.progress(total=1000, desc="verifying", unit="answer", logger=log) as bar:
            for _ in range(1000):
                bar.update(1)
    lines = _lines(caplog)
    assert 20 <= len(lines) <= 22  # the start, every 5 %, the end
    assert lines[0].startswith("verifying: 0/1000 (0%)") and lines[-1].startswith("verifying: 1000/1000 (100%)")


def test_a_fast_loop_logs_its_start_and_end_only(caplog):
    log = logging.getLogger("test.progress")
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for _ in P.progress(range(200), desc="diversity", logger=log):
            pass
    assert [line.split(" (")[0] for line in _lines(caplog)] == ["diversity: 0/200", "diversity: 200/200"]


def test_a_resumed_loop_counts_from_what_was_done(caplog):
    log = logging.getLogger("test.progress")
    with caplog.at_level(logging.INFO, logger="test.progress"):
        with P.progress(total=100, initial=60, desc="sampling", logger=log) as bar:
            bar.update(40)
    assert _lines(caplog)[0].startswith("sampling: 60/100 (60%)")


def test_quiet_for_short_loops_and_where_info_goes_nowhere(caplog):
    log = logging.getLogger("test.progress")
    with caplog.at_level(logging.INFO, logger="test.progress"):
        assert P.progress(total=P.MIN_TOTAL - 1, desc="short", logger=log).disable
        assert P.progress(total=1000, desc="off", enabled=False, logger=log).disable
    with caplog.at_level(logging.WARNING, logger="test.progress"):
        bar = P.progress(total=1000, desc="unseen", logger=log)
        assert bar.disable
        bar.update(1000)
        bar.close()
    assert _lines(caplog) == []


def test_markdown_table_keeps_text_and_escapes_pipes():
    frame = pd.DataFrame({"benchmark": ["a|b", "c"], "pass@1": ["0.5000", ""], "n": pd.Series([3, None], dtype=object)})
    text = markdown_table(frame, right=["pass@1", "n"])
    lines = text.splitlines()
    assert not text.endswith("\n") and len(lines) == 4
    assert [" ".join(line.split()) for line in lines[2:]] == ["| a\\|b | 0.5000 | 3 |", "| c | | |"]
    first, *rest = lines[1].strip("|").split("|")
    assert first.startswith(":") and all(s.endswith(":") and not s.startswith(":") for s in rest)
    assert len({len(line) for line in lines}) == 1  # padded to equal widths
