"""The model's sampling spread of every published target: how much a target's value varies from
one trial simulated from the calibrated model to the next.

``reproduce --tolerance sampling`` uses it for targets whose value in one dataset comes without
a confidence interval (arm sizes, baseline means and shares, event counts, p-values, the ICER).
``replicates`` trials are simulated with :func:`walkback.simulate.simulate` (seeds
``SPREAD_SEED + i``, far from the small seeds people try), every target is computed as
``reproduce`` computes it, and the spread is the SD on the statistic's scale (chosen per
statistic so that it is about normal; see :mod:`walkback.checks.statistics`).

Results are cached like the calibration (:mod:`walkback.cache`): keyed by the spec, a digest of
the code that computes them and numpy's version, checked by their own digest, and shipped for
the packaged spec.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from walkback.checks.statistics import scale_of
from walkback.spec import TrialSpec

SPREAD_REPLICATES = 200
SPREAD_SEED = 1_000_000
SPREAD_CODE = (
    "estimators",
    "design.py",
    "limits.py",
    "simulate.py",
    "secondary_draws.py",
    "targets.py",
    "safety.py",
    "economics.py",
    "checks/statistics.py",
    "checks/spread.py",
)


def spread_key(spec: TrialSpec, replicates: int, seed: int) -> dict:
    from walkback import __version__
    from walkback.cache import code_digest
    from walkback.calibrate import CALIBRATION_CODE

    return {
        "spec": spec.name,
        "spec_sha256": spec.sha256,
        "code_sha256": code_digest(CALIBRATION_CODE + SPREAD_CODE),
        "numpy": np.__version__,
        "walkback": __version__,
        "replicates": replicates,
        "seed": seed,
    }


def compute_spread(
    spec: TrialSpec,
    replicates: int = SPREAD_REPLICATES,
    seed: int = SPREAD_SEED,
    progress: Callable[[int, int], None] | None = None,
    model=None,
) -> dict:
    """``{"targets": {name: {"scale", "sd", "n"}}, ...}`` from ``replicates`` simulated trials
    (``model`` defaults to the spec's calibrated model)."""
    from walkback.calibrate import calibrate
    from walkback.exceptions import EstimationError
    from walkback.simulate import simulate
    from walkback.targets import arrays_from_frame, target_value

    if model is None:
        model = calibrate(spec).model
    targets = [t for t in spec.targets if not t.derived]
    values: dict[str, list[float]] = {t.name: [] for t in targets}
    for i in range(replicates):
        data = arrays_from_frame(spec, simulate(spec, seed + i, model), "simulated")
        for t in targets:
            try:
                v = target_value(spec, t, data)
            except EstimationError:
                continue
            if v is not None and v.estimate is not None and math.isfinite(v.estimate):
                g = scale_of(t.statistic).forward(float(v.estimate))
                if math.isfinite(g):
                    values[t.name].append(g)
        if progress:
            progress(i + 1, replicates)
    out = {}
    for t in targets:
        g = np.asarray(values[t.name])
        if g.size < 10:
            continue
        out[t.name] = {"scale": scale_of(t.statistic).name, "sd": float(g.std(ddof=1)), "n": g.size}
    return {"targets": out, "replicates": replicates, "seed": seed}


def model_spread(
    spec: TrialSpec,
    replicates: int = SPREAD_REPLICATES,
    seed: int = SPREAD_SEED,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The cached spread of ``spec``'s targets (computed on first use)."""
    from walkback.cache import cached

    return cached(
        "spread",
        spread_key(spec, replicates, seed),
        lambda: compute_spread(spec, replicates, seed, progress),
        what=f"sampling spread of {spec.name}'s targets",
        spec_source=spec.source,
    )
