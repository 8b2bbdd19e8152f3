"""Covariate-adjusted survival per arm: the Cox model's curve for each arm with the other terms
held at given values (R ``survfit(coxph_fit, newdata)``, one ``newdata`` row per arm).

Values are on the data's scale (numbers, factor levels). The arm is not given: every arm gets its
curve. In a stratified model each stratum has its own baseline hazard, so there is a curve per
stratum unless the values name every strata column (R: strata variables in ``newdata`` pick the
stratum).
"""

from __future__ import annotations

from collections.abc import Mapping

from walkback.cells import label_text
from walkback.estimators import CoxResult
from walkback.estimators.cox_survival import CoxSurvival
from walkback.exceptions import DataError


def adjusted_curves(
    fit: CoxResult,
    at: Mapping[str, object],
    times,
    *,
    arm_col: str,
    arm_labels: tuple[str, ...],
    strata_cols: tuple[str, ...],
    strata_labels: tuple[str, ...],
    conf_type,
) -> dict[str, CoxSurvival]:
    """Each arm's predicted curve at ``times`` with the other terms at ``at``, keyed by arm label.

    ``fit`` was fitted with strata named by their labels (``"meno=1"``), as ``analyze`` does.
    """
    if not isinstance(at, Mapping):
        raise TypeError(f"adjusted_at must be a mapping of column to value, got {type(at)}")
    if arm_col in at:
        raise DataError(
            "the arm is not given in adjusted_at: every arm gets its own curve",
            column=arm_col,
            fix=f"leave {arm_col}=... out",
        )
    covariates = [t.name for t in fit.model_terms if t.name != arm_col]
    known = ", ".join(repr(c) for c in covariates) or "none"
    strata_note = f" (strata: {', '.join(repr(c) for c in strata_cols)})" if strata_cols else ""
    for name in at:
        if name not in covariates and name not in strata_cols:
            raise DataError(
                "adjusted_at names a column that is not a covariate of the model",
                column=str(name),
                fix=f"the covariates are {known}{strata_note}; add it as a covariate or leave it "
                "out",
            )
    missing = [c for c in covariates if c not in at]
    if missing:
        raise DataError(
            f"adjusted_at gives no value for covariate {', '.join(repr(m) for m in missing)}; "
            "the curves need every covariate held at a value (as R's newdata)",
            column=missing[0],
            fix=f"add {missing[0]}=VALUE",
        )
    values = {k: v for k, v in at.items() if k not in strata_cols}
    named = [c for c in strata_cols if c in at]
    stratum = None
    if named:
        if len(named) != len(strata_cols):
            missing = [c for c in strata_cols if c not in at]
            raise DataError(
                "adjusted_at names some strata columns but not all; name all of them for one "
                "stratum's curve, or none for a curve per stratum",
                column=missing[0],
                fix=f"add {missing[0]}=VALUE or leave out {', '.join(named)}",
            )
        label = ", ".join(f"{c}={label_text(at[c])}" for c in strata_cols)
        if label not in strata_labels:
            raise DataError(
                "no such stratum in the data",
                column=", ".join(strata_cols),
                value=label,
                fix="strata are " + "; ".join(strata_labels),
            )
        stratum = label
    return {
        arm: fit.predict_survival(
            {arm_col: arm, **values}, times, conf_type=conf_type, stratum=stratum
        )
        for arm in arm_labels
    }
