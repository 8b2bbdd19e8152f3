"""Plain-text rendering of an analysis of (start, stop], delayed-entry or weighted data."""

from __future__ import annotations

from typing import Any

from walkback.report.text import ci, fixed, num, pval


def interval_analysis_table(res: Any, source: str | None = None) -> str:
    """Readable summary of an ``IntervalAnalysis``: per arm, the Cox model, the MCF, settings."""
    level = f"{100 * (1 - res.alpha):g}%"
    labels = res.arm_labels
    arms = [res.arms[a] for a in labels]
    head = [f"{labels[0]} (control)", *labels[1:]]
    rows: list[tuple[str, ...]] = [
        ("Rows", *(str(s.rows) for s in arms)),
        ("Participants", *("" if s.participants is None else str(s.participants) for s in arms)),
        ("Events", *(num(s.events, 6) for s in arms)),
        (
            f"Median ({level} CI), {res.time_unit}",
            *(
                f"{num(s.km.median.estimate)} ({ci(s.km.median.lower, s.km.median.upper)})"
                for s in arms
            ),
        ),  # fmt: skip
    ]
    for k, t in enumerate(res.times):
        rows.append(
            (
                f"Survival at {num(t)}",
                *(f"{fixed(s.survival_at['survival'].iloc[k], 3)}" for s in arms),
            )
        )
        if any(s.mcf is not None for s in arms):
            rows.append(
                (
                    f"MCF at {num(t)} ({level} CI)",
                    *(_mcf_at(s.mcf, t) for s in arms),
                )
            )
    width = [max(len(r[i]) for r in [("", *head), *rows]) for i in range(len(head) + 1)]
    lines = [f"walkback analyze: {source}" if source else "walkback analyze"]
    lines.append("  ".join(c.ljust(width[i]) for i, c in enumerate(("", *head))))
    for r in rows:
        lines.append("  ".join(c.ljust(width[i]) for i, c in enumerate(r)))
    lines.append("")
    for h in res.hazard_ratios():
        lines.append(
            f"Hazard ratio {h['treatment']} vs {labels[0]}: {fixed(h['estimate'], 3)} "
            f"({level} CI {ci(h['lower'], h['upper'], 3)}), Wald p = {pval(h['p'])}; "
            f"SE {num(h['se'])}" + (f" robust (model {num(h['se_model'])})" if h["robust"] else "")
        )
    at = res.arm_test
    lines.append(
        f"Arm term: LR chisq {num(at.lr_chisq)} on {at.df} df, p = {pval(at.p)}; "
        f"score chisq {num(at.score_chisq)}, p = {pval(at.score_p)}"
    )
    c = res.cox
    if c.robust:
        lines.append(
            f"Robust score test (whole model): chisq {num(c.robust_score_chisq)}, "
            f"p = {pval(c.p_robust_score)}; the LR and score tests above are model-based"
        )
    if res.logrank is not None:
        lines.append(f"Log-rank: chisq {num(res.logrank.chisq)}, p = {pval(res.logrank.p)}")
    else:
        lines.append("Log-rank: not defined for these data (R's survdiff refuses them)")
    cols = {k: v for k, v in res.columns.settings().items() if v is not None}
    lines.append(
        f"Conventions: CI {res.conf_type}, ties {res.ties}, variance {res.cluster_rule}; "
        + ", ".join(f"{k} '{v}'" for k, v in cols.items())
    )
    return "\n".join(lines)


def _mcf_at(m, t: float) -> str:
    if m is None:
        return ""
    r = m.at([t]).iloc[0]
    return f"{num(r['mcf'])} ({ci(r['lower'], r['upper'])})"
