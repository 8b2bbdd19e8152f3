"""The batched Monte Carlo engine (walkback.montecarlo): it must give, replicate by replicate, the
numbers the single-dataset estimators give on the same data; be reproducible whatever the block
size, number of worker processes or backend (local or Dask); draw its trials from the same
distributions as walkback.simulate.simulate; summarise sensibly at scale; agree with Schoenfeld's
formula; write its per-replicate tables faithfully; and keep memory bounded.

Statistical checks use fixed seeds and tolerances several Monte Carlo standard errors wide (stated
beside each), so they are stable yet fail on a real shift (e.g. a 5% change in the HR).
"""

from __future__ import annotations

import dataclasses
import math
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from walkback.calibrate import calibrate
from walkback.estimators import cox, kaplan_meier, logrank
from walkback.exceptions import WalkbackError
from walkback.montecarlo.engine import CHUNK, run, run_block, settings_from_spec
from walkback.montecarlo.power import power_grid, schoenfeld_events, schoenfeld_power
from walkback.simulate import simulate
from walkback.spec import load_spec

SEED = 20240611
# summary keys that describe how a run was executed rather than what it computed
RUN_KEYS = {"seconds", "seconds_per_replicate", "block", "workers", "backend"}


@pytest.fixture(scope="module")
def spec():
    return load_spec("walkback")


@pytest.fixture(scope="module")
def model(spec):
    return calibrate(spec).model


@pytest.fixture(scope="module")
def settings(spec, model):
    return settings_from_spec(spec, SEED, model=model)


def read_table(path) -> dict[str, np.ndarray]:
    """A per-replicate file as a dict of numpy arrays (the engine's table layout)."""
    if str(path).endswith(".csv"):
        frame = pd.read_csv(path, float_precision="round_trip")
        return {c: frame[c].to_numpy() for c in frame.columns}
    tab = pq.read_table(path)
    return {c: tab[c].to_numpy() for c in tab.column_names}


def assert_tables_equal(a: dict, b: dict, what: str = "") -> None:
    assert list(a) == list(b), what
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        assert x.shape == y.shape, f"{what}: column {k} has shape {x.shape} vs {y.shape}"
        same = np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        assert same, f"{what}: column {k} differs at rows {np.flatnonzero(~np.isclose(x, y))[:5]}"


def comparable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in RUN_KEYS}


# ---- 1. agreement with the single-dataset estimators ---------------------------------------------
COX_KEYS = ("log_hr", "se_log_hr", "hr", "hr_lower", "hr_upper", "p_cox")


def reference(time, event, treated, s) -> dict[str, float]:
    """One replicate analysed with walkback.estimators (kaplan_meier, cox, logrank)."""
    level = 1.0 - s.alpha
    r: dict[str, float] = {}
    for arm, mask in (("treatment", treated), ("control", ~treated)):
        if not mask.any():  # an arm nobody was randomised to: nothing is defined
            for k in ("", "_lower", "_upper"):
                r[f"median_{arm}{k}"] = math.nan
            r[f"rmst_{arm}"] = r[f"rmst_{arm}_se"] = math.nan
            continue
        km = kaplan_meier(time[mask], event[mask], conf_type=s.conf_type, conf_level=level)
        m = km.median
        r[f"median_{arm}"], r[f"median_{arm}_lower"], r[f"median_{arm}_upper"] = (
            m.estimate,
            m.lower,
            m.upper,
        )
        rm = km.rmst(s.tau)
        r[f"rmst_{arm}"], r[f"rmst_{arm}_se"] = rm.estimate, rm.se
    try:
        fit = cox(time, event, treated.astype(float), ties=s.ties, conf_level=level)
    except WalkbackError:  # no events, or no finite maximum: undefined, NaN in the engine
        r.update(dict.fromkeys(COX_KEYS, math.nan))
    else:
        r["log_hr"], r["se_log_hr"] = fit.coef[0], fit.se[0]
        r["hr"] = fit.hazard_ratio[0]
        r["hr_lower"], r["hr_upper"] = fit.conf_int()[0]
        r["p_cox"] = fit.wald_p[0]
    lr = logrank(time, event, treated)
    r["logrank_chisq"], r["p_logrank"] = lr.chisq, lr.p
    r["n_treatment"], r["n_control"] = int(treated.sum()), int((~treated).sum())
    r["events_treatment"] = int(event[treated].sum())
    r["events_control"] = int(event[~treated].sum())
    return r


