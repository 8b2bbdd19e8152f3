"""Derive, from a real trial's participant data only, the figures its paper would print.

    python tests/specs/real/derive_figures.py [TRIAL ...]     (default: all four)

Reads ``data/<trial>.csv`` (``arm,time,event``, days; written by ``export.R``), computes with
walkback's own estimators (R survival's defaults: Kaplan-Meier with log-transformed 95% CIs, Cox
with Efron ties, the log-rank test), writes ``<trial>_figures.json`` beside this script and prints
the figures as TOML ``[[targets]]`` entries for ``<trial>.toml``.

Figures, rounded as a paper prints them (half away from zero, on the shortest decimal form of the
number, so 52.5 days prints as 53):

* participants and events per arm, events in total;
* Kaplan-Meier median per arm with its 95% CI, in whole days; "NR" where the curve (or a CI
  limit's curve) does not reach 0.5;
* Kaplan-Meier survival per arm at landmark times chosen per trial (``TRIALS`` below, within the
  follow-up and clinically natural for the disease) with 95% CI, to 0.01;
* Cox HR, treatment vs control, with its Wald 95% CI, to 0.01;
* log-rank p to 2 significant figures;
* median follow-up by reverse Kaplan-Meier (censoring as the event), all participants, whole days
  ("NR" where fewer than half are ever censored, as in veteran).

Held out (in the JSON only, never a target): H = the 90th percentile of the observed times (the
window of ``heldout.compare``'s KM gap) and an RMST horizon tau = the 75th percentile of the
observed times rounded down to a multiple of 10 days, with the real RMST per arm.
"""

from __future__ import annotations

import json
import math
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from walkback.estimators import cox, kaplan_meier, logrank

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from heldout import GAP_QUANTILE, followup_quantile  # noqa: E402

SOURCE = "derived from R survival's {data} data by tests/specs/real/derive_figures.py"

#: per trial: arm labels (as in the CSV), the outcome's name and wording, the R data set, the
#: landmark days (why these: in the comment) and the outcome's survival wording.
TRIALS: dict[str, dict] = {
    # advanced lung cancer, median survival ~3-4 months: 3, 6 and 12 months
    "veteran": {
        "control": "standard",
        "treatment": "test",
        "outcome": "death",
        "data": "veteran",
        "landmarks": [90, 180, 365],
        "median_label": "Median survival",
        "survival_label": "Survival",
    },
    # AML, median follow-up ~4.8 years, curves flat after ~3 years: 1, 2 and 4 years
    "myeloid": {
        "control": "A",
        "treatment": "B",
        "outcome": "death",
        "data": "myeloid",
        "landmarks": [365, 730, 1461],
        "median_label": "Median survival",
        "survival_label": "Survival",
    },
    # 24-week trial (169 days of follow-up): free of exacerbation at 8, 16 and 24 weeks
    "rhDNase": {
        "control": "placebo",
        "treatment": "rhDNase",
        "outcome": "exacerbation",
        "data": "rhDNase",
        "landmarks": [56, 112, 168],
        "median_label": "Median time to first exacerbation",
        "survival_label": "Free of exacerbation",
    },
    # superficial bladder cancer, follow-up up to ~5 years (median ~34 months): 1, 2 and 3 years
    # (times are months x 30.4375 rounded, so 12 months = day 365)
    "bladder": {
        "control": "placebo",
        "treatment": "thiotepa",
        "outcome": "recurrence",
        "data": "bladder",
        "landmarks": [365, 730, 1095],
        "median_label": "Median time to first recurrence",
        "survival_label": "Free of recurrence",
    },
}

ROLES = ("control", "treatment")
KEY_ORDER = (
    "name",
    "label",
    "statistic",
    "outcome",
    "arm",
    "time",
    "value",
    "ci",
    "precision",
    "unit",
    "source",
    "confidence",
)


