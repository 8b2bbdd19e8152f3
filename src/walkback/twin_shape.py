"""Shaping a twin's drawn outcome so its Kaplan-Meier read-outs land on the published figures.

Two deterministic moves, both gentle and both documented in the twin's metadata:

* **event counts** (:func:`hit_events`): when an arm's (or the trial's) published number of
  events differs from the draw's, as few participants as needed get their latent time redrawn from
  the model *conditionally* on the other side of their follow-up day (an event becomes a censoring
  or the reverse), which is a draw from the model's own conditional law;
* **curve read-outs** (:func:`warp_curves`): per arm, a monotone piecewise-linear map of event days
  (slopes within [1/1.5, 1.5], identity beyond twice the largest knot) through knots that move the
  curve's current read-outs to the published ones: each median and its CI limits, and each
  landmark survival (the gap between the two events that straddle the published value is put on
  the landmark day). The map is re-derived until the read-outs are exact; censoring days follow
  the follow-up rule and are never moved. When the outcome has published event counts, only event
  days move and they stay within each participant's follow-up, so the counts are kept.
"""

from __future__ import annotations

import math

import numpy as np

from walkback.draws import _ceil_days
from walkback.estimators import kaplan_meier
from walkback.spec import NOT_REACHED, Target, TrialSpec
from walkback.twin_landmarks import fix_landmark_cis, nudge_landmarks

MAX_SLOPE = 1.5
#: outcomes shaped to landmarks and event counts are drawn from a curve through the published
#: read-outs, so their warps only correct one sample's steps: a stretch may be steep (a long gap
#: between two events, as small trials' flat stretches are), a compression at most 3-fold (so
#: no pile-ups of identical days)
MAX_STRETCH_SHAPED, MAX_COMPRESSION_SHAPED = 30.0, 3.0
NEVER = np.iinfo(np.int64).max // 4


class ReadoutCurve:
    """The calibrated model bent through the published read-outs of each arm.

    With ``H`` the model's cumulative hazard, the curve's is ``phi(H(t))``: ``phi`` is piecewise
    linear through the points (H(t_j), -log s_j) of the arm's published landmarks (t_j, s_j),
    median (m, 0.5) and numbers at risk (over those still followed), with slope 1 beyond the last
    (so the model's shape, cure plateau included, holds between and after them). The twin draws a
    shaped outcome's event days from it, so its Kaplan-Meier curves start close to the published
    ones and the warps that follow stay gentle.
    At a median the curve sits half a step (of the participants expected at risk there, from the
    follow-up days ``fu``) under 0.5, so that a sample's curve has crossed 0.5 by then more often
    than not (the warp then puts the crossing on the published day).
    """

    def __init__(self, dist, tg: list[Target], fu=None, treated=None, spec=None) -> None:
        self.dist = dist
        self.knots = {}
        for arm_flag in (True, False):
            arm = "treatment" if arm_flag else "control"

            def level(m: float, arm_flag: bool = arm_flag) -> float:
                if fu is None:
                    return 0.5
                at_risk = 0.5 * np.sum((fu >= m) & (treated == arm_flag))
                return 0.5 - 0.5 / max(at_risk, 10.0)

            pts = sorted(
                [(t.time, t.value) for t in tg if t.arm == arm and t.statistic == "km_survival"]
                + [
                    (t.value, level(t.value))
                    for t in tg
                    if t.arm == arm and t.statistic == "km_median" and t.value != NOT_REACHED
                ]
            )
            if spec is not None and fu is not None:
                pts = sorted(pts + _band_points(spec, dist, tg, arm, fu[treated == arm_flag]))
                pts = sorted(pts + _risk_points(tg, arm, fu[treated == arm_flag]))
            hm, hs = [0.0], [0.0]
            for time, surv in pts:
                h_model = float(-np.log(dist.survival(np.array([time]), np.array([arm_flag]))[0]))
                h_pub = -math.log(surv) if 0 < surv < 1 else None
                if h_pub is not None and h_model > hm[-1] and h_pub > hs[-1]:
                    hm.append(h_model)
                    hs.append(h_pub)
            if spec is not None and fu is not None:
                for time, surv in _not_reached_points(dist, tg, arm, fu[treated == arm_flag]):
                    # the tail after the last point: the model's hazard, lowered so the curve
                    # ends at the goal (at most to a tenth of the model's)
                    at = dist.survival(np.array([time]), np.array([arm_flag]))
                    rise = float(-np.log(at[0])) - hm[-1]
                    if rise > 0 and hs[-1] + rise > -math.log(surv):
                        hm.append(hm[-1] + rise)
                        hs.append(max(-math.log(surv), hs[-1] + 0.1 * rise))
            self.knots[arm_flag] = (np.array(hm), np.array(hs))

    def _map(self, x, treated, inverse: bool) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        out = np.empty_like(x)
        tr = np.broadcast_to(np.asarray(treated, dtype=bool), x.shape)
        for arm in (True, False):
            m = tr == arm
            hm, hs = self.knots[arm]
            src, dst = (hs, hm) if inverse else (hm, hs)
            xm = x[m]
            out[m] = np.where(xm <= src[-1], np.interp(xm, src, dst), dst[-1] + (xm - src[-1]))
        return out

    def survival(self, t, treated) -> np.ndarray:
        with np.errstate(divide="ignore"):
            h = -np.log(np.asarray(self.dist.survival(t, treated), dtype=float))
        return np.exp(-self._map(h, treated, inverse=False))

    def time_from_exponential(self, e: np.ndarray, treated: np.ndarray) -> np.ndarray:
        return self.dist.time_from_exponential(self._map(e, treated, inverse=True), treated)


