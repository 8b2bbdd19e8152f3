"""Subgroup analysis: the arm's hazard ratio within each level of a baseline variable.

For every ``by`` variable (read as a factor: its distinct values are the levels), and every level,
the rows of that level are fitted with the same Cox model as the main analysis (arm as a factor,
reference = control, the same covariates and strata), as R's
``coxph(Surv(time, event) ~ arm + ..., subset = by == level)``. The interaction test is R's
``anova`` of the nested models on the same rows: ``arm + by + ...`` against ``arm * by + ...``
(likelihood ratio, df = (arms - 1) x (levels - 1) less any product column that is all zero).

A level in which an arm has no rows or no events has no finite hazard ratio: its row carries a
``note`` and null estimates rather than the huge number a Newton iteration would drift to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from walkback._json import json_ready
from walkback._typing import TIES, Ties
from walkback.design import CovariateSpec, _labels, build_design, missing_mask
from walkback.estimators import cox
from walkback.estimators import timefix as aeq_times
from walkback.estimators._dist import chi2_sf
from walkback.exceptions import ConvergenceError, DataError, EstimationError
from walkback.schema import TrialData

#: More distinct values than this in a ``by`` column is almost surely a continuous variable.
MAX_LEVELS = 20


@dataclass(frozen=True)
class SubgroupRow:
    """One treatment arm against control within one level of one variable."""

    by: str
    level: str
    treatment: str
    n: dict[str, int]
    events: dict[str, int]
    hazard_ratio: float | None
    lower: float | None
    upper: float | None
    p: float | None
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "by": self.by,
            "level": self.level,
            "treatment": self.treatment,
            "n": self.n,
            "events": self.events,
            "hazard_ratio": self.hazard_ratio,
            "lower": self.lower,
            "upper": self.upper,
            "p": self.p,
            "note": self.note,
        }


@dataclass(frozen=True)
class Interaction:
    """Likelihood-ratio test of arm x ``by`` (R ``anova(main, with_interaction)``)."""

    by: str
    chisq: float | None
    df: int
    p: float | None
    missing: int = 0
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "by": self.by,
            "chisq": self.chisq,
            "df": self.df,
            "p": self.p,
            "missing": self.missing,
            "note": self.note,
        }


@dataclass(frozen=True)
class SubgroupResult:
    """Every subgroup row, every interaction test and the overall hazard ratio(s)."""

    rows: tuple[SubgroupRow, ...]
    interactions: tuple[Interaction, ...]
    overall: tuple[SubgroupRow, ...]
    arm_labels: tuple[str, ...]
    arm_col: str
    ties: Ties
    conf_level: float
    covariates: tuple[str, ...]
    strata: tuple[str, ...]
    timefix: bool

    def to_dict(self) -> dict:
        return json_ready(
            {
                "subgroups": [r.to_dict() for r in self.rows],
                "interaction": [i.to_dict() for i in self.interactions],
                "overall": [r.to_dict() for r in self.overall],
                "settings": {
                    "arm_col": self.arm_col,
                    "control": self.arm_labels[0],
                    "treatments": list(self.arm_labels[1:]),
                    "ties": self.ties,
                    "conf_level": self.conf_level,
                    "covariates": list(self.covariates),
                    "strata": list(self.strata),
                    "timefix": self.timefix,
                    "model": "Cox, arm as a factor (reference = control), per level of each "
                    "variable; interaction by likelihood ratio of nested models",
                },
            }
        )


def _level_labels(col) -> tuple[np.ndarray, tuple[str, ...]]:
    """Cell text per row (integral floats as integers) and the levels, numerically if numbers."""
    text = _labels(col)
    levels = sorted(set(text.tolist()))
    try:
        levels = sorted(levels, key=float)
    except ValueError:
        pass
    return text, tuple(levels)


def _fit_rows(t, e, trial: TrialData, mask, specs, fit_args):
    """Cox fit of arm (+ covariates) on the rows in ``mask``; the strata as in the trial."""
    arm = trial.arm[mask]
    frame = trial.frame.loc[mask] if specs else trial.frame.iloc[:0]
    design = build_design(
        arm, trial.arms, frame, specs, arm_name=trial.arm_col, source=trial.source
    )
    strata = None if trial.strata is None else trial.strata[mask]
    return cox(t[mask], e[mask], design.x, strata, names=design.names, **fit_args), design


def _estimate_rows(by, level, t, e, trial, mask, specs, fit_args) -> list[SubgroupRow]:
    arms = trial.arms
    n = {a: int(np.sum(mask & (trial.arm == j))) for j, a in enumerate(arms)}
    ev = {a: int(np.sum(e[mask & (trial.arm == j)])) for j, a in enumerate(arms)}
    blocked = [a for a in arms if n[a] == 0 or ev[a] == 0]
    if blocked:
        why = "; ".join(f"no {'rows' if n[a] == 0 else 'events'} in arm '{a}'" for a in blocked)
        note = f"hazard ratio not estimable: {why}"
        return [SubgroupRow(by, level, a, n, ev, None, None, None, None, note) for a in arms[1:]]
    try:
        fit, design = _fit_rows(t, e, trial, mask, specs, fit_args)
    except (EstimationError, ConvergenceError, DataError) as exc:
        note = f"hazard ratio not estimable: {exc}"
        return [SubgroupRow(by, level, a, n, ev, None, None, None, None, note) for a in arms[1:]]
    ci = fit.conf_int()
    rows = []
    for a in arms[1:]:
        k = design.names.index(f"{trial.arm_col}={a}")
        rows.append(
            SubgroupRow(
                by,
                level,
                a,
                n,
                ev,
                float(fit.hazard_ratio[k]),
                float(ci[k, 0]),
                float(ci[k, 1]),
                float(fit.wald_p[k]),
            )
        )
    return rows


def _interaction(by, text, levels, rows, t, e, trial, specs, fit_args) -> Interaction:
    """LR test of arm x by on ``rows``; the main effect of ``by`` is absorbed by a stratum."""
    missing = int((~rows).sum())
    sub = trial.subset(rows) if missing else trial
    text = text[rows]
    design = build_design(
        sub.arm, sub.arms, sub.frame, specs, arm_name=sub.arm_col, source=sub.source
    )
    arm_x = design.x[:, design.columns_of("arm")]
    by_all = np.column_stack([(text == v).astype(float) for v in levels[1:]])
    by_x = by_all[:, :0] if by in sub.strata_cols else by_all
    prod = np.column_stack([arm_x[:, [i]] * by_all for i in range(arm_x.shape[1])])
    keep = prod.any(axis=0)
    prod = prod[:, keep]
    df = int(prod.shape[1])
    if df == 0:
        return Interaction(by, None, 0, None, missing, "no level has more than one arm")
    main = np.column_stack([design.x, by_x])
    t, e = t[rows], e[rows]
    try:
        reduced = cox(t, e, main, sub.strata, **fit_args)
        full = cox(t, e, np.column_stack([main, prod]), sub.strata, **fit_args)
    except (EstimationError, ConvergenceError, DataError) as exc:
        return Interaction(by, None, df, None, missing, f"interaction not estimable: {exc}")
    chisq = 2.0 * (full.loglik - reduced.loglik)
    note = None if keep.all() else f"{int((~keep).sum())} arm x level cell(s) empty: df reduced"
    return Interaction(by, float(chisq), df, float(chi2_sf(chisq, df)), missing, note)


def subgroups(
    trial: TrialData,
    by: Sequence[str],
    *,
    ties: Ties = "efron",
    alpha: float = 0.05,
    covariates: Sequence[str] = (),
    timefix: bool = True,
    na: str = "error",
    max_levels: int = MAX_LEVELS,
) -> SubgroupResult:
    """Hazard ratio per level of each ``by`` column and the arm x ``by`` interaction test.

    Parameters
    ----------
    trial : TrialData
        The trial; its strata stratify every model.
    by : sequence of str
        Baseline columns; each distinct value is a level (numbers sort numerically).
    ties, alpha, covariates, timefix
        As :func:`walkback.analysis.analyze`; covariates adjust every subgroup model.
    na : {"error", "drop"}
        A missing ``by`` value is an error, or (``"drop"``) its row is left out of that
        variable's subgroups and interaction test only (R's ``na.omit`` per model); the count is
        reported as ``missing``.
    max_levels : int
        More distinct values than this is refused (bin a continuous variable first).
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if not by:
        raise ValueError("by must name at least one column")
    t = aeq_times(trial.time) if timefix else np.asarray(trial.time, dtype=float)
    e = np.asarray(trial.event, dtype=np.int64)
    specs = tuple(CovariateSpec.parse(c) for c in covariates)
    fit_args = dict(ties=ties, conf_level=1.0 - alpha, timefix=False)
    everyone = np.ones(trial.n, dtype=bool)
    overall = tuple(_estimate_rows("all", "all", t, e, trial, everyone, specs, fit_args))
    rows: list[SubgroupRow] = []
    tests: list[Interaction] = []
    for name in dict.fromkeys(by):
        if name not in trial.frame.columns:
            raise DataError(
                "subgroup column not found",
                source=trial.source,
                column=name,
                fix=f"columns are: {', '.join(map(str, trial.frame.columns))}",
            )
        miss = missing_mask(trial.frame[name])
        if miss.any() and na != "drop":
            raise DataError(
                "missing values in a subgroup column",
                source=trial.source,
                column=name,
                lines=[int(x) for x in trial.lines[miss]],
                fix="pass na='drop' (--na drop) to leave those rows out of this variable's "
                "subgroups and interaction test, as R's na.omit",
            ).with_unit(trial.line_unit)
        text, levels = _level_labels(trial.frame[name])
        text[miss] = None
        levels = tuple(v for v in levels if v in set(text[~miss].tolist()))
        if len(levels) < 2:
            raise DataError(
                f"a subgroup variable needs at least two levels; every row is {levels[0]!r}",
                source=trial.source,
                column=name,
            )
        if len(levels) > max_levels:
            raise DataError(
                f"{len(levels)} distinct values (more than {max_levels}): this looks continuous",
                source=trial.source,
                column=name,
                fix="cut it into groups first (e.g. pandas.cut) and pass that column",
            )
        for level in levels:
            rows += _estimate_rows(name, level, t, e, trial, text == level, specs, fit_args)
        tests.append(_interaction(name, text, levels, ~miss, t, e, trial, specs, fit_args))
    return SubgroupResult(
        rows=tuple(rows),
        interactions=tuple(tests),
        overall=overall,
        arm_labels=tuple(trial.arms),
        arm_col=trial.arm_col,
        ties=ties,
        conf_level=1.0 - alpha,
        covariates=tuple(str(c) for c in covariates),
        strata=tuple(trial.strata_cols),
        timefix=timefix,
    )
