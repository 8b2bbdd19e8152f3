"""Round-trip accuracy of `walkback.reconstruct` (Guyot et al. 2012) over many digitised figures.

Each round trip takes participant-level data, draws its Kaplan-Meier figure, digitises it as a
person with a digitiser would (`walkback.reconstruct.mock_digitise`: both corners of every step,
noise SD 0.2% of the time range and 0.002 in survival, 10% of corners missed, an exact at-risk
table at regular times), reconstructs the data and compares them with the original:

* |log HR error|: Cox log hazard ratio (Efron ties), reconstruction minus original;
* landmark survival error: the largest |S_rec(t) - S(t)| over both arms and three landmarks
  (1, 2 and 3 years for trials in days; 3, 6 and 12 months for veteran; 6, 12 and 18 months
  for lung;
  6, 12 and 24 months for the simulations);
* median error: the largest |median_rec - median| / median over the arms;
* rows exact, numbers at risk exact: the reconstruction has the published numbers.

Data: 200 seeded simulations of the WalkBack trial (`walkback.simulate`, calibrated model) and
six real trials shipped with R survival (tests/reference/inputs) with 20 digitising seeds each.
The same round trips run with the alternative monotone fit (running minimum) for comparison.
Run from the repository root (about 30 s):
    .venv/bin/python benchmarks/bench_reconstruct.py [--sims 200] [--seeds 20]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from walkback.calibrate import calibrate
from walkback.estimators import cox, kaplan_meier
from walkback.io import read_trial
from walkback.reconstruct import mock_digitise, reconstruct
from walkback.simulate import simulate
from walkback.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"
YEARS = (365.0, 730.0, 1095.0)
REAL = {
    "colon": YEARS,
    "gbsg": YEARS,
    "myeloid": YEARS,
    "pbc": YEARS,
    "lung": (182.5, 365.0, 547.5),
    "veteran": (91.25, 182.5, 365.0),
}
SIM_LANDMARKS = (182.5, 365.0, 730.0)


def real_trial(name: str) -> tuple[pd.DataFrame, str]:
    case = next(c for c in json.loads((REF / "cases.json").read_text()) if c["id"] == name)
    trial = read_trial(
        REF / case["file"],
        time_col=case["time_col"],
        event_col=case["event_col"],
        arm_col=case["arm_col"],
        treatment=case["treatment"],
        control=case["control"],
    )
    arm = np.where(trial.treated, trial.treatment, trial.control)
    return pd.DataFrame({"arm": arm, "time": trial.time, "event": trial.event}), trial.treatment


def log_hr(ipd: pd.DataFrame, treatment: str) -> float:
    x = (ipd["arm"] == treatment).to_numpy(dtype=float)
    return float(cox(ipd["time"].to_numpy(), ipd["event"].to_numpy(), x).coef[0])


def round_trip(ipd, treatment, landmarks, seed, monotone) -> dict:
    curve, at_risk = mock_digitise(ipd, rng=np.random.default_rng(seed))
    t0 = time.perf_counter()
    res = reconstruct(curve, at_risk, monotone=monotone)
    seconds = time.perf_counter() - t0
    rec = res.ipd
    surv, med, rows = 0.0, 0.0, True
    for arm in ipd["arm"].unique():
        fits = []
        for data in (ipd, rec):
            m = (data["arm"] == arm).to_numpy()
            fits.append(kaplan_meier(data["time"].to_numpy()[m], data["event"].to_numpy()[m]))
        a, b = fits
        sa, sb = a.survival_at(landmarks).survival, b.survival_at(landmarks).survival
        surv = max(surv, float(np.max(np.abs(sa - sb))))
        if np.isfinite(a.median.estimate):
            med = max(med, abs(b.median.estimate - a.median.estimate) / a.median.estimate)
        rows = rows and a.n == b.n
    iv = res.intervals
    return {
        "log_hr": abs(log_hr(rec, treatment) - log_hr(ipd, treatment)),
        "surv": surv,
        "median": med,
        "rows": rows,
        "at_risk": bool((iv.n_at_risk_published == iv.n_at_risk_reconstructed).all()),
        "seconds": seconds,
    }


def describe(rows: list[dict], label: str) -> str:
    d = pd.DataFrame(rows)

    def q(col: str, scale: float = 1.0) -> str:
        v = d[col].to_numpy() * scale
        return f"{np.median(v):8.4f}{np.quantile(v, 0.95):8.4f}{np.max(v):8.4f}"

    return (
        f"{label:<22} {len(d):>4}  {q('log_hr')}  {q('surv')}  {q('median', 100)}  "
        f"{d['rows'].mean():>5.0%} {d['at_risk'].mean():>7.0%}"
    )


HEADER = (
    f"{'data':<22} {'runs':>4}  {'|log HR error|':^24}  {'landmark S error':^24}  "
    f"{'median error (%)':^24}  {'rows':>5} {'at-risk':>7}\n"
    f"{'':<22} {'':>4}  {'median     p95   worst':>24}  {'median     p95   worst':>24}  "
    f"{'median     p95   worst':>24}  {'exact':>5} {'exact':>7}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200, help="simulated trials (default 200)")
    parser.add_argument("--seeds", type=int, default=20, help="digitising seeds per real trial")
    args = parser.parse_args()
    start = time.perf_counter()
    spec = load_spec("walkback")
    model = calibrate(spec).model
    sims = []
    for i in range(args.sims):
        f = simulate(spec, 10_000 + i, model)
        ipd = pd.DataFrame(
            {
                "arm": f["arm"].astype(str),
                "time": f["activity_limiting_days"].astype(float),
                "event": f["activity_limiting_event"].astype(int),
            }
        )
        sims.append(ipd)
    real = {name: real_trial(name) for name in REAL}

    results: dict[str, dict[str, list[dict]]] = {}
    for monotone in ("isotonic", "running-min"):
        out: dict[str, list[dict]] = {}
        out["walkback simulations"] = [
            round_trip(ipd, "intervention", SIM_LANDMARKS, 20_000 + i, monotone)
            for i, ipd in enumerate(sims)
        ]
        for name, landmarks in REAL.items():
            ipd, treatment = real[name]
            out[f"{name} (n={len(ipd)})"] = [
                round_trip(ipd, treatment, landmarks, seed, monotone) for seed in range(args.seeds)
            ]
        results[monotone] = out

    for monotone, out in results.items():
        default = " (default)" if monotone == "isotonic" else " (alternative)"
        print(f"\nmonotone fit: {monotone}{default}")
        print(HEADER)
        for label, rows in out.items():
            print(describe(rows, label))
        everything = [r for rows in out.values() for r in rows]
        real_rows = [r for k, rows in out.items() if not k.startswith("walkback") for r in rows]
        print(describe(everything, "all"))
        print(describe(real_rows, "all real trials"))

    out = results["isotonic"]
    everything = pd.DataFrame([r for rows in out.values() for r in rows])
    sims_only = pd.DataFrame(out["walkback simulations"])
    real_only = pd.DataFrame(
        [r for k, rows in out.items() if not k.startswith("walkback") for r in rows]
    )
    within = (everything["log_hr"] <= 0.03) & (everything["surv"] <= 0.02)
    elapsed = time.perf_counter() - start
    print(
        f"\nreconstruct() time: median {1e3 * everything['seconds'].median():.1f} ms per "
        f"figure; whole benchmark {elapsed:.1f} s"
    )
    print(
        "\nclosing note: over {n} round trips ({s} simulated WalkBack trials, {r} digitisings of "
        "6 R survival trials), |log HR error| median {hm:.4f}, worst {hw:.4f} (simulations "
        "worst {hs:.4f}); landmark survival error median {sm:.4f}, worst {sw:.4f}; median error "
        "median {mm:.1f}%, worst {mw:.1f}%; rows and numbers at risk exact in {rows:.0%}; "
        "within |log HR| <= 0.03 and survival <= 0.02 in {w:.1%}.".format(
            n=len(everything),
            s=len(sims_only),
            r=len(real_only),
            hm=everything["log_hr"].median(),
            hw=everything["log_hr"].max(),
            hs=sims_only["log_hr"].max(),
            sm=everything["surv"].median(),
            sw=everything["surv"].max(),
            mm=100 * everything["median"].median(),
            mw=100 * everything["median"].max(),
            rows=(everything["rows"] & everything["at_risk"]).mean(),
            w=within.mean(),
        )
    )


if __name__ == "__main__":
    main()