def _not_reached_points(dist, tg: list[Target], arm: str, fu) -> list[tuple]:
    """Where a median was published as not reached but the model's curve falls to 0.5 within
    the arm's follow-up: a goal at the last follow-up day about two standard errors above 0.5
    (binomial, of those expected at risk at half the follow-up), so a sample's curve stays above
    0.5 to the end more often than not."""
    if fu.size == 0 or not any(
        t.arm == arm and t.statistic == "km_median" and t.value == NOT_REACHED for t in tg
    ):
        return []
    last = float(fu.max())
    if last < 2:
        return []
    flag = np.array([arm == "treatment"])
    s_last = float(dist.survival(np.array([last]), flag)[0])
    s_half = float(dist.survival(np.array([last / 2]), flag)[0])
    at_risk = float(np.count_nonzero(fu >= last / 2)) * s_half
    goal = 0.5 + 2.0 * math.sqrt(0.25 / max(at_risk, 1.0))
    if s_last >= goal or goal >= 1.0:
        return []
    return [(last, goal)]


def _risk_points(tg: list[Target], arm: str, fu) -> list[tuple]:
    """Curve points read from the numbers at risk: just before day ``k`` the survival is about
    the number at risk over the arm's participants still followed on day ``k``."""
    out = []
    for t in tg:
        if t.arm != arm or t.statistic != "at_risk":
            continue
        k = math.ceil(t.time)
        followed = int(np.count_nonzero(fu >= k))
        if k >= 2 and followed > 0 and 0 < t.value < followed:
            out.append((float(k - 1), t.value / followed))
    return out


def _band_points(spec: TrialSpec, dist, tg: list[Target], arm: str, fu) -> list[tuple]:
    """Curve points read from a median's CI limits: at the lower limit the band's lower edge
    is at 0.5, at the upper limit its upper edge; the survival there is the value whose band
    (Greenwood variance as expected from the model's curve and the arm's follow-up) does that."""
    from scipy import optimize

    from walkback.estimators.kaplan_meier import confint

    out = []
    flag = arm == "treatment"
    for t in tg:
        if t.arm != arm or t.statistic != "km_median" or t.ci is None:
            continue
        for limit, edge in ((t.ci[0], 0), (t.ci[1], 1)):
            if limit == NOT_REACHED or not 0 < limit:
                continue
            days = np.arange(0.0, float(limit) + 1.0)
            surv = np.asarray(dist.survival(days, np.full(days.size, flag)), dtype=float)
            at_risk = np.array([np.sum(fu >= x) for x in days[:-1]], dtype=float) * surv[:-1]
            with np.errstate(divide="ignore"):
                dh = np.diff(-np.log(surv))
            if np.any(at_risk < 1):
                continue
            se = math.sqrt(float(np.sum(dh / at_risk)))

            def gap(s, se=se, edge=edge):
                return (
                    float(
                        confint(np.array([s]), np.array([se]), spec.conf_type, 1 - spec.alpha)[
                            edge
                        ][0]
                    )
                    - 0.5
                )

            lo_s, hi_s = (0.5, 0.999) if edge == 0 else (0.001, 0.5)
            if gap(lo_s) * gap(hi_s) < 0:
                out.append((float(limit), float(optimize.brentq(gap, lo_s, hi_s))))
    return out


