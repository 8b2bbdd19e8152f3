"""Write curve.csv and at_risk.csv: a digitised Kaplan-Meier figure of a simulated WalkBack trial.

The trial is one draw of walkback's calibrated WalkBack model (``walkback.simulate``, spec
"walkback", seed SIM_SEED): the primary outcome, days to an activity-limiting recurrence, in the
intervention and control arms. Its Kaplan-Meier curves are "digitised" as a person with a digitiser
would (``walkback.reconstruct.mock_digitise``, seed DIGITISE_SEED): the two corners of every step,
noise of 0.2% of the time range and 0.002 in survival, 10% of the corners missed, survival in
percent as many figures print it; the at-risk table is exact, every 100 days. README.md records
the seeds, versions and sha256 of both files. Run from the repository root:
    .venv/bin/python data/synthetic/km_example/make_km_example.py
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

import walkback
from walkback.reconstruct import mock_digitise
from walkback.simulate import simulate
from walkback.spec import load_spec

SIM_SEED = 2024
DIGITISE_SEED = 6
HERE = Path(__file__).resolve().parent
FILES = ("curve.csv", "at_risk.csv")


def main(out: Path = HERE) -> None:
    """Write curve.csv, at_risk.csv and README.md to ``out`` (default: this folder)."""
    from walkback.estimators import cox, kaplan_meier

    out.mkdir(parents=True, exist_ok=True)
    trial = simulate(load_spec("walkback"), SIM_SEED)
    ipd = pd.DataFrame(
        {
            "arm": trial["arm"].astype(str),
            "time": trial["activity_limiting_days"].astype(float),
            "event": trial["activity_limiting_event"].astype(int),
        }
    )
    curve, at_risk = mock_digitise(
        ipd,
        rng=np.random.default_rng(DIGITISE_SEED),
        at_risk_times=np.arange(0, 1001, 100),
        percent=True,
    )
    curve["time"] = curve["time"].round(2)
    curve["survival"] = curve["survival"].round(2)
    curve.to_csv(out / "curve.csv", index=False, lineterminator="\n")
    at_risk["time"] = at_risk["time"].astype(int)
    at_risk.to_csv(out / "at_risk.csv", index=False, lineterminator="\n")
    sha = {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in FILES}
    events = ipd.groupby("arm", sort=False)["event"].sum()
    counts = ipd.groupby("arm", sort=False).size()
    treated = (ipd["arm"] == "intervention").to_numpy(dtype=float)
    fit = cox(ipd["time"].to_numpy(), ipd["event"].to_numpy(), treated)
    medians = {
        a: kaplan_meier(g["time"].to_numpy(), g["event"].to_numpy()).median.estimate
        for a, g in ipd.groupby("arm")
    }
    (out / "README.md").write_text(
        README.format(
            sim_seed=SIM_SEED,
            digitise_seed=DIGITISE_SEED,
            numpy=np.__version__,
            pandas=pd.__version__,
            walkback=walkback.__version__,
            curve_rows=len(curve),
            risk_rows=len(at_risk),
            n_i=counts["intervention"],
            n_c=counts["control"],
            d_i=events["intervention"],
            d_c=events["control"],
            hr=float(fit.hazard_ratio[0]),
            med_i=medians["intervention"],
            med_c=medians["control"],
            sha_curve=sha["curve.csv"],
            sha_risk=sha["at_risk.csv"],
        )
    )


README = """\
# A digitised Kaplan-Meier figure of a simulated WalkBack-like trial

Inputs for `walkback reconstruct` (and the reconstruction notebook): what a reader would type in
from a trial report's Kaplan-Meier figure, here made from a simulated trial so the truth is known.

| file | columns | rows | what |
|---|---|---|---|
| `curve.csv` | `arm,time,survival` | {curve_rows} | digitised points; days, survival in % |
| `at_risk.csv` | `arm,time,n_at_risk` | {risk_rows} | at-risk table, every 100 days to 1000 |

The trial: `walkback.simulate.simulate(load_spec("walkback"), seed={sim_seed})`, the calibrated
WalkBack model, outcome days to an activity-limiting recurrence (`activity_limiting_days`,
`activity_limiting_event`); intervention {n_i} participants ({d_i} events), control {n_c}
({d_c} events); Cox hazard ratio (Efron ties) {hr:.4f}, Kaplan-Meier medians {med_i:g} and
{med_c:g} days. A reconstruction should come close to these.

The figure: `walkback.reconstruct.mock_digitise` with `rng=default_rng({digitise_seed})`, at-risk
times 0, 100, ..., 1000 and `percent=True`: both corners of every step with Gaussian noise (SD
0.2% of the time range and 0.002 in survival), 10% of corners missed; times rounded to 0.01 day
and survival to 0.01 percentage points, as a digitiser exports them.

```sh
walkback reconstruct --curve data/synthetic/km_example/curve.csv \\
    --at-risk data/synthetic/km_example/at_risk.csv --out ipd.csv --report recon
walkback analyze ipd.csv --time-col time --event-col event --arm-col arm \\
    --treatment intervention --control control
```

| metadata | value |
|---|---|
| generator | `data/synthetic/km_example/make_km_example.py` |
| spec | `walkback` (packaged), simulation seed {sim_seed} |
| digitising seed | {digitise_seed} |
| walkback version | {walkback} |
| numpy version | {numpy} |
| pandas version | {pandas} |
| sha256 `curve.csv` | `{sha_curve}` |
| sha256 `at_risk.csv` | `{sha_risk}` |
"""


if __name__ == "__main__":
    main()