def assert_agree(name: str, got, want, rel: float = 1e-8, floor: float = 1e-12) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    bad = np.flatnonzero(nan_got != nan_want)
    assert bad.size == 0, (
        f"{name}: NaN in one but not the other at replicates {bad[:5].tolist()}: "
        f"engine {got[bad[:5]].tolist()}, estimators {want[bad[:5]].tolist()}"
    )
    ok = ~nan_got
    g, w = got[ok], want[ok]
    with np.errstate(invalid="ignore"):
        close = (g == w) | (np.abs(g - w) <= np.maximum(rel * np.abs(w), floor))
    bad = np.flatnonzero(ok)[~close]
    assert bad.size == 0, (
        f"{name}: engine differs from the estimators at replicates {bad[:5].tolist()}: "
        f"engine {got[bad[:5]].tolist()}, estimators {want[bad[:5]].tolist()}"
    )


def check_against_estimators(settings, replicates: int, first: int = 0):
    table, (times, events, treated) = run_block(settings, first, replicates, keep_data=True)
    assert times.shape == events.shape == treated.shape == (replicates, settings.n)
    assert times.dtype.kind == "i" and treated.dtype == np.bool_
    assert set(np.unique(events).tolist()) <= {0, 1}
    assert times.min() >= 0
    refs = [reference(times[i], events[i], treated[i], settings) for i in range(replicates)]
    for key in refs[0]:
        assert_agree(key, table[key], [r[key] for r in refs])
    np.testing.assert_array_equal(table["replicate"], np.arange(first, first + replicates))
    return table


AGREEMENT = {
    # (conf_type, ties) combinations at the spec's size, 128 replicates each
    "log-efron": dict(conf_type="log", ties="efron"),
    "loglog-breslow": dict(conf_type="log-log", ties="breslow"),
    "plain-efron": dict(conf_type="plain", ties="efron"),
    "log-breslow": dict(conf_type="log", ties="breslow"),
}


@pytest.mark.parametrize("overrides", AGREEMENT.values(), ids=AGREEMENT.keys())
def test_every_replicate_matches_the_single_estimators(spec, model, overrides):
    s = settings_from_spec(spec, SEED, model=model, **overrides)
    table = check_against_estimators(s, 128, first=3 * CHUNK)  # a block not at the origin
    assert np.isfinite(table["hr"]).all()  # a full-size trial always has a finite HR


EDGE = {
    # small trials with a strong effect: medians often not reached in the treatment arm, upper
    # CI limits undefined, curves that stop at or near 0.5
    "small-loglog-efron": dict(n=30, hr=0.3, conf_type="log-log", ties="efron"),
    "small-plain-breslow": dict(n=30, hr=0.3, conf_type="plain", ties="breslow"),
    "small-log-short-tau-alpha": dict(n=24, hr=0.4, conf_type="log", tau=20.0, alpha=0.2),
}


@pytest.mark.parametrize("overrides", EDGE.values(), ids=EDGE.keys())
def test_edge_cases_match_including_nans(spec, model, overrides):
    s = settings_from_spec(spec, SEED + 1, model=model, **overrides)
    table = check_against_estimators(s, 256)
    # the NaN paths were exercised (and matched the estimators above)
    assert np.isnan(table["median_treatment"]).sum() >= 10
    assert np.isnan(table["median_treatment_upper"]).sum() >= 10
    assert np.isnan(table["median_control_upper"]).any()
    assert np.isfinite(table["median_treatment"]).sum() >= 10  # ... and the finite ones too


def test_tiny_trials_with_infinite_cox_estimates_are_nan(spec, model):
    # n=10 with HR 5: in ~1 in 8 replicates the Cox MLE is infinite
    s = settings_from_spec(spec, 7, model=model, n=10, hr=5.0)
    check_against_estimators(s, 256)


# ---- 2. reproducibility --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def by_block(settings, tmp_path_factory):
    """1,300 replicates run with several block sizes, per-replicate tables read back from disk."""
    folder = tmp_path_factory.mktemp("blocks")
    out = {}
    for block in (64, 192, 1000, 4096):
        path = folder / f"block{block}.parquet"
        res = run(settings, 1300, block=block, out=path)
        out[block] = (res, read_table(path))
    return out


def test_block_size_is_rounded_up_to_whole_chunks(by_block):
    assert {b: res.block for b, (res, _) in by_block.items()} == {
        64: 64,
        192: 192,
        1000: 1024,
        4096: 4096,
    }