def hit_events(spec: TrialSpec, tg: list[Target], dist, d, fu, treated, rng, move_dropout=False):
    """Meet each published event count with as few changes as possible; ``(d, fu, moved)``, with
    ``d`` None when it cannot be (not enough participants on the other side).

    Too few events: censored participants' latent times are redrawn given T <= follow-up. Too
    many: with ``move_dropout`` (the outcome is the trial's only one, so follow-up is its own),
    participants with an event drop out on a day drawn uniformly before it (censoring that is
    independent of the outcome, so the curve keeps its course); otherwise their latent times are
    redrawn given T > follow-up."""
    per_arm = [t for t in tg if t.statistic == "events" and t.arm is not None]
    total = [t for t in tg if t.statistic == "events" and t.arm is None]
    groups = [(treated == (t.arm == "treatment"), t.value) for t in per_arm]
    if not groups and total:
        groups = [(np.ones(d.size, dtype=bool), total[0].value)]
    d, fu = d.copy(), fu.copy()
    moved = 0
    for mask, value in groups:
        want = int(round(value))
        ev = mask & (d <= fu)
        have = int(ev.sum())
        if have > want and move_dropout:  # an earlier dropout censors the event
            pick = np.sort(rng.choice(np.flatnonzero(ev), size=have - want, replace=False))
            fu[pick] = np.minimum(fu[pick], rng.integers(0, np.maximum(d[pick], 1)))
        elif have > want:  # an event becomes a censoring: T redrawn given T > follow-up
            pool = np.flatnonzero(ev)
            pick = np.sort(rng.choice(pool, size=have - want, replace=False))
            s_fu = dist.survival(fu[pick], treated[pick])
            e = -np.log(np.maximum(rng.random(pick.size), 1e-300) * s_fu)
            new = _ceil_days(dist.time_from_exponential(e, treated[pick]))
            d[pick] = np.maximum(new, fu[pick] + 1)
        elif have < want:  # a censoring becomes an event: T redrawn given T <= follow-up
            pool = np.flatnonzero(mask & (d > fu) & (fu >= 1))
            if pool.size < want - have:
                return None, fu, 0
            pick = np.sort(rng.choice(pool, size=want - have, replace=False))
            s_fu = dist.survival(fu[pick], treated[pick])
            e = -np.log(s_fu + rng.random(pick.size) * (1 - s_fu))
            new = _ceil_days(dist.time_from_exponential(e, treated[pick]))
            d[pick] = np.clip(new, 1, fu[pick])
        moved += abs(have - want)
    return d, fu, moved


def _landmark_knot(km, t: Target):
    """(current, goal) of a landmark: the gap after an event whose curve value rounds to the
    published one (the gap nearest the landmark, if several) moves onto the landmark day."""
    surv, times = km.survival, km.time
    nxt = np.append(times[1:], times[-1] + 1.0) if times.size else times
    inside = np.flatnonzero(np.abs(surv - t.value) < t.precision / 2)
    if inside.size:
        mids = (times[inside] + nxt[inside]) / 2.0
        j = int(inside[np.argmin(np.abs(mids - t.time))])
    else:
        below = np.flatnonzero(surv < t.value + t.precision / 2)
        if below.size == 0:
            return None
        j = int(below[0])
    return (float(times[j]) + float(nxt[j])) / 2.0, t.time + 0.5


def _readouts(spec: TrialSpec, km, arm_targets: list[Target]):
    """Current knots (x) and goals (y), and whether every read-out is already exact."""
    xs, ys, exact = [], [], True
    for t in arm_targets:
        if t.statistic == "km_median":
            m = km.median
            now = np.array([m.lower, m.estimate, m.upper], dtype=float)
            goal = np.array([*t.ci[:1], t.value, *t.ci[1:]] if t.ci else [np.nan, t.value, np.nan])
            use = np.isfinite(goal) & (goal != NOT_REACHED)
            if not np.array_equal(now[use], goal[use]):
                exact = False
            if not np.all(np.isfinite(now[use])):
                return None
            xs += list(now[use])
            ys += list(goal[use])
        elif t.statistic == "km_survival":
            j = np.searchsorted(km.time, t.time, side="right") - 1
            surv = float(km.survival[j]) if j >= 0 else 1.0
            if not abs(surv - t.value) < t.precision / 2 * (1 - 2e-3):
                exact = False
            knot = _landmark_knot(km, t)
            if knot is None:
                return None
            xs.append(knot[0])
            ys.append(knot[1])
    return xs, ys, exact


