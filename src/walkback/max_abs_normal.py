"""P(max_a |Z_a| >= m) for Z ~ N(0, corr) of rank <= 3, by deterministic quadrature (numba).

MaxCombo's p-value. Its four Fleming-Harrington statistics are linearly dependent
(w(0,0) = w(0,1) + w(1,0)), so their correlation has rank <= 3, and the probability is an exact
one- or two-dimensional integral, computed here to ~1e-12 (no random numbers). Shared by
:func:`walkback.estimators.weighted.max_abs_normal_sf` and the Monte Carlo engine's kernels, so
both give the same p for the same data. A leaf module (numpy and numba only), so the engine's
worker processes need not import the estimators package.

Method: factor corr = A A' (pivoted Cholesky, rank r), normalise A's rows a_i to unit length and
drop repeated slabs (|a_i . a_j| = 1). Then P(max |Z| >= m) = P(max_i |a_i . X| >= m) for
X ~ N(0, I_r). Split R^r into the cones where slab i binds (|a_i . u| >= |a_j . u| for all j;
a_i itself lies in its cone, which is star-shaped about it), and integrate in coordinates about
a_i. With tan(theta) = tau the cone's edge in a direction:

* r = 1: 2 Q(m), Q the upper normal tail.
* r = 2: each cone's two sides give Owen's T(m, tau) (Owen 1956), p = 2 sum_i (T(m, tau_i+) +
  T(m, tau_i-)), T(h, a) = (1 / 2 pi) int_0^atan(a) exp(-h^2 / (2 cos^2 t)) dt.
* r = 3: in direction phi about a_i the cone reaches tau(phi); integrating the radial parts in
  closed form leaves p = 2 sum_i (1 / 2 pi) int_0^2pi [Q(m) - Q(m s) / s] dphi, s = sqrt(1 + tau^2).

tau(phi) is a minimum over the other slabs; the integrals are split where that minimum changes
hands (or a slab's side changes), so each piece is analytic, and each piece gets Gauss-Legendre
quadrature with ``NODES`` nodes.

numba caches compiled code per file: after editing this module, touch
``montecarlo/_test_kernels.py`` and ``montecarlo/_kernels.py`` (or clear their ``__pycache__``) so
the engine's cached kernels are rebuilt with it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from walkback._typing import MAXCOMBO_COMBOS  # noqa: F401 (the default pairs, re-exported)

#: Gauss-Legendre nodes per piece of the integrals (pieces of a geometric mesh in tan(angle))
NODES = 12
#: a pivot below this (relative to the largest variance) ends the factorisation: rank found
RANK_TOL = 1e-10
#: slabs with |a_i . a_j| > 1 - SAME_TOL are the same slab (counted once)
SAME_TOL = 1e-12
#: largest rank handled here (higher ranks return NaN: the caller integrates another way)
MAX_RANK = 3

_GL_X, _GL_W = np.polynomial.legendre.leggauss(NODES)
_TWO_PI = 2.0 * math.pi


@njit(cache=True)
def _upper_tail(x):
    return 0.5 * math.erfc(x / math.sqrt(2.0))


@njit(cache=True)
def unit_rows(corr):
    """Rows a_i (unit length, repeats dropped) with corr ~ A A' up to row scaling; (k', r).

    r = 0 if corr has no positive diagonal; r > MAX_RANK is returned as found (caller decides).
    """
    k = corr.shape[0]
    d = np.empty(k)
    dmax = 0.0
    for i in range(k):
        d[i] = corr[i, i]
        dmax = max(dmax, d[i])
    lf = np.zeros((k, k))
    used = np.zeros(k, np.bool_)
    r = 0
    while r < k and dmax > 0.0:
        piv = -1
        for i in range(k):
            if not used[i] and (piv < 0 or d[i] > d[piv]):
                piv = i
        if d[piv] <= RANK_TOL * dmax:
            break
        used[piv] = True
        root = math.sqrt(d[piv])
        lf[piv, r] = root
        for i in range(k):
            if not used[i]:
                s = corr[i, piv]
                for c in range(r):
                    s -= lf[i, c] * lf[piv, c]
                lf[i, r] = s / root
                d[i] -= lf[i, r] * lf[i, r]
        r += 1
    out = np.zeros((k, r))
    nk = 0
    for i in range(k):
        norm = 0.0
        for c in range(r):
            norm += lf[i, c] * lf[i, c]
        if not norm > 0.0:
            continue
        norm = math.sqrt(norm)
        for c in range(r):
            out[nk, c] = lf[i, c] / norm
        same = False
        for j in range(nk):
            dot = 0.0
            for c in range(r):
                dot += out[nk, c] * out[j, c]
            if abs(dot) > 1.0 - SAME_TOL:
                same = True
                break
        if not same:
            nk += 1
    return out[:nk].copy()


@njit(cache=True)
def _integrand(kind, h, k, t):
    """kind 0 (Owen's T): exp(-h^2 (1 + t^2) / 2) / (1 + t^2); kind 1 (a cone's tail, r = 3):
    Q(h s) / (s (1 + t^2)) with s = sqrt(1 + k^2 (1 + t^2))."""
    w = 1.0 + t * t
    if kind == 0:
        return math.exp(-0.5 * h * h * w) / w
    sc = math.sqrt(1.0 + k * k * w)
    return _upper_tail(h * sc) / (sc * w)


@njit(cache=True)
def _mesh(kind, h, k, a, b, xs, ws):
    """int_a^b of :func:`_integrand` dt for 0 <= a <= b, Gauss-Legendre on [0, 1], [1, 2], [2, 4],
    ... (each piece no longer than its distance from the poles at +-i, so the rule converges
    geometrically), stopping where the integrand has fallen below 1e-18 of its value at 0."""
    decay = h if kind == 0 else h * k
    if decay > 0.0:
        b = min(b, max(a, 9.0 / decay))
    b = min(b, 1e16)  # beyond, the 1 / t^2 tail is below 1e-16
    total = 0.0
    lo = a
    while lo < b:
        hi = min(b, max(1.0, 2.0 * lo) if lo >= 1.0 else 1.0)
        half = (hi - lo) / 2.0
        s = 0.0
        for g in range(xs.shape[0]):
            s += ws[g] * _integrand(kind, h, k, lo + half * (xs[g] + 1.0))
        total += s * half
        lo = hi
    return total


@njit(cache=True)
def _between(kind, h, k, t1, t2, xs, ws):
    """int_t1^t2 of the (even) integrand, t1 <= t2."""
    if t1 >= 0.0:
        return _mesh(kind, h, k, t1, t2, xs, ws)
    if t2 <= 0.0:
        return _mesh(kind, h, k, -t2, -t1, xs, ws)
    return _mesh(kind, h, k, 0.0, -t1, xs, ws) + _mesh(kind, h, k, 0.0, t2, xs, ws)


@njit(cache=True)
def owens_t(h, a):
    """Owen's T(h, a) = (1 / 2 pi) int_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx for a >= 0
    (a = inf allowed)."""
    return _mesh(0, h, 0.0, 0.0, a, _GL_X, _GL_W) / _TWO_PI


@njit(cache=True)
def _sf_rank2(m, a):
    total = 0.0
    k = a.shape[0]
    for i in range(k):
        e0, e1 = -a[i, 1], a[i, 0]  # perpendicular to a_i
        tp = np.inf
        tm = np.inf
        for j in range(k):
            if j == i:
                continue
            c = a[i, 0] * a[j, 0] + a[i, 1] * a[j, 1]
            b = a[j, 0] * e0 + a[j, 1] * e1
            if b > 0.0:
                tp = min(tp, (1.0 - c) / b)
                tm = min(tm, (1.0 + c) / b)
            elif b < 0.0:
                tp = min(tp, (1.0 + c) / -b)
                tm = min(tm, (1.0 - c) / -b)
        total += owens_t(m, tp) + owens_t(m, tm)
    return 2.0 * total


@njit(cache=True)
def _edge(phi, c, p, q, nj):
    """tan of the cone's edge angle in direction phi, and which slab side sets it (2 j + side)."""
    best = np.inf
    who = -1
    cp, sp = math.cos(phi), math.sin(phi)
    for j in range(nj):
        b = p[j] * cp + q[j] * sp
        if b > 0.0:
            t = (1.0 - c[j]) / b
            side = 1
        elif b < 0.0:
            t = (1.0 + c[j]) / -b
            side = 0
        else:
            continue
        if t < best:
            best = t
            who = 2 * j + side
    return best, who