def printed(x: float, precision: float) -> float | int | str:
    """``x`` as printed at ``precision`` (half away from zero); "NR" for NaN (not reached)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NR"
    unit = Decimal(str(int(precision))) if precision >= 1 else Decimal(repr(float(precision)))
    q = Decimal(repr(float(x))).quantize(unit, rounding=ROUND_HALF_UP)
    return int(q) if precision >= 1 else float(q)


MONTH = 365.25 / 12  # days


def p_precision(p: float) -> float:
    """A p-value's printed precision, as journals print them: two decimals, three below 0.01,
    four below 0.001 (p = 0.22, p = 0.005, p = 0.0004)."""
    return 0.01 if p >= 0.01 else 0.001 if p >= 0.001 else 0.0001


def _raw(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def load(trial: str) -> pd.DataFrame:
    path = HERE / "data" / f"{trial}.csv"
    frame = pd.read_csv(path)
    if list(frame.columns) != ["arm", "time", "event"]:
        raise ValueError(f"{path}: columns must be arm,time,event, got {list(frame.columns)}")
    return frame


def derive(trial: str, cfg: dict | None = None, frame: pd.DataFrame | None = None) -> dict:
    """The trial's figures (raw and printed), its targets and its held-out quantities (``cfg``
    and ``frame`` in place of ``TRIALS[trial]`` and ``data/<trial>.csv``: the check set's)."""
    cfg = TRIALS[trial] if cfg is None else cfg
    d = load(trial) if frame is None else frame
    out = cfg["outcome"]
    src = SOURCE.format(data=cfg["data"])
    arm_of = {r: cfg[r] for r in ROLES}
    unknown = sorted(set(d["arm"]) - set(arm_of.values()))
    if unknown:
        raise ValueError(f"{trial}: unexpected arm labels {unknown}")
    km = {r: kaplan_meier(d.time[d.arm == arm_of[r]], d.event[d.arm == arm_of[r]]) for r in ROLES}
    treated = (d.arm == arm_of["treatment"]).to_numpy().astype(float)
    fit = cox(d.time, d.event, treated, ties="efron")
    lr = logrank(d.time, d.event, treated.astype(int))
    fu = kaplan_meier(d.time, 1 - d.event).median
    hr, (hr_lo, hr_hi) = float(fit.hazard_ratio[0]), fit.conf_int()[0]

    targets: list[dict] = []

    def add(
        name, label, statistic, value, precision, *, arm=None, time=None, ci=None, outcome=out,
        unit=None,
    ):  # fmt: skip
        t = {"name": name, "label": label, "statistic": statistic}
        if outcome is not None:
            t["outcome"] = outcome
        if arm is not None:
            t["arm"] = arm
        if time is not None:
            t["time"] = time
        t["value"] = printed(value, precision)
        if ci is not None:
            t["ci"] = [printed(c, precision) for c in ci]
        t.update(precision=precision, source=src, confidence="high")
        if unit is not None:
            t["unit"] = unit
        targets.append(t)

    for r in ROLES:
        add(f"n_{r}", f"Randomised to {arm_of[r]}", "count", km[r].n, 1, arm=r, outcome=None)
    for r in ROLES:
        add(
            f"events_{r}",
            f"Participants with {out}, {arm_of[r]}",
            "events",
            km[r].n_events,
            1,
            arm=r,
        )
    add(f"events_{out}", f"Participants with {out}, total", "events", int(d.event.sum()), 1)
    for r in ROLES:
        m = km[r].median
        add(
            f"median_{r}",
            f"{cfg['median_label']}, {arm_of[r]} (days)",
            "km_median",
            m.estimate,
            1,
            arm=r,
            ci=(m.lower, m.upper),
        )
    for day in cfg["landmarks"]:
        for r in ROLES:
            s = km[r].survival_at([day]).iloc[0]
            add(
                f"surv{day}_{r}",
                f"{cfg['survival_label']} at {day} days, {arm_of[r]}",
                "km_survival",
                s.survival,
                0.01,
                arm=r,
                time=day,
                ci=(s.lower, s.upper),
            )
    add(
        "hr",
        f"Hazard ratio, {arm_of['treatment']} vs {arm_of['control']} (Cox)",
        "cox_hr",
        hr,
        0.01,
        ci=(hr_lo, hr_hi),
    )
    add("logrank_p", "Log-rank p", "logrank_p", lr.p, p_precision(lr.p))
    if math.isfinite(fu.estimate):  # when nearly everyone had the event, papers print none
        add(
            "median_followup",
            "Median follow-up, reverse Kaplan-Meier (months)",
            "median_followup",
            fu.estimate / MONTH,  # papers print median follow-up in whole months
            1,
            outcome=None,
            unit="months",
        )

    horizon = followup_quantile(d.time, GAP_QUANTILE)
    tau = 10 * math.floor(followup_quantile(d.time, 0.75) / 10)
    used = {t.get("time") for t in targets}
    if tau in used:
        raise ValueError(f"{trial}: the RMST tau {tau} is also a landmark target; choose another")

    def _landmark(r: str, day: int) -> dict:
        row = km[r].survival_at([day]).iloc[0]
        return {k: _raw(row[k]) for k in ("survival", "lower", "upper")}

    raw = {
        "n": {r: km[r].n for r in ROLES},
        "events": {r: km[r].n_events for r in ROLES},
        "median": {r: km[r].median.to_dict() for r in ROLES},
        "survival_at": {
            str(day): {r: _landmark(r, day) for r in ROLES} for day in cfg["landmarks"]
        },
        "cox_hr": {"estimate": hr, "lower": float(hr_lo), "upper": float(hr_hi)},
        "logrank_p": lr.p,
        "median_followup": fu.to_dict(),
    }
    return {
        "trial": trial,
        "outcome": out,
        "arms": arm_of,
        "time_unit": "days",
        "conventions": {
            "km_conf_type": "log",
            "conf_level": 0.95,
            "ties": "efron",
            "rounding": "half away from zero at the printed precision",
            "median_followup": "reverse Kaplan-Meier, all participants",
        },
        "raw": raw,
        "targets": targets,
        "heldout": {
            "followup_p90": horizon,
            "rmst_tau": tau,
            "rmst_tau_rule": "75th percentile of the observed times, rounded down to 10 days",
            "rmst_real": {r: km[r].rmst(tau).estimate for r in ROLES},
            "rmst_real_se": {r: km[r].rmst(tau).se for r in ROLES},
        },
    }


def _toml_value(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def toml_targets(targets: list[dict]) -> str:
    """The targets as TOML ``[[targets]]`` tables, keys in the spec's order."""
    blocks = []
    for t in targets:
        lines = ["[[targets]]"]
        lines += [f"{k} = {_toml_value(t[k])}" for k in KEY_ORDER if k in t]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def dumps(figures: dict) -> str:
    return json.dumps(figures, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    trials = (sys.argv[1:] if argv is None else argv) or list(TRIALS)
    bad = [t for t in trials if t not in TRIALS]
    if bad:
        print(
            f"derive_figures: unknown trial {bad[0]!r}; choose from {', '.join(TRIALS)}",
            file=sys.stderr,
        )
        return 2
    for trial in trials:
        fig = derive(trial)
        (HERE / f"{trial}_figures.json").write_text(dumps(fig))
        print(f"# ---- {trial}: targets derived by tests/specs/real/derive_figures.py ----\n")
        print(toml_targets(fig["targets"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
