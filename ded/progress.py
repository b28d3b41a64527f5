"""Progress of the long stages: sampling, verification, scoring, diversity,
decontamination, token entropy and PCA features.

In a Snakemake job stderr is the rule's log file (scripts/_common.py), where a
live tqdm bar would leave a carriage-return-separated status per refresh. So,
off a terminal, the bar writes one INFO record through `logging` each `step`
of the total (5 % by default), plus one at the start and one at the end: a
paper-scale job's log says how far it got and how long the rest will take,
in about twenty lines. On a terminal (the `python -m ded` commands) it is
tqdm's own bar on stderr.

It stays silent for loops of fewer than `min_total` items and wherever INFO
records go nowhere (library use and tests, whose root logger stays at
WARNING), so callers need not decide whether to show it.
"""

from __future__ import annotations

import io
import logging
import math
import sys
from typing import Iterable

from tqdm import tqdm

#: Fraction of the total between two log lines.
STEP = 0.05
#: Loops shorter than this show nothing unless asked to.
MIN_TOTAL = 16
#: A log line never comes sooner than this after the previous one, so a fast loop logs
#: little more than its start and end.
LOG_MIN_INTERVAL_S = 5.0
LOG_FORMAT = "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f}%) after {elapsed}, {remaining} left, {rate_fmt}"


class _LoggedBar(tqdm):
    """tqdm whose every refresh is one log record; it writes nothing to a stream itself."""

    def __init__(self, *args, logger: logging.Logger, **kwargs):
        self._logger = logger
        self._logged_n: float | None = None
        # tqdm closes with a newline on its stream; a sink keeps that out of the log.
        super().__init__(*args, file=io.StringIO(), **kwargs)

    def display(self, msg=None, pos=None):
        if msg == "" or self.n == self._logged_n:  # a clear request, or nothing new since the last line
            return True
        self._logged_n = self.n
        self._logger.info("%s", self.format_meter(**{**self.format_dict, "bar_format": LOG_FORMAT}))
        return True


def progress(iterable: Iterable | None = None, *, desc: str, total: int | None = None, unit: str = "item",
             initial: int = 0, enabled: bool | None = None, logger: logging.Logger | None = None,
             step: float = STEP, min_total: int = MIN_TOTAL) -> tqdm:
    """A tqdm bar over `iterable` (or for manual `update` calls when None) that suits where it writes.

    `total` defaults to len(iterable). `initial`: items already done (a resumed job).
    `enabled`: force the bar on or off; None shows it when at least `min_total` items remain.
    `logger`: where the log lines go (default `ded.progress`). Use it as a context manager, or
    close it, so that its last line is written.
    """
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    logger = logger or logging.getLogger("ded.progress")
    if enabled is None:
        enabled = total is not None and total - initial >= min_total
    tty = sys.stderr.isatty()
    if not enabled or not (tty or logger.isEnabledFor(logging.INFO)):
        return tqdm(iterable, total=total, initial=initial, disable=True)
    if tty:
        return tqdm(iterable, total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr,
                    dynamic_ncols=True, mininterval=1.0)
    every = max(1, math.ceil((total or 0) * step))
    # maxinterval=inf: tqdm's monitor thread would otherwise drop miniters to 1 after a slow item.
    return _LoggedBar(iterable, total=total, initial=initial, desc=desc, unit=unit, miniters=every,
                      mininterval=LOG_MIN_INTERVAL_S, maxinterval=math.inf, logger=logger)
