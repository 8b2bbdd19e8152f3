"""Plain-text rendering of an analysis, stating every convention it used."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from walkback.analysis import AnalysisResult

_CONVENTION_NOTES = {
    ("log", "efron"): "R survival defaults",
    ("log-log", "breslow"): "SAS PROC LIFETEST/PHREG and Stata defaults",
}


def num(x: float | None, digits: int = 4) -> str:
    """A number to ``digits`` significant figures; 'NR' (not reached) for a missing value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NR"
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.{digits}g}"


def fixed(x: float | None, decimals: int) -> str:
    """A number with a fixed count of decimals (probabilities, ratios); 'NR' when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NR"
    return f"{x:.{decimals}f}"


def pval(p: float) -> str:
    if p is None or math.isnan(p):
        return "NA"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def ci(lo: float | None, hi: float | None, decimals: int | None = None) -> str:
    if decimals is None:
        return f"{num(lo)} to {num(hi)}"
    return f"{fixed(lo, decimals)} to {fixed(hi, decimals)}"


def analysis_table(res: AnalysisResult, source: str | None = None) -> str:
    """Readable summary of ``res``: a table per arm, then the comparisons, then the conventions."""
    level = f"{100 * (1 - res.alpha):g}%"
    lab = res.labels
    head = [f"treatment ({lab['treatment']})", f"control ({lab['control']})"]
    rows: list[tuple[str, str, str]] = [
        ("Participants", str(res.n["treatment"]), str(res.n["control"])),
        ("Events", str(res.events["treatment"]), str(res.events["control"])),
    ]
    med = {a: res.km[a].median for a in ("treatment", "control")}
    rows.append(
        (f"Median ({level} CI)",)
        + tuple(f"{num(m.estimate)} ({ci(m.lower, m.upper)})" for m in med.values())
    )
    r = res.rmst
    rows.append(
        (
            f"RMST to {num(r.tau)} (SE)",
            f"{fixed(r.treatment.estimate, 1)} ({fixed(r.treatment.se, 1)})",
            f"{fixed(r.control.estimate, 1)} ({fixed(r.control.se, 1)})",
        )
    )
    for i in range(len(res.survival_at["treatment"])):
        cells = []
        for a in ("treatment", "control"):
            row = res.survival_at[a].iloc[i]
            cells.append(
                f"{fixed(row.survival, 3)} ({ci(row.lower, row.upper, 3)}), "
                f"{int(row.n_at_risk)} at risk"
            )
        t = res.survival_at["treatment"].iloc[i].time
        rows.append((f"Survival at {num(t)}", cells[0], cells[1]))

    w0 = max(len(x[0]) for x in rows)
    w1 = max(len(head[0]), *(len(x[1]) for x in rows))
    lines = []
    if source:
        lines.append(f"walkback analyze: {source}")
    lines.append(f"{'':{w0}}  {head[0]:<{w1}}  {head[1]}")
    lines += [f"{a:{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    lines.append("")
    c = res.cox
    hr_ci = c.conf_int()[0]
    strat = f", stratified by {', '.join(res.strata)}" if res.strata else ""
    adj = f", adjusted for {', '.join(res.covariates)}" if res.covariates else ""
    lines.append(
        f"Hazard ratio (Cox{strat}{adj}): {fixed(c.hazard_ratio[0], 3)} "
        f"({level} CI {ci(hr_ci[0], hr_ci[1], 3)}), Wald p = {pval(c.wald_p[0])}; "
        f"LR p = {pval(c.p_lr)}; score p = {pval(c.p_score)}"
    )
    lr = res.logrank
    lines.append(
        f"Log-rank test{' (stratified)' if res.strata else ''}: chi-square = {fixed(lr.chisq, 2)}, "
        f"p = {pval(lr.p)} (observed/expected events: treatment {lr.observed[0]:.0f}/"
        f"{lr.expected[0]:.1f}, control {lr.observed[1]:.0f}/{lr.expected[1]:.1f})"
    )
    lines.append(
        "Proportional hazards (cox.zph, KM transform): "
        f"chi-square = {fixed(res.ph_test.chisq, 2)}, p = {pval(res.ph_test.p)}"
    )
    lines.append(
        f"RMST difference to {num(r.tau)}: {fixed(r.difference, 1)} "
        f"({level} CI {ci(r.lower, r.upper, 1)})"
    )
    lines.append("")
    note = _CONVENTION_NOTES.get((res.conf_type, res.ties), "custom combination")
    lines.append(
        f"Conventions: KM CI transform '{res.conf_type}', Cox ties '{res.ties}' ({note}); "
        f"{level} intervals; median by R's quantile.survfit rule; RMST tau: {res.tau_rule}."
    )
    lines.append("NR = not reached. Change with --conf-type, --ties or --convention r|sas|stata.")
    return "\n".join(lines)