@njit(cache=True)
def _cone3(m, c, p, q, nj, qm, xs, ws):
    """(1 / 2 pi) int_0^2pi [Q(m) - Q(m s) / s] dphi over one cone (r = 3)."""
    # every angle where the minimum can change hands: a slab's side flips (b_j = 0) or two
    # slab sides give the same edge
    cand = np.empty(2 * nj + 8 * nj * nj + 2)
    nc = 0
    for j in range(nj):
        base = math.atan2(-p[j], q[j])
        cand[nc] = base
        cand[nc + 1] = base + math.pi
        nc += 2
        for k in range(j + 1, nj):
            for sj in (-1.0, 1.0):
                for sk in (-1.0, 1.0):
                    fj = 1.0 - sj * c[j]
                    fk = 1.0 - sk * c[k]
                    ca = fj * sk * p[k] - fk * sj * p[j]
                    sa = fj * sk * q[k] - fk * sj * q[j]
                    if ca == 0.0 and sa == 0.0:
                        continue
                    base = math.atan2(-ca, sa)
                    cand[nc] = base
                    cand[nc + 1] = base + math.pi
                    nc += 2
    for i in range(nc):
        cand[i] = cand[i] % _TWO_PI
    cand[nc] = 0.0
    cand[nc + 1] = _TWO_PI
    pts = np.sort(cand[: nc + 2])
    tail = 0.0
    lo = 0.0
    _, who = _edge((pts[0] + pts[1]) / 2.0, c, p, q, nj)
    for i in range(1, pts.size):
        hi = pts[i]
        if i + 1 < pts.size:
            if pts[i + 1] - hi <= 1e-15:
                continue
            _, nxt = _edge((hi + pts[i + 1]) / 2.0, c, p, q, nj)
            if nxt == who:  # the same slab side on both sides: not a kink
                continue
        else:
            nxt = who
        if hi > lo and who >= 0:
            # on this piece slab j's side sets the edge: tau = kk / cos(psi), psi the angle from
            # the edge's nearest direction; in t = tan(psi) the integrand is analytic near the
            # real axis, where in phi it is not
            j = who // 2
            bj = math.hypot(p[j], q[j])
            if who % 2 == 1:
                phi0 = math.atan2(q[j], p[j])
                kk = (1.0 - c[j]) / bj
            else:
                phi0 = math.atan2(q[j], p[j]) + math.pi
                kk = (1.0 + c[j]) / bj
            psi1 = (lo - phi0 + math.pi) % _TWO_PI - math.pi
            psi2 = psi1 + (hi - lo)
            tail += _between(1, m, kk, math.tan(psi1), math.tan(psi2), xs, ws)
        lo = hi
        who = nxt
    return qm - tail / _TWO_PI