def test_results_do_not_depend_on_block_size(by_block):
    base = by_block[64][1]
    assert len(base["replicate"]) == 1300
    np.testing.assert_array_equal(base["replicate"], np.arange(1300))
    assert np.isnan(base["median_treatment"]).sum() == 0  # a real table, not an empty one
    for block, (_, table) in list(by_block.items())[1:]:
        assert_tables_equal(base, table, f"block {block} vs 64")
    summaries = [comparable(res.to_dict()) for res, _ in by_block.values()]
    for s in summaries[1:]:
        assert s.keys() == summaries[0].keys()
        for k, v in s.items():
            # sums are accumulated block by block, so their rounding may differ in the last
            # place (it does for hr_mean with block 1000); medians, counts and proportions are
            # identical
            if k in ("hr_mean", "median_intervention_mean", "median_control_mean"):
                assert v == pytest.approx(summaries[0][k], rel=1e-13), k
            else:
                assert v == summaries[0][k], k


def test_results_do_not_depend_on_worker_processes(settings, by_block, tmp_path):
    path = tmp_path / "two_workers.parquet"
    res = run(settings, 1300, block=256, workers=2, out=path)
    assert res.backend == "processes" and res.workers == 2
    assert_tables_equal(by_block[64][1], read_table(path), "workers=2 vs workers=1")
    assert res.summary["power_logrank"] == by_block[64][0].summary["power_logrank"]
    assert res.summary["hr_median"] == by_block[64][0].summary["hr_median"]


def test_a_replicate_does_not_depend_on_how_many_are_run(settings, tmp_path):
    run(settings, 300, block=128, out=tmp_path / "r300.parquet")
    run(settings, 100, block=128, out=tmp_path / "r100.parquet")
    long, short = read_table(tmp_path / "r300.parquet"), read_table(tmp_path / "r100.parquet")
    assert_tables_equal({k: v[:100] for k, v in long.items()}, short, "first 100 of 300 vs 100")
    # and directly from the block function, starting anywhere on a chunk boundary
    tail = run_block(settings, 2 * CHUNK, 300 - 2 * CHUNK)
    assert_tables_equal({k: v[2 * CHUNK :] for k, v in long.items()}, tail, "block at 128")


def test_different_seeds_give_different_replicates(spec, model, settings):
    a = run_block(settings, 0, CHUNK)
    b = run_block(settings_from_spec(spec, SEED + 1, model=model), 0, CHUNK)
    assert not np.array_equal(a["hr"], b["hr"])
    assert np.mean(a["hr"] != b["hr"]) > 0.95  # every replicate changes, not just a few
    assert not np.array_equal(a["events_treatment"], b["events_treatment"])


def test_run_block_rejects_a_block_off_the_chunk_grid(settings):
    with pytest.raises(ValueError, match="multiple of"):
        run_block(settings, 10, 64)


def test_run_rejects_bad_counts(settings):
    with pytest.raises(ValueError):
        run(settings, 0)
    with pytest.raises(ValueError):
        run(settings, 10, workers=0)


# ---- 3. Dask -------------------------------------------------------------------------------------
def test_dask_cluster_gives_the_local_results(settings, tmp_path):
    from distributed import LocalCluster

    local_path, dask_path = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    local = run(settings, 700, block=256, out=local_path)
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        remote = run(settings, 700, block=256, scheduler=cluster.scheduler_address, out=dask_path)
    assert remote.backend == "dask" and local.backend == "local"
    assert_tables_equal(read_table(local_path), read_table(dask_path), "dask vs local")
    assert comparable(remote.to_dict()) == comparable(local.to_dict())


# ---- 4. the same distributions as walkback.simulate.simulate -------------------------------------
ENGINE_REPLICATES, SIMULATE_REPLICATES = 512, 400


def trial_stats(time, event, treated) -> dict[str, float]:
    """What we compare between the engine's and simulate's trials, from the data alone."""
    km_t = kaplan_meier(time[treated], event[treated]).median.estimate
    km_c = kaplan_meier(time[~treated], event[~treated]).median.estimate
    fit = cox(time, event, treated.astype(float))
    censored = event == 0
    return {
        "n_treatment": float(treated.sum()),
        "events": float(event.sum()),
        "log_hr": float(fit.coef[0]),
        "median_treatment": km_t,
        "median_control": km_c,
        "censored": float(censored.mean()),
        # follow-up is at least 12 months, so censoring before day 365 is dropout
        "dropped_early": float((censored & (time < 365)).mean()),
        "censored_time": float(time[censored].mean()),
    }


