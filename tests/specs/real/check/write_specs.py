"""The check set: more R survival trials, each with a spec written by one fixed recipe.

    python tests/specs/real/check/write_specs.py [TRIAL ...]     (default: all)

The development set (``tests/specs/real/*.toml``) has designs reasoned per trial. These trials
were not looked at while the twin was built; their specs are written mechanically, the way a
hurried user would, so they test the twin on trials and designs it was not tuned for:

* data: R survival's exports in ``tests/reference/inputs`` (written by ``reference.R``), two arms,
  times in whole days (aml's weeks x 7), positive times only, status 1 = event (pbc's transplants,
  status 1 in R, are censored there already: the export codes death as 1);
* figures: ``derive_figures.derive`` (counts, events, medians with CI or NR, landmark survival with
  CI, Cox HR with CI, log-rank p, reverse-KM median follow-up), landmarks at 1, 2, 3 years when
  the 90th percentile of the times exceeds 4 years, else 6 months, 1 and 2 years;
* design: simple randomisation at the published ratio; uniform recruitment over R months and a
  common final date, with R solved from the printed median follow-up m, the longest follow-up
  T (months) and a dropout of 5% a year: (T - m) / R x exp(-0.05 m / 12) = 1/2; daily records;
* outcome: the model named in ``CHECK`` with every parameter left free.

Writes ``data/<trial>.csv``, ``<trial>_figures.json`` and ``<trial>.toml`` beside this script.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(HERE.parent))
import derive_figures  # noqa: E402

INPUTS = ROOT / "tests" / "reference" / "inputs"
MONTH = 365.25 / 12
DROPOUT = 0.05

#: trial -> input file, columns, control and treatment labels, days per time unit, outcome model
CHECK: dict[str, dict] = {
    "ovarian": dict(t="futime", e="fustat", a="rx", c="1", tr="2", days=1, model="weibull_ph"),
    "pbc": dict(t="time", e="status", a="trt", c="2", tr="1", days=1, model="weibull_ph"),
    "gbsg": dict(
        t="rfstime", e="status", a="hormon", c="0", tr="1", days=1, model="piecewise_exponential"
    ),
    "colon": dict(
        t="time", e="status", a="rx", c="Obs", tr="Lev+5FU", days=1, model="piecewise_exponential"
    ),
}


def trial_data(trial: str) -> pd.DataFrame:
    """``arm,time,event`` (arm "control"/"treatment", whole days > 0) from the R export."""
    cfg = CHECK[trial]
    raw = pd.read_csv(INPUTS / f"{trial}.csv", dtype=str)
    raw = raw[raw[cfg["a"]].isin([cfg["c"], cfg["tr"]])]
    d = pd.DataFrame(
        {
            "arm": raw[cfg["a"]].map({cfg["c"]: "control", cfg["tr"]: "treatment"}),
            "time": np.rint(raw[cfg["t"]].astype(float) * cfg["days"]).astype(int),
            "event": (raw[cfg["e"]].astype(float) == 1).astype(int),
        }
    )
    return d[d.time > 0].reset_index(drop=True)


def landmarks(d: pd.DataFrame) -> list[int]:
    return [365, 730, 1095] if np.quantile(d.time, 0.9) > 4 * 365 else [182, 365, 730]


def recruitment_months(longest: float, median_fu: float) -> float:
    """R with (T - m) / R x exp(-d m / 12) = 1/2 (uniform recruitment, common final date)."""
    shrink = math.exp(-DROPOUT * median_fu / 12)
    r = 2 * (longest - median_fu) * shrink
    return float(min(max(r, 1.0), longest - 1.0))


def spec_text(trial: str, d: pd.DataFrame, fig: dict) -> str:
    cfg = CHECK[trial]
    n_t, n_c = int((d.arm == "treatment").sum()), int((d.arm == "control").sum())
    g = math.gcd(n_t, n_c)
    longest = math.ceil(d.time.max() / MONTH) + 1
    fu = [t for t in fig["targets"] if t["statistic"] == "median_followup"]
    median_fu = fu[0]["value"] if fu else 0.6 * longest
    r = recruitment_months(longest, median_fu)
    start = dt.date(2000, 1, 1)
    end = start + dt.timedelta(days=round(r * MONTH))
    final = end + dt.timedelta(days=round((longest - r) * MONTH))
    breaks = ""
    if cfg["model"] == "piecewise_exponential":
        breaks = f"breaks = [0, {', '.join(str(x) for x in fig['landmarks'])}]\n"
    return f"""# Written by check/write_specs.py (a fixed recipe: its docstring). Do not edit.
[trial]
name = "{trial}"
title = "R survival {trial}: treatment vs control"
citation = "R survival: {trial}"

[arms.treatment]
label = "treatment"
n = {{ target = "n_treatment" }}

[arms.control]
label = "control"
n = {{ target = "n_control" }}

[randomisation]
method = "simple"
ratio = [{n_t // g}, {n_c // g}]

[recruitment]
start = {start}
end = {end}

[followup]
final_date = {final}
min_months = {max(1, math.floor(longest - r))}
max_months = {longest}
report_every_months = 0

[dropout]
annual_rate = {DROPOUT}

[outcomes.event]
label = "event"
primary = true
model = "{cfg["model"]}"
{breaks}
[analysis]
conf_type = "log"
ties = "efron"
alpha = 0.05
strata = []

[twin]
seed = 7
max_attempts = 4000

{derive_figures.toml_targets(fig["targets"])}"""


def write(trial: str) -> None:
    d = trial_data(trial)
    cfg = {
        "control": "control",
        "treatment": "treatment",
        "outcome": "event",
        "data": trial,
        "landmarks": landmarks(d),
        "median_label": "Median time to event",
        "survival_label": "Event-free",
    }
    fig = derive_figures.derive(trial, cfg, d)
    fig["landmarks"] = cfg["landmarks"]
    d.to_csv(HERE / "data" / f"{trial}.csv", index=False)
    (HERE / f"{trial}_figures.json").write_text(json.dumps(fig, indent=2, sort_keys=True) + "\n")
    (HERE / f"{trial}.toml").write_text(spec_text(trial, d, fig))
    print(f"wrote {trial}: {len(d)} participants, landmarks {cfg['landmarks']}")


def main(argv: list[str] | None = None) -> int:
    trials = (sys.argv[1:] if argv is None else argv) or list(CHECK)
    bad = [t for t in trials if t not in CHECK]
    if bad:
        print(
            f"write_specs: unknown trial {bad[0]!r}; choose from {', '.join(CHECK)}",
            file=sys.stderr,
        )
        return 2
    for t in trials:
        write(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
