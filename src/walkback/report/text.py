"""Plain-text rendering of an analysis, stating every convention it used."""

from __future__ import annotations

import math
from typing import Any

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
    if not math.isfinite(x) or abs(x) >= 1e9 or 0 < abs(x) < 1e-9:  # times on extreme scales
        return f"{x:.{decimals + 4}g}"
    return f"{round(x, decimals) + 0.0:.{decimals}f}"  # + 0.0: no "-0.000"


def pval(p: float) -> str:
    if p is None or math.isnan(p):
        return "NA"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def ci(lo: float | None, hi: float | None, decimals: int | None = None) -> str:
    if decimals is None:
        return f"{num(lo)} to {num(hi)}"
    return f"{fixed(lo, decimals)} to {fixed(hi, decimals)}"


def _median(q) -> str:
    return f"{num(q.estimate)} ({ci(q.lower, q.upper)})"


def analysis_table(res: Any, source: str | None = None) -> str:
    """Readable summary of an ``AnalysisResult``: a table per arm, the comparisons, conventions."""
    level = f"{100 * (1 - res.alpha):g}%"
    labels = res.arm_labels
    if res.two_arm:
        head = [f"treatment ({labels[1]})", f"control ({labels[0]})"]
        order = [labels[1], labels[0]]
    else:
        head = [f"{labels[0]} (control)", *labels[1:]]
        order = list(labels)
    arms = [res.arms[a] for a in order]
    rows: list[tuple[str, ...]] = [
        ("Participants", *(str(s.n) for s in arms)),
        ("Events", *(str(s.events) for s in arms)),
        (f"Median ({level} CI), {res.time_unit}", *(_median(s.km.median) for s in arms)),
        (
            f"RMST to {num(res.tau)} (SE)",
            *(f"{fixed(s.rmst.estimate, 1)} ({fixed(s.rmst.se, 1)})" for s in arms),
        ),
    ]
    for i in range(len(arms[0].survival_at)):
        cells = []
        for s in arms:
            row = s.survival_at.iloc[i]
            cells.append(
                f"{fixed(row.survival, 3)} ({ci(row.lower, row.upper, 3)}); {int(row.n_at_risk)} "
                f"at risk, {int(row.events)} events, {int(row.censored)} censored"
            )
        rows.append((f"Survival at {num(arms[0].survival_at.iloc[i].time)}", *cells))

    widths = [max(len(r[j]) for r in [("", *head), *rows]) for j in range(len(head) + 1)]
    lines = [f"walkback analyze: {source}"] if source else []
    for r in [("", *head), *rows]:
        lines.append("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())
    lines.append("")
    strat = f", stratified by {', '.join(res.strata)}" if res.strata else ""
    adj = f", adjusted for {', '.join(res.covariates)}" if res.covariates else ""
    lines.append(f"Cox model (arm as a factor, reference {labels[0]}{strat}{adj}):")
    for hr in res.hazard_ratios():
        lines.append(
            f"  Hazard ratio {hr['treatment']} vs {labels[0]}: {fixed(hr['estimate'], 3)} "
            f"({level} CI {ci(hr['lower'], hr['upper'], 3)}); coef {fixed(hr['coef'], 4)}, "
            f"SE {fixed(hr['se'], 4)}, z {fixed(hr['z'], 2)}, Wald p = {pval(hr['p'])}"
        )
        lines.append(f"    HR < 1 favours {hr['treatment']}; HR > 1 favours {labels[0]}")
    for cv in res.covariate_rows():
        lines.append(
            f"  {cv['term']}: HR {fixed(cv['estimate'], 3)} ({level} CI "
            f"{ci(cv['lower'], cv['upper'], 3)}); coef {fixed(cv['coef'], 4)}, "
            f"SE {fixed(cv['se'], 4)}, z {fixed(cv['z'], 2)}, p = {pval(cv['p'])}"
        )
    at = res.arm_test
    lines.append(
        f"Test of the arm term alone (with vs without arm, df = {at.df}): LR chi-square = "
        f"{fixed(at.lr_chisq, 2)}, p = {pval(at.p)}; Wald p = {pval(at.wald_p)}; "
        f"score p = {pval(at.score_p)}"
    )
    if res.covariates:
        c = res.cox
        lines.append(
            f"Whole model (arm and covariates, df = {c.df}): LR p = {pval(c.p_lr)}; "
            f"Wald p = {pval(c.p_wald_global)}; score p = {pval(c.p_score)}"
        )
    lk = res.logrank_k
    oe = ", ".join(
        f"{a} {o:.0f}/{e:.1f}" for a, o, e in zip(labels, lk.observed, lk.expected, strict=True)
    )
    lines.append(
        f"Log-rank test{' (stratified)' if res.strata else ''}: chi-square = {fixed(lk.chisq, 2)} "
        f"on {lk.df} df, p = {pval(lk.p)} (observed/expected events: {oe})"
    )
    for ph in res.ph_tests:
        lines.append(
            f"Proportional hazards for {ph.term} (cox.zph, KM transform): "
            f"chi-square = {fixed(ph.chisq, 2)}, p = {pval(ph.p)}"
        )
    if res.rmst is not None:
        r = res.rmst
        lines.append(
            f"RMST difference ({labels[1]} - {labels[0]}) to {num(r.tau)}: "
            f"{fixed(r.difference, 1)} ({level} CI {ci(r.lower, r.upper, 1)})"
        )
    cc = res.concordance
    lines.append(f"Concordance: {fixed(cc.estimate, 3)} (SE {fixed(cc.se, 3)})")
    fu = res.followup
    per_arm = "; ".join(f"{a} {_median(fu.arms[a])}" for a in labels)
    lines.append(
        f"Median follow-up (reverse Kaplan-Meier), {res.time_unit}: {_median(fu.median)}; {per_arm}"
    )
    for t in getattr(res, "tests", ()):
        won = f", largest |z| {t['winner']}" if "winner" in t else ""
        z = f"z = {fixed(t['z'], 2)}, " if t.get("z") is not None else ""
        df = f", df = {t['df']}" if "df" in t else ""
        lines.append(
            f"Test {t['name']}: {z}chi-square = {fixed(t['chisq'], 2)}{df}, p = {pval(t['p'])}{won}"
        )
    for r in getattr(res, "survival_differences", ()):
        lines.append(
            f"Survival difference at {num(r['time'])} {res.time_unit} ({r['treatment']} minus "
            f"{labels[0]}): {fixed(r['difference'], 3)} ({level} CI "
            f"{ci(r['lower'], r['upper'], 3)}; linear, Greenwood)"
        )
    lines += _adjusted_lines(res, order, head, level)
    for d in res.dropped:
        shown = ", ".join(map(str, d.lines[:8])) + (" ..." if len(d.lines) > 8 else "")
        lines.append(f"Excluded: {d.rows} rows ({d.reason}: {', '.join(d.columns)}; lines {shown})")
    for w in getattr(res, "warnings", ()):
        lines.append(f"Warning: {w}")
    lines.append("")
    note = _CONVENTION_NOTES.get((res.conf_type, res.ties), "custom combination")
    lines.append(
        f"Conventions: KM CI transform '{res.conf_type}', Cox ties '{res.ties}' ({note}); "
        f"{level} intervals; median by R's quantile.survfit rule; RMST tau: {res.tau_rule}; "
        f"near-tied times {'merged as R timefix' if res.timefix else 'compared exactly'}; "
        f"time unit: {res.time_unit}."
    )
    lines.append("NR = not reached. Change with --conf-type, --ties or --convention r|sas|stata.")
    return "\n".join(lines)


def _adjusted_lines(res: Any, order: list[str], head: list[str], level: str) -> list[str]:
    """Adjusted survival per arm (R survfit(fit, newdata)) as a table: time (and stratum) rows."""
    curves = getattr(res, "adjusted_survival", None)
    if not curves:
        return []
    at = ", ".join(f"{k}={v}" for k, v in res.adjusted_at.items()) or "no covariates"
    first = curves[order[0]]
    strat = first.stratum is not None
    table = [("Stratum",) * strat + (f"Time, {res.time_unit}", *head)]
    for i in range(first.time.size):
        cells = [
            f"{fixed(curves[a].survival[i], 3)} ({ci(curves[a].lower[i], curves[a].upper[i], 3)})"
            for a in order
        ]
        lead = (first.stratum[i],) if strat else ()
        table.append((*lead, num(first.time[i]), *cells))
    widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
    out = [
        f"Adjusted survival ({level} CI, {res.conf_type}) from the Cox model at {at} "
        "(R survfit(fit, newdata), one curve per arm):"
    ]
    for r in table:
        out.append("  " + "  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())
    return out
