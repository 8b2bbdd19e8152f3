"""Write data/synthetic/example_trial.csv: a small, seeded, WalkBack-shaped example trial.

It is an illustration for the README tour and `make reproduce`, not the calibrated synthetic twin:
701 participants, 1:1 by permuted blocks within two strata, Weibull proportional hazards
(shape 0.53, control median 112 days, HR 0.72), staggered recruitment with administrative
censoring between 12 and 36 months, and 10% uniform dropout. Run from the repository root:
    python data/synthetic/make_example.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240613
HERE = Path(__file__).resolve().parent
OUT = HERE / "example_trial.csv"


def main() -> None:
    rng = np.random.default_rng(SEED)
    n = 701
    episodes = rng.random(n) < 0.6
    referral = rng.choice(["health professional", "media", "other"], size=n, p=[0.3, 0.5, 0.2])
    arm = np.empty(n, dtype=object)
    for key in sorted(set(zip(episodes, referral, strict=True))):
        idx = np.flatnonzero((episodes == key[0]) & (referral == key[1]))
        labels: list[str] = []
        while len(labels) < idx.size:
            size = int(rng.choice([4, 6, 8]))
            block = ["intervention"] * (size // 2) + ["control"] * (size // 2)
            labels += list(rng.permutation(block))
        arm[idx] = labels[: idx.size]
    shape, median_control, hr = 0.53, 112.0, 0.72
    scale = median_control / np.log(2) ** (1 / shape)
    treated = arm == "intervention"
    u = rng.random(n)
    event_time = scale * (-np.log(u) / np.where(treated, hr, 1.0)) ** (1 / shape)
    admin = rng.uniform(365, 1095, n)  # staggered entry: 12 to 36 months of follow-up
    dropout = np.where(rng.random(n) < 0.10, rng.uniform(1, 1095, n), np.inf)
    censor = np.minimum(admin, dropout)
    days = np.ceil(np.minimum(event_time, censor)).astype(int)
    event = (event_time <= censor).astype(int)
    frame = pd.DataFrame(
        {
            "participant_id": [f"WB{i:04d}" for i in range(1, n + 1)],
            "arm": arm,
            "episodes_gt2": episodes.astype(int),
            "referral": referral,
            "days": days,
            "event": event,
        }
    )
    frame.to_csv(OUT, index=False, lineterminator="\n")
    meta = {
        "file": OUT.name,
        "generator": "data/synthetic/make_example.py",
        "seed": SEED,
        "numpy_version": np.__version__,
        "rows": n,
        "sha256": hashlib.sha256(OUT.read_bytes()).hexdigest(),
        "note": "illustrative example, not calibrated to the published WalkBack results",
    }
    (HERE / "example_trial.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
