"""The report site's figures of a trial (KM curves, forest plot, cost-effectiveness) as files.

Drawn from participant-level data (the twin, or a user's dataset) with the spec's labels;
PNG and SVG without timestamps, so the files are deterministic.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from walkback.outputs import atomic_path

FIGURE_FORMATS = ("png", "svg")


def _save(fig, out: Path, name: str) -> list[Path]:
    paths = []
    for ext in FIGURE_FORMATS:
        p = out / f"{name}.{ext}"
        with atomic_path(p) as tmp:  # complete files only
            fig.savefig(
                tmp, format=ext, metadata={"Software": None} if ext == "png" else {"Date": None}
            )
        paths.append(p)
    return paths


def write_figures(spec, frame: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """The trial's figures from participant-level data (the twin, or a user's dataset)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from walkback import plotting as wp
    from walkback.economics import bootstrap
    from walkback.estimators import cox, kaplan_meier
    from walkback.plotting.cost_effectiveness import currency_prefix

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    treated = (frame["arm"] == spec.arm_labels["treatment"]).to_numpy()
    names = (
        {"treatment": "Walking and education", "control": "No treatment"}
        if (spec.name == "WalkBack")
        else {a: spec.arm_labels[a] for a in ("treatment", "control")}
    )
    written: list[Path] = []
    ticks = list(range(0, int(round(spec.max_months * spec.days_per_month)) + 1, 180))

    def km(outcome: str) -> dict:
        t = frame[f"{outcome}_days"].to_numpy(float)
        e = frame[f"{outcome}_event"].to_numpy()
        return {
            names["treatment"]: kaplan_meier(t[treated], e[treated], conf_type=spec.conf_type),
            names["control"]: kaplan_meier(t[~treated], e[~treated], conf_type=spec.conf_type),
        }

    with wp.style():
        primary = spec.primary
        p = wp.km_plot(km(primary.name), times=ticks, title=primary.label.capitalize())
        written += _save(p.ax.figure, out, f"km_{primary.name}")
        plt.close(p.ax.figure)

        others = [o for o in spec.outcomes.values() if o.name != primary.name]
        if others:
            fig, axs = plt.subplots(1, len(others), figsize=(4.1 * len(others), 5.0), squeeze=False)
            # appended table axes are outside constrained layout: leave room by hand
            fig.subplots_adjust(wspace=0.5, left=0.11, right=0.97, top=0.93, bottom=0.04)
            for ax, o in zip(axs[0], others, strict=True):
                wp.km_plot(km(o.name), ax=ax, times=ticks[::2], title=o.label.capitalize())
            written += _save(fig, out, "km_secondary")
            plt.close(fig)

        rows = []
        for o in spec.outcomes.values():
            t = frame[f"{o.name}_days"].to_numpy(float)
            e = frame[f"{o.name}_event"].to_numpy()
            fit = cox(t, e, treated.astype(float), ties=spec.ties)
            lo, hi = fit.conf_int()[0]
            rows.append(
                {
                    "label": o.label.capitalize(),
                    "estimate": fit.hazard_ratio[0],
                    "lower": lo,
                    "upper": hi,
                }
            )
        ax = wp.forest_plot(
            pd.DataFrame(rows),
            favours=(
                f"Favours {names['treatment'].lower()}",
                f"Favours {names['control'].lower()}",
            ),
        )
        written += _save(ax.figure, out, "forest_hazard_ratios")
        plt.close(ax.figure)

        if spec.economics is not None and {"cost_total_aud", "qaly_12m"} <= set(frame.columns):
            ec = spec.economics
            boot = bootstrap(
                frame["cost_total_aud"], frame["qaly_12m"], treated, ec.resamples, ec.seed
            )
            fig, axs = plt.subplots(1, 2, figsize=(7.2, 2.9), layout="constrained")
            cur = currency_prefix(ec.currency)
            wp.ce_plane(boot, axs[0], wtp=ec.wtp, currency=cur)
            wp.ceac_plot(boot, axs[1], mark=ec.wtp, currency=cur)
            written += _save(fig, out, "cost_effectiveness")
            plt.close(fig)
    return written
