"""Compiled Fenwick-tree pair counting for :func:`walkback.estimators.concordance` on large
strata (numba; module-level functions, so numba's on-disk cache keeps them between runs)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _add(tree, i, w):
    i += 1
    while i < tree.shape[0]:
        tree[i] += w
        i += i & (-i)


@njit(cache=True)
def _below(tree, i):  # total weight at ranks < i
    s = 0.0
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s


@njit(cache=True)
def pair_counts(time, event, rank, m):
    """time sorted ascending. Returns per-row (concordant - discordant, all comparable) pair
    counts and the (concordant, discordant, tied) totals over rows; whole numbers, exact."""
    n = time.shape[0]
    out = np.zeros((n, 2))
    totals = np.zeros(3)
    tree = np.zeros(m + 1)
    total = 0.0
    # pass 1, descending time: each event against the rows still at risk
    hi = n
    while hi > 0:
        lo = hi - 1
        while lo > 0 and time[lo - 1] == time[hi - 1]:
            lo -= 1
        for i in range(lo, hi):
            if event[i] == 0:
                _add(tree, rank[i], 1.0)
                total += 1.0
        for i in range(lo, hi):
            if event[i] == 1:
                less = _below(tree, rank[i])
                upto = _below(tree, rank[i] + 1)
                out[i, 0] += less - (total - upto)
                out[i, 1] += total
                totals[0] += less
                totals[1] += total - upto
                totals[2] += upto - less
        for i in range(lo, hi):
            if event[i] == 1:
                _add(tree, rank[i], 1.0)
                total += 1.0
        hi = lo
    # pass 2, ascending time: each row against the earlier events whose risk set held it
    tree[:] = 0.0
    total = 0.0
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and time[hi] == time[lo]:
            hi += 1
        for phase in range(3):
            for i in range(lo, hi):
                if phase == 1:
                    if event[i] == 1:
                        _add(tree, rank[i], 1.0)
                        total += 1.0
                elif (phase == 0 and event[i] == 1) or (phase == 2 and event[i] == 0):
                    less = _below(tree, rank[i])
                    upto = _below(tree, rank[i] + 1)
                    out[i, 0] += (total - upto) - less  # the event had the higher score
                    out[i, 1] += total
                    totals[0] += total - upto
                    totals[1] += less
                    totals[2] += upto - less
        lo = hi
    return out, totals
