"""Safety and count outcomes: adverse-event proportions and event-rate ratios between arms.

* Proportions with at least one adverse event: per-arm shares, the risk difference (treatment
  minus control) with Newcombe's hybrid-score CI (method 10, from Wilson intervals), and Fisher's
  exact test (two-sided, as R's ``fisher.test``), as the WalkBack SAP specifies.
* Counts (events per participant, visits, days off work): rate ratio treatment/control from a
  negative-binomial regression (statsmodels, NB2, dispersion by maximum likelihood) or a Poisson
  GLM, with a Wald CI on the log scale.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class ProportionComparison:
    n_treatment: int
    n_control: int
    events_treatment: int
    events_control: int
    share_treatment: float
    share_control: float
    risk_difference: float
    lower: float
    upper: float
    fisher_p: float
    odds_ratio: float
    conf_level: float
    ci_method: str = "Newcombe hybrid score (Wilson)"

    def to_dict(self) -> dict:
        return asdict(self)


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def compare_proportions(flag, treated, conf_level: float = 0.95) -> ProportionComparison:
    """Compare the share of participants with ``flag`` = 1 between arms."""
    from scipy import stats

    f = np.asarray(flag, dtype=float)
    t = np.asarray(treated).astype(bool)
    if f.shape != t.shape or f.ndim != 1:
        raise ValueError("flag and treated must be 1-D arrays of equal length")
    if not np.isin(f, (0, 1)).all():
        raise ValueError("the flag must be 0/1")
    f = f.astype(int)
    nt, nc = int(t.sum()), int((~t).sum())
    if nt == 0 or nc == 0:
        raise ValueError("both arms need participants")
    xt, xc = int(f[t].sum()), int(f[~t].sum())
    pt, pc = xt / nt, xc / nc
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    lt, ut = _wilson(xt, nt, z)
    lc, uc = _wilson(xc, nc, z)
    rd = pt - pc
    lower = rd - math.sqrt((pt - lt) ** 2 + (uc - pc) ** 2)
    upper = rd + math.sqrt((ut - pt) ** 2 + (pc - lc) ** 2)
    odds, p = stats.fisher_exact([[xt, nt - xt], [xc, nc - xc]], alternative="two-sided")
    return ProportionComparison(
        nt, nc, xt, xc, pt, pc, rd, lower, upper, float(p), float(odds), conf_level
    )


@dataclass(frozen=True)
class RateRatio:
    total_treatment: float
    total_control: float
    mean_treatment: float
    mean_control: float
    ratio: float
    lower: float
    upper: float
    p: float
    model: str
    dispersion: float | None  # NB2 alpha: variance = mean + alpha * mean^2 (alpha = 1 / size)
    conf_level: float

    def to_dict(self) -> dict:
        return asdict(self)


def rate_ratio(
    counts,
    treated,
    model: Literal["negative_binomial", "poisson"] = "negative_binomial",
    conf_level: float = 0.95,
) -> RateRatio:
    """Rate ratio (treatment / control) of per-participant counts, with a Wald CI."""
    import statsmodels.api as sm
    from scipy import stats

    y = np.asarray(counts, dtype=float)
    t = np.asarray(treated).astype(bool)
    if (y < 0).any() or not np.all(np.isfinite(y)) or not np.allclose(y, np.round(y)):
        raise ValueError("counts must be whole numbers >= 0")
    if t.all() or not t.any():
        raise ValueError("both arms need participants")
    if y[t].sum() == 0 or y[~t].sum() == 0:
        # no events in an arm: the ratio is 0 or infinite and has no Wald CI; report the counts
        ratio = 0.0 if y[t].sum() == 0 and y[~t].sum() > 0 else float("nan")
        return RateRatio(
            float(y[t].sum()),
            float(y[~t].sum()),
            float(y[t].mean()),
            float(y[~t].mean()),
            ratio if y[~t].sum() > 0 else float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            f"{model} (not estimable: no events in an arm)",
            None,
            conf_level,
        )
    x = sm.add_constant(t.astype(float))
    if model == "poisson":
        fit = sm.GLM(y, x, family=sm.families.Poisson()).fit()
        b, se, disp = fit.params[1], fit.bse[1], None
    elif model == "negative_binomial":
        import warnings

        with warnings.catch_warnings():  # judged below: a failed fit falls back to Poisson
            warnings.simplefilter("ignore")
            fit = sm.NegativeBinomial(y, x, loglike_method="nb2").fit(disp=0, maxiter=200)
        b, se, disp = fit.params[1], fit.bse[1], float(fit.params[-1])
        if not (np.isfinite(b) and np.isfinite(se) and se > 0):
            # no overdispersion to estimate (e.g. tiny data): the NB fit degenerates to Poisson
            fit = sm.GLM(y, x, family=sm.families.Poisson()).fit()
            b, se, disp = fit.params[1], fit.bse[1], 0.0
            model = "negative_binomial (dispersion not estimable: Poisson fit)"
    else:
        raise ValueError(f"model must be 'negative_binomial' or 'poisson', got {model!r}")
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    return RateRatio(
        float(y[t].sum()),
        float(y[~t].sum()),
        float(y[t].mean()),
        float(y[~t].mean()),
        float(np.exp(b)),
        float(np.exp(b - z * se)),
        float(np.exp(b + z * se)),
        float(2 * stats.norm.sf(abs(b / se))),
        model,
        disp,
        conf_level,
    )