def stratified_normals(rng: np.random.Generator, treated: np.ndarray) -> np.ndarray:
    """Standard normals drawn by stratified sampling within each arm: one uniform in each of the
    arm's n equal strata, in random order (the empirical distribution then follows the model's
    to O(1/n) rather than O(1/sqrt(n)), so the warps that follow stay gentle)."""
    from scipy.special import ndtri

    out = np.empty(treated.size)
    for arm in (True, False):
        idx = np.flatnonzero(treated == arm)
        u = (rng.permutation(idx.size) + rng.random(idx.size)) / idx.size
        out[idx] = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    return out


def warp_curves(
    spec: TrialSpec,
    tg: list[Target],
    d,
    fu,
    treated,
    keep_events: bool = False,
    steep: bool = False,
    rng: np.random.Generator | None = None,
    move_dropout: bool = False,
):
    """Move event days so each published median (with CI) and landmark survival is hit exactly;
    ``(None, why)`` when the needed map is too steep or the read-outs do not settle."""
    d = d.copy()
    record = {}
    shaped = [t for t in tg if t.statistic in ("km_survival", "km_median")]
    arms = list(dict.fromkeys(t.arm for t in shaped))
    for arm_key in arms:
        arm_t = [t for t in shaped if t.arm == arm_key]
        arm = treated == (arm_key == "treatment")
        da, fa = d[arm], fu[arm]
        history = []
        ci_done = False
        for _ in range(12 if steep else 8):
            km = kaplan_meier(
                np.minimum(da, fa),
                (da <= fa).astype(int),
                conf_type=spec.conf_type,
                conf_level=1 - spec.alpha,
            )
            got = _readouts(spec, km, arm_t)
            if got is None:
                return None, f"{arm_key}: a published median or landmark is not reached"
            xs, ys, exact = got
            if exact and steep and rng is not None and not ci_done:
                ci_done = True  # once the read-outs are exact: the landmarks' CIs, then re-check
                fa_before = fa.copy()
                fixed = fix_landmark_cis(spec, da, fa, arm_t, rng, move_dropout)
                if not np.array_equal(fixed, da) or not np.array_equal(fa, fa_before):
                    da = fixed
                    continue
            if exact:
                break
            order = np.argsort(xs, kind="stable")
            x, y = np.asarray(xs)[order], np.asarray(ys)[order]
            if np.any(np.diff(x) <= 0) or np.any(np.diff(y) <= 0):
                return None, f"{arm_key}: the read-outs are in another order than published"
            x_end = 2.0 * max(x[-1], y[-1]) + 30.0
            xk = np.concatenate(([0.0], x, [x_end]))
            yk = np.concatenate(([0.0], y, [x_end]))
            slopes = np.diff(yk) / np.diff(xk)
            hi, lo = (MAX_STRETCH_SHAPED, MAX_COMPRESSION_SHAPED) if steep else (MAX_SLOPE,) * 2
            if slopes.min() < 1 / lo or slopes.max() > hi:
                return None, f"{arm_key}: the warp would be steeper than allowed"
            warped = np.maximum(np.rint(np.interp(da, xk, yk)).astype(np.int64), 1)
            if keep_events:
                da = _warp_events(da, fa, warped)
            else:
                da = np.where(da < x_end, warped, da)
            if steep:
                da = nudge_landmarks(spec, da, fa, arm_t)
                if da is None:
                    return None, f"{arm_key}: a landmark's curve steps over its rounding window"
            history.append([float(v) for v in xs])
        else:
            return None, f"{arm_key}: the read-outs did not settle"
        d[arm] = da
        if move_dropout:
            fu[arm] = fa  # the caller's follow-up days: dropouts redrawn within the stretch
        for t in arm_t:
            record[t.name] = {"iterations": len(history)}
        if len(arm_t) == 1 and arm_t[0].statistic == "km_median" and arm_t[0].ci is not None:
            t = arm_t[0]
            goal = [float(t.ci[0]), float(t.value), float(t.ci[1])]
            record[t.name] = {
                "from": history[0] if history else goal,
                "to": goal,
                "iterations": len(history),
            }
    return d, record


def _warp_events(da: np.ndarray, fa: np.ndarray, warped: np.ndarray) -> np.ndarray:
    """Event days moved to their warped days, keeping every participant's status count: an event
    warped past its participant's follow-up goes to a participant still followed then and without
    an event (who has it instead; the first becomes a censoring), else stays on the last day."""
    event = da <= fa
    out = np.where(event, np.minimum(warped, fa), da)
    free = ~event
    for i in np.flatnonzero(event & (warped > fa)):
        j = np.flatnonzero(free & (fa >= warped[i]))
        if j.size:
            j = j[np.argmin(fa[j])]
            out[j], out[i] = warped[i], fa[i] + 1
            free[j] = False
    return out
