"""The one Markdown table renderer: score summaries, the paper's tables, decontamination reports.

pandas renders (`DataFrame.to_markdown`, through tabulate) a pipe table with
padded, aligned columns, readable as plain text as well as rendered.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import pandas as pd


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    # A `|` would end the cell and a newline the row.
    return " ".join(str(value).replace("|", r"\|").splitlines())


def markdown_table(frame: pd.DataFrame, right: Iterable[str] = ()) -> str:
    """`frame` (its columns, not its index) as a pipe table, without a trailing newline.

    Cells are written as the text they hold: format numbers first (tabulate's
    own number parsing is turned off, so "0.5000" stays "0.5000"); None and
    NaN become empty cells. Columns named in `right` are right-aligned, the
    others left-aligned.
    """
    right = set(right)
    text = frame.map(_text)
    text.columns = [_text(c) for c in frame.columns]
    return text.to_markdown(index=False, tablefmt="pipe", disable_numparse=True,
                            colalign=["right" if c in right else "left" for c in frame.columns])