@pytest.fixture(scope="module")
def two_samples(spec, model):
    s = settings_from_spec(spec, SEED + 2, model=model)
    _, (times, events, treated) = run_block(s, 0, ENGINE_REPLICATES, keep_data=True)
    engine = [trial_stats(times[i], events[i], treated[i]) for i in range(ENGINE_REPLICATES)]
    name, arm = spec.primary.name, spec.arm_labels["treatment"]
    single = []
    for k in range(SIMULATE_REPLICATES):
        df = simulate(spec, 900_000 + k, model)
        single.append(
            trial_stats(
                df[f"{name}_days"].to_numpy(),
                df[f"{name}_event"].to_numpy(),
                (df["arm"] == arm).to_numpy(),
            )
        )
    return columns(engine), columns(single), s


def columns(rows: list[dict]) -> dict[str, np.ndarray]:
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def z_score(a: np.ndarray, b: np.ndarray) -> float:
    """Difference in means in standard errors (Welch)."""
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return (a.mean() - b.mean()) / se


def central_width(x: np.ndarray) -> float:
    """Width of the range holding the central 98% of the values."""
    return np.quantile(x, 0.99, method="lower") - np.quantile(x, 0.01, method="higher")


def test_arm_sizes_have_the_same_distribution(two_samples):
    eng, sim, s = two_samples
    a, b = eng["n_treatment"], sim["n_treatment"]
    assert s.n == 701
    assert abs(a.mean() - b.mean()) <= 1.0
    assert abs(a.mean() - 350.5) <= 1.5 and abs(b.mean() - 350.5) <= 1.5
    # same spread: the central 98% of arm sizes spans the same width, and the SDs agree (the SD
    # of an SD estimate is ~4% here, so a 25% band is ~6 SEs)
    assert central_width(a) == central_width(b)
    assert 0.8 < a.std() / b.std() < 1.25


@pytest.mark.parametrize(
    "key",
    [
        "events",  # SD ~13 a trial: 3 SE ~ 2.6 events
        "median_treatment",
        "median_control",
        "censored",  # fraction censored (administrative end or dropout)
        "dropped_early",  # dropout before the minimum follow-up: catches a missed dropout
        "censored_time",  # mean follow-up of the censored
    ],
)
def test_same_mean_as_simulate(two_samples, key):
    eng, sim, _ = two_samples
    z = z_score(eng[key], sim[key])
    assert abs(z) < 3.0, f"{key}: engine {eng[key].mean():.4g} vs simulate {sim[key].mean():.4g}"


def test_hr_has_the_same_distribution(two_samples):
    eng, sim, s = two_samples
    a, b = eng["log_hr"], sim["log_hr"]
    # log HR SD ~0.09 a trial, so the SE of the difference in means is ~0.006 and a 5% shift in
    # the HR (0.049 on the log scale) is ~8 SEs: 3 SEs catches it
    assert abs(z_score(a, b)) < 3.0
    assert stats.mannwhitneyu(a, b).pvalue > 0.003
    se_median = 1.2533 * math.sqrt(a.var() / a.size + b.var() / b.size)
    assert abs(np.median(a) - np.median(b)) < 3 * se_median
    # both centre on the generating HR
    for x in (a, b):
        assert abs(np.median(x) - math.log(s.hr)) < 3 * 1.2533 * x.std() / math.sqrt(x.size)


def test_the_comparison_detects_a_small_shift(spec, model, two_samples):
    """The checks above have teeth: a 5% larger HR or no dropout fails them."""
    eng, sim, s = two_samples
    shifted = settings_from_spec(spec, SEED + 2, model=model, hr=s.hr * 1.05)
    table = run_block(shifted, 0, ENGINE_REPLICATES)
    assert abs(z_score(table["log_hr"], sim["log_hr"])) > 3.0
    no_dropout = dataclasses.replace(s, drop_scale=0.0)
    _, (t, e, g) = run_block(no_dropout, 0, 128, keep_data=True)
    early = np.array([((e[i] == 0) & (t[i] < 365)).mean() for i in range(128)])
    assert abs(z_score(early, sim["dropped_early"])) > 3.0