@njit(cache=True)
def _sf_rank3(m, a, xs, ws):
    k = a.shape[0]
    qm = _upper_tail(m)
    c = np.empty(k)
    p = np.empty(k)
    q = np.empty(k)
    total = 0.0
    for i in range(k):
        ai = a[i]
        # an orthonormal pair (e, f) perpendicular to a_i: Gram-Schmidt on the axis least along it
        ax = 0
        for t in range(1, 3):
            if abs(ai[t]) < abs(ai[ax]):
                ax = t
        e = -ai[ax] * ai
        e[ax] += 1.0
        e /= math.sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2])
        f = np.empty(3)
        f[0] = ai[1] * e[2] - ai[2] * e[1]
        f[1] = ai[2] * e[0] - ai[0] * e[2]
        f[2] = ai[0] * e[1] - ai[1] * e[0]
        nj = 0
        for j in range(k):
            if j == i:
                continue
            aj = a[j]
            c[nj] = ai[0] * aj[0] + ai[1] * aj[1] + ai[2] * aj[2]
            p[nj] = e[0] * aj[0] + e[1] * aj[1] + e[2] * aj[2]
            q[nj] = f[0] * aj[0] + f[1] * aj[1] + f[2] * aj[2]
            nj += 1
        total += _cone3(m, c, p, q, nj, qm, xs, ws)
    return 2.0 * total


@njit(cache=True)
def max_abs_normal_sf_low_rank(m, corr):
    """P(max_a |Z_a| >= m), Z ~ N(0, corr), for corr of rank <= 3 (NaN for a higher rank).

    ``corr`` is a correlation matrix (k x k, symmetric, unit diagonal); m finite and >= 0.
    """
    if not (m >= 0.0 and math.isfinite(m)):
        return np.nan
    if m == 0.0:
        return 1.0
    a = unit_rows(corr)
    r = a.shape[1]
    if a.shape[0] == 0 or r == 0:
        return np.nan
    if r == 1:
        return 2.0 * _upper_tail(m)
    if r == 2:
        return min(_sf_rank2(m, a), 1.0)
    if r == 3:
        return min(_sf_rank3(m, a, _GL_X, _GL_W), 1.0)
    return np.nan
