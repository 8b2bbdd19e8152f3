"""Compiled simulation of one Monte Carlo replicate (numba): recruitment, stratified permuted
blocks, monthly follow-up with dropout and the primary outcome, drawn as
:func:`walkback.simulate.simulate` draws them. Random numbers are passed in
(:func:`walkback.montecarlo.blocks.fill_random_numbers`), so the kernel holds no random state.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def _simulate_one(
    spacing,
    u_cell,
    u_block,
    u_assign,
    e_drop,
    e_event,
    cum_rate,
    rate_edges,
    window,
    admin_by_offset,
    cell_cum,
    block_sizes,
    ratio_t,
    ratio_sum,
    months_per_drop_unit,
    every,
    fu_by_months,
    threshold_by_months,
    inv_shape,
    scale,
    hr,
    delay_h,
    time_out,
    event_out,
    treated_out,
):
    """One trial, as simulate.simulate: recruitment order statistics, stratified permuted blocks
    (sequential draws within a block: P(treatment) = treatment slots left / slots left), monthly
    follow-up with dropout, and the primary outcome's event day ceil(t) if within follow-up.
    ``delay_h`` > 0 (the baseline cumulative hazard at the delay) gives a delayed effect: the
    treated arm's hazard equals the control's until then and is ``hr`` times it afterwards.
    Lookup tables (by recruitment day and by months followed) replace repeated arithmetic."""
    n = u_cell.shape[0]
    ncell = cell_cum.shape[0]
    total = 0.0
    for j in range(n + 1):
        total += spacing[j]
    inv_total = 1.0 / total
    remaining = np.zeros(ncell, np.int64)
    t_left = np.zeros(ncell, np.int64)
    nseg = cum_rate.shape[0] - 1
    acc = 0.0
    nsizes = block_sizes.shape[0]
    nb = 0  # block-size draws used
    inv_width = np.empty(nseg)
    for j in range(nseg):
        inv_width[j] = 1.0 / (cum_rate[j + 1] - cum_rate[j])
    no_dropout = not months_per_drop_unit > 0.0
    # written without data-dependent branches where possible: the draws are random, so
    # branches on them are mispredicted about half the time
    for i in range(n):
        # recruitment: uniform order statistics (exponential spacings), then the inverse CDF
        acc += spacing[i]
        u = acc * inv_total
        k = 0
        for j in range(1, nseg):
            k += cum_rate[j] <= u
        frac = (u - cum_rate[k]) * inv_width[k]
        offset = min(int(rate_edges[k] + frac * (rate_edges[k + 1] - rate_edges[k])), window)
        admin = admin_by_offset[offset]
        # stratum cell, then permuted blocks within the cell in recruitment order
        uc = u_cell[i]
        c = 0
        for j in range(ncell - 1):
            c += cell_cum[j] <= uc
        if remaining[c] == 0:
            size = block_sizes[min(int(u_block[nb] * nsizes), nsizes - 1)]
            nb += 1
            remaining[c] = size
            t_left[c] = size // ratio_sum * ratio_t
        treated = u_assign[i] * remaining[c] < t_left[c]
        t_left[c] -= treated
        remaining[c] -= 1
        # follow-up: last completed report before dropout or the administrative end
        months = admin if no_dropout else min(admin, int(e_drop[i] * months_per_drop_unit) * every)
        fu = fu_by_months[months]
        rate = 1.0 + (hr - 1.0) * treated
        # event day ceil(t); an event when it is at or before the last report
        h = e_event[i] / rate
        if delay_h > 0.0 and treated:  # H(t) = H0(t) up to the delay D, then H0(D) + hr (...)
            h = e_event[i] if e_event[i] <= delay_h else delay_h + (e_event[i] - delay_h) / rate
        latent = scale * h**inv_shape
        day = math.ceil(min(latent, fu + 1.0))
        time_out[i] = min(day, fu)
        event_out[i] = day <= fu
        treated_out[i] = treated