# ---- 5. the summary at scale ---------------------------------------------------------------------
def test_summary_of_twenty_thousand_walkback_trials(settings):
    d = run(settings, 20_000, block=4096).to_dict()
    assert d["replicates"] == 20_000 and d["seed"] == SEED
    assert d["generating_hr"] == 0.72
    # MC SE of the median HR ~0.0006; of the coverage 0.0015
    assert abs(d["hr_median"] - 0.72) <= 0.01
    assert 0.94 <= d["hr_ci_coverage"] <= 0.96
    assert abs(d["power_logrank"] - d["power_cox"]) <= 0.01
    assert 0.9 < d["power_logrank"] < 1
    # the expected-range checks of the trial model: medians 210 (intervention) and 113 (control)
    assert abs(d["median_intervention_mean"] - 210) <= 5
    assert abs(d["median_control_mean"] - 113) <= 3
    assert d["median_intervention_not_reached"] == 0 and d["median_control_not_reached"] == 0
    assert d["cox_not_converged"] == 0
    assert 490 < d["events_mean"] < 530
    assert set(d["settings"]) >= {"n", "hr", "conf_type", "ties", "alpha", "tau"}


# ---- 6. Schoenfeld -------------------------------------------------------------------------------
def test_simulated_power_agrees_with_schoenfeld(spec, model):
    grid = [settings_from_spec(spec, SEED, model=model, n=n) for n in (300, 500, 700)]
    rows = power_grid(grid, 2000, block=1024)
    assert [r["n"] for r in rows] == [300, 500, 700]
    for r, s in zip(rows, grid, strict=True):
        expected = schoenfeld_power(s.hr, r["events_mean"], s.alpha, s.ratio_t / s.ratio_sum)
        assert r["power_schoenfeld"] == pytest.approx(expected, rel=1e-12)
        # MC SE of the simulated power <= 0.011
        assert abs(r["power_logrank"] - expected) <= 0.04, r
        assert abs(r["power_cox"] - r["power_logrank"]) <= 0.02, r
        assert r["power_logrank_mcse"] == pytest.approx(
            math.sqrt(r["power_logrank"] * (1 - r["power_logrank"]) / 2000)
        )
    assert rows[0]["power_logrank"] < rows[1]["power_logrank"] < rows[2]["power_logrank"]
    assert rows[0]["events_mean"] < rows[1]["events_mean"] < rows[2]["events_mean"]


@pytest.mark.parametrize("hr", [0.5, 0.72, 0.9, 1.25])
@pytest.mark.parametrize("power", [0.5, 0.8, 0.9])
@pytest.mark.parametrize("share", [0.5, 2 / 3])
def test_schoenfeld_events_round_trip(hr, power, share):
    events = schoenfeld_events(hr, power, 0.05, share)
    assert schoenfeld_power(hr, events, 0.05, share) == pytest.approx(power, abs=1e-12)


def test_schoenfeld_textbook_value():
    # HR 0.72, 80% power, two-sided 5%, 1:1: 4 (1.96 + 0.8416)^2 / log(0.72)^2 = 291.0 events
    assert schoenfeld_events(0.72, 0.8, 0.05, 0.5) == pytest.approx(291.0, abs=0.1)


# ---- 7. writing per-replicate tables -------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_out_has_one_row_per_replicate_in_order(settings, tmp_path, suffix):
    path = tmp_path / "nested" / f"reps{suffix}"  # the folder is created
    res = run(settings, 300, block=128, out=path)
    table = read_table(path)
    memory = run_block(settings, 0, 300)  # one block: the in-memory table
    assert len(table["replicate"]) == 300 == res.summary["replicates"]
    np.testing.assert_array_equal(table["replicate"], np.arange(300))
    assert list(table) == list(memory)
    for k, v in memory.items():
        assert np.array_equal(table[k], v, equal_nan=v.dtype.kind == "f"), k
        if suffix == ".parquet":
            assert table[k].dtype == v.dtype, k
    if suffix == ".csv":
        text = path.read_text()
        assert text.count("\n") == 301 and "\r" not in text


def test_out_with_a_bad_extension_raises(settings, tmp_path):
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        run(settings, 64, out=tmp_path / "reps.txt")
    assert not (tmp_path / "reps.txt").exists()


# ---- 8. memory is bounded ------------------------------------------------------------------------
def peak_traced_mb(settings, replicates: int) -> float:
    run(settings, CHUNK, block=CHUNK)  # warm: compiled kernels, thread pool, imports
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        res = run(settings, replicates, block=1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.summary["replicates"] == replicates
    return peak / 2**20


def test_memory_stays_bounded_without_out(settings):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small = peak_traced_mb(settings, 10_000)
        large = peak_traced_mb(settings, 40_000)
    assert large < 200, f"peak {large:.0f} MB for 40,000 replicates"
    # 4x the blocks; only the HR list (8 bytes a replicate, 0.25 MB here) may grow
    assert large - small < 40, f"peak {small:.0f} MB for 10,000 vs {large:.0f} MB for 40,000"
