"""Missing values in the columns an analysis uses: refused, or dropped and counted (R's na.action).

R's default ``na.action = na.omit`` drops rows silently; walkback refuses them unless asked
(``na="drop"``), and then records how many rows, which columns and which lines, so that rows in
equal rows used plus rows dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback.validate import Where, missing_cells

__all__ = ["Dropped", "apply_na_action"]


@dataclass(frozen=True)
class Dropped:
    """Rows excluded on request: missing values (``na="drop"``) or unnamed arms."""

    rows: int
    columns: tuple[str, ...]
    lines: tuple[int, ...]
    reason: str

    def to_dict(self) -> dict:
        return {"rows": self.rows, "columns": list(self.columns), "lines": list(self.lines)}


def apply_na_action(
    df: pd.DataFrame, used: Sequence[str], covariates: Sequence[str], na: str, where: Where
) -> tuple[pd.DataFrame, np.ndarray, list[Dropped]]:
    """Rows kept, their location numbers, and what was dropped.

    With ``na="drop"`` rows with a missing cell in any ``used`` column are excluded. With
    ``na="error"`` a missing covariate is an error here; missing time, event, arm or strata
    cells are left to those columns' own rules, which name them.
    """
    lines = where.lines
    missing = {c: missing_cells(df[c]) for c in used}
    if na != "drop":
        for c in covariates:
            bad = np.flatnonzero(missing[c])
            if bad.size:
                raise where.error(
                    "covariate value is missing",
                    column=c,
                    rows=bad,
                    fix="fill it in, or pass --na drop (na='drop', as R's na.omit) to "
                    "exclude rows with missing values",
                )
        return df, lines, []
    any_missing = np.logical_or.reduce(list(missing.values()))
    if not any_missing.any():
        return df, lines, []
    cols = tuple(sorted(c for c in used if missing[c].any()))
    if any_missing.all():
        raise where.error(
            f"every row has a missing value in {', '.join(cols)}; no row is left",
            fix="check the data and the columns named",
        )
    dropped = Dropped(
        int(any_missing.sum()), cols, tuple(int(v) for v in lines[any_missing]), "missing values"
    )
    return df.loc[~any_missing], lines[~any_missing], [dropped]
