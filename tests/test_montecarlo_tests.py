"""Weighted tests and MaxCombo in the Monte Carlo engine (`montecarlo --test`), the delayed-effect
option (`--delay`), and MaxCombo's exact joint-normal p (walkback.max_abs_normal).

* Per replicate the engine's z, chisq and p equal walkback.estimators.weighted (weighted_logrank,
  maxcombo) on the same simulated data to 1e-9 (relative, 1e-12 absolute floor).
* MaxCombo's p: the rank <= 3 quadrature against closed forms, scipy's Owen's T, a direct
  simulation and R's mvtnorm; under the null the engine's MaxCombo rejects at alpha within the
  binomial 99% range (a simulation of the same statistic agreeing with its p-value).
* A delay beyond follow-up gives exactly the HR = 1 trials; delay 0 the proportional-hazards ones.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re

import numpy as np
import pytest
from scipy import special, stats

from cli_run import run
from test_cli_montecarlo import assert_one_line_error
from test_montecarlo import assert_agree, assert_tables_equal
from test_weighted_tests import _args, _params
from walkback.calibrate import calibrate
from walkback.cli import main
from walkback.estimators.weighted import maxcombo, weighted_logrank
from walkback.exceptions import DataError
from walkback.max_abs_normal import max_abs_normal_sf_low_rank, owens_t, unit_rows
from walkback.montecarlo.engine import CHUNK, run_block, settings_from_spec
from walkback.montecarlo.engine import run as run_engine
from walkback.spec import load_spec

SEED = 15
TESTS = ("logrank", "fh(0,1)", "fh(1,0)", "fh(0.5,2)", "gehan", "tarone-ware", "peto", "maxcombo")


@pytest.fixture(scope="module")
def spec():
    return load_spec("walkback")


@pytest.fixture(scope="module")
def model(spec):
    return calibrate(spec).model


# ---- 1. the engine equals the single-dataset functions, replicate by replicate -------------------
def single(time, event, treated, name: str, kind: str, rho: float, gamma: float):
    """(z, chisq, p) of walkback.estimators.weighted on one replicate; NaN if it is undefined
    there (an arm nobody was randomised to)."""
    try:
        if kind == "maxcombo":
            r = maxcombo(time, event, treated, timefix=False)
        else:
            r = weighted_logrank(
                time, event, treated, weights=kind, rho=rho, gamma=gamma, timefix=False
            )
    except DataError:
        return math.nan, math.nan, math.nan
    return r.z, r.chisq, r.p


def check_tests_against_estimators(settings, replicates: int, first: int = 0) -> dict:
    table, (times, events, treated) = run_block(settings, first, replicates, keep_data=True)
    one_arm = treated.all(axis=1) | ~treated.any(axis=1)
    for name, (kind, rho, gamma) in zip(settings.tests, settings.test_params, strict=True):
        want = np.array(
            [
                single(times[i], events[i], treated[i], name, kind, rho, gamma)
                for i in range(replicates)
            ]
        )
        got = np.column_stack([table[f"{name}_{f}"] for f in ("z", "chisq", "p")])
        # a one-arm replicate has no test: the engine says so with NaN z and p
        assert np.isnan(got[one_arm][:, [0, 2]]).all(), name
        want[one_arm] = got[one_arm]
        for j, field in enumerate(("z", "chisq", "p")):
            assert_agree(f"{name}_{field}", got[:, j], want[:, j], rel=1e-9)
    return table


def test_every_replicate_matches_the_weighted_estimators(spec, model):
    s = settings_from_spec(spec, SEED, model=model, tests=TESTS)
    table = check_tests_against_estimators(s, 128, first=2 * CHUNK)
    for name in TESTS:  # a full-size trial always has every test
        assert np.isfinite(table[f"{name}_p"]).all(), name
    winners = set(table["maxcombo_winner"].tolist())
    assert len(winners) >= 3 and winners <= {"fh(0,0)", "fh(0,1)", "fh(1,0)", "fh(1,1)"}


def test_matches_under_a_delayed_effect(spec, model):
    s = settings_from_spec(spec, SEED, model=model, hr=0.6, delay=150, tests=TESTS)
    check_tests_against_estimators(s, 64)


EDGE = {
    # tiny trials: few events, an arm with no events, sometimes an arm with nobody in it
    "n10-hr5": dict(n=10, hr=5.0),
    "n24-hr0.3-delay": dict(n=24, hr=0.3, delay=60.0),
}


@pytest.mark.parametrize("overrides", EDGE.values(), ids=EDGE.keys())
def test_small_trials_match_including_undefined_tests(spec, model, overrides):
    s = settings_from_spec(spec, SEED + 1, model=model, tests=TESTS, **overrides)
    table = check_tests_against_estimators(s, 256)
    assert np.isfinite(table["maxcombo_p"]).sum() >= 100


# ---- 2. MaxCombo's p: the exact quadrature -----------------------------------------------------
def upper(m: float) -> float:
    return float(stats.norm.sf(m))


@pytest.mark.parametrize("m", [0.3, 1.0, 1.96, 3.0, 5.0, 7.0])
def test_independent_components_have_the_closed_form(m):
    for k in (1, 2, 3):
        want = -math.expm1(k * math.log1p(-2 * upper(m)))  # 1 - (1 - 2 Q(m))^k
        assert max_abs_normal_sf_low_rank(m, np.eye(k)) == pytest.approx(want, rel=1e-12)
    assert math.isnan(max_abs_normal_sf_low_rank(1.0, np.eye(4)))  # rank 4: not handled here
    assert max_abs_normal_sf_low_rank(0.0, np.eye(3)) == 1.0


@pytest.mark.parametrize(("h", "a"), [(0.1, 0.5), (1.0, 1.0), (2.0, 3.0), (4.0, 50.0), (0.5, 1e6)])
def test_owens_t_matches_scipy(h, a):
    assert owens_t(h, a) == pytest.approx(special.owens_t(h, a), rel=1e-13)


def random_rank3(rng, k: int = 4) -> np.ndarray:
    a = rng.normal(size=(k, 3)) * np.array([1.0, 1.0, rng.uniform(0.05, 1.0)])
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    return a @ a.T


def test_rank3_p_agrees_with_a_direct_simulation():
    rng = np.random.default_rng(3)
    for _ in range(3):
        corr = random_rank3(rng)
        a = unit_rows(corr)
        assert a.shape == (4, 3)
        x = rng.standard_normal((400_000, 3))
        top = np.abs(x @ a.T).max(axis=1)
        for m in (1.0, 2.0, 2.8):
            p = max_abs_normal_sf_low_rank(m, corr)
            sim = float(np.mean(top >= m))
            assert abs(p - sim) <= 4 * math.sqrt(sim * (1 - sim) / top.size), (m, p, sim)


def test_rank2_and_repeated_components():
    rho = 0.6
    two = np.array([[1, rho], [rho, 1]])
    inside = stats.multivariate_normal.cdf([2, 2], cov=two, lower_limit=[-2, -2])
    stacked = np.block([[two, two], [two, two]])  # each test twice: the same maximum
    assert max_abs_normal_sf_low_rank(2.0, stacked) == pytest.approx(1 - inside, abs=1e-7)
    assert max_abs_normal_sf_low_rank(2.0, stacked) == max_abs_normal_sf_low_rank(2.0, two)
    sign = np.array([[1.0, -1.0], [-1.0, 1.0]])  # Z and -Z: one slab
    assert max_abs_normal_sf_low_rank(1.5, sign) == pytest.approx(2 * upper(1.5), rel=1e-14)


def test_p_is_invariant_to_the_order_of_the_components():
    corr = random_rank3(np.random.default_rng(9))
    base = max_abs_normal_sf_low_rank(2.2, corr)
    for perm in ([3, 2, 1, 0], [1, 3, 0, 2]):
        got = max_abs_normal_sf_low_rank(2.2, corr[np.ix_(perm, perm)])
        assert got == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize(("case", "res"), [p for p in _params() if p.values[1]["maxcombo"]])
def test_exact_p_agrees_with_mvtnorm_within_its_error(case, res):
    """R's pmvnorm (Genz-Bretz, abseps 1e-8) reports its own error; the quadrature is within
    three of those (the largest gap, rotterdam stratified, 3.0e-6 against R's 1.3e-6 estimate;
    a 2e8-draw simulation sides with the quadrature there: 5.61e-5 +/- 0.05e-5 vs 5.577e-5,
    R 5.273e-5)."""
    t, e, g, s = _args(case, res)
    want = res["maxcombo"]
    assert abs(maxcombo(t, e, g, s).p - want["p"]) <= 3 * want["p_error"] + 1e-8


# ---- 3. MaxCombo under the null, in the engine ---------------------------------------------------
def test_maxcombo_rejects_at_alpha_under_the_null(spec, model):
    """A simulation of MaxCombo under the null agrees with its p-value: at 4,000 replicates of
    the WalkBack trial with HR 1 the share with p < q is within the binomial 99% range of q
    (measured at alpha = 0.05: 0.0525, range [0.041, 0.059]), and the p-values are uniform."""
    reps = 4000
    s = settings_from_spec(spec, 20240611, model=model, hr=1.0, tests=("maxcombo", "logrank"))
    d = run_engine(s, reps, block=1024).to_dict()
    table = run_block(s, 0, reps)
    for name in ("maxcombo", "logrank"):
        t, p = d["tests"][name], table[f"{name}_p"]
        assert t["power"] == np.mean(p < s.alpha) and t["p_undefined"] == 0
        for q in (0.01, s.alpha, 0.1, 0.25, 0.5):
            lo, hi = stats.binom.ppf([0.005, 0.995], reps, q) / reps
            assert lo <= np.mean(p < q) <= hi, (name, q, np.mean(p < q), lo, hi)
        assert stats.kstest(p, "uniform").pvalue > 0.01
        assert abs(t["z_mean"]) < 4 * t["z_sd"] / math.sqrt(reps)  # z of the null is centred
    assert d["tests"]["logrank"]["power"] == d["power_logrank"]  # the same test twice


# ---- 4. the delayed effect ---------------------------------------------------------------------
def test_delay_zero_is_proportional_hazards_and_a_long_delay_is_no_effect(spec, model):
    ph = run_block(settings_from_spec(spec, SEED, model=model), 0, CHUNK)
    zero = run_block(settings_from_spec(spec, SEED, model=model, delay=0.0), 0, CHUNK)
    assert_tables_equal(ph, zero, "delay 0 vs none")
    _, null = run_block(settings_from_spec(spec, SEED, model=model, hr=1.0), 0, CHUNK, True)
    _, late = run_block(
        settings_from_spec(spec, SEED, model=model, hr=0.5, delay=5000.0), 0, CHUNK, True
    )
    for a, b in zip(null, late, strict=True):  # no event can happen after follow-up ends
        np.testing.assert_array_equal(a, b)


def test_maxcombo_has_more_power_than_logrank_under_a_delayed_effect(spec, model):
    s = settings_from_spec(
        spec, SEED, model=model, hr=0.6, delay=180.0, tests=("logrank", "maxcombo")
    )
    table = run_block(s, 0, 1024)
    mc, lr = table["maxcombo_p"] < s.alpha, table["logrank_p"] < s.alpha
    diff = mc.mean() - lr.mean()
    se = math.sqrt(np.var(mc.astype(float) - lr.astype(float)) / mc.size)  # paired
    assert diff > 4 * se, (mc.mean(), lr.mean(), se)
    # the late effect is what FH(0,1) (late weights) picks up: it wins most often
    winners, counts = np.unique(table["maxcombo_winner"], return_counts=True)
    assert winners[np.argmax(counts)] in ("fh(0,1)", "fh(1,1)")


# ---- 5. the CLI ----------------------------------------------------------------------------------
def cli(argv: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


MC = ["montecarlo", "--replicates", 300, "--seed", 3, "--hr", 0.65, "--delay", 120]


def test_montecarlo_test_json(spec):
    code, out, err = cli([*MC, "--test", "maxcombo", "--test", "fh(0, 1)", "--json"])
    assert code == 0, err
    d = json.loads(out)
    assert list(d["tests"]) == ["fh(0, 1)", "maxcombo"]  # sorted keys; names as written
    assert d["settings"]["delay"] == 120 and d["settings"]["tests"] == ["maxcombo", "fh(0, 1)"]
    mc = d["tests"]["maxcombo"]
    assert set(mc) >= {"power", "power_mcse", "z_mean", "z_sd", "z_median", "winner_share"}
    assert mc["power_mcse"] == pytest.approx(math.sqrt(mc["power"] * (1 - mc["power"]) / 300))
    assert sum(mc["winner_share"].values()) == pytest.approx(1.0)
    assert mc["z_q025"] < mc["z_median"] < mc["z_q975"]
    assert mc["z_median"] < 0  # a lower hazard on treatment: z < 0
    # the JSON is a function of the seed: the same bytes but for the timings
    _, again, _ = cli([*MC, "--test", "maxcombo", "--test", "fh(0, 1)", "--json"])
    timing = re.compile(r'"seconds(_per_replicate)?": [-+0-9.e]+')
    assert timing.sub("", out) == timing.sub("", again)
    assert len(timing.findall(out)) == 2


def test_montecarlo_test_text_and_out(tmp_path):
    path = tmp_path / "reps.parquet"
    code, out, err = cli([*MC, "--test", "maxcombo", "--test", "logrank", "--out", path])
    assert code == 0, err
    assert "after day 120" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("Test ")]
    assert [ln.split(":")[0] for ln in lines] == ["Test maxcombo", "Test logrank"]
    assert "winner fh(" in lines[0] and "±" in lines[1]
    import pyarrow.parquet as pq

    frame = pq.read_table(path).to_pandas()
    assert {"maxcombo_z", "maxcombo_chisq", "maxcombo_p", "maxcombo_winner", "logrank_p"} <= set(
        frame
    )
    np.testing.assert_allclose(frame["logrank_p"], frame["p_logrank"], rtol=1e-12)


def test_power_with_tests(capsys):
    argv = ["power", "--n", "300,600", "--replicates", 200, "--seed", 1, "--delay", 90]
    code, out, err = run([*argv, "--test", "maxcombo", "--json"], capsys)
    assert code == 0, err
    grid = json.loads(out)["grid"]
    assert [set(r["tests"]) for r in grid] == [{"maxcombo"}, {"maxcombo"}]
    assert grid[0]["tests"]["maxcombo"]["power"] < grid[1]["tests"]["maxcombo"]["power"]
    code, out, err = run([*argv, "--test", "maxcombo"], capsys)
    assert code == 0, err
    assert "maxcombo" in out.splitlines()[1] and "after day 90" in out


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--test", "wilcoxon"], "unknown test 'wilcoxon'"),
        (["--test", "fh(-1,0)"], "RHO and GAMMA"),
        (["--test", "fh(a,1)"], "RHO and GAMMA"),
        (["--delay", "-5"], "--delay"),
        (["--delay", "inf"], "--delay"),
    ],
)
@pytest.mark.parametrize("command", ["montecarlo", "power"])
def test_bad_test_names_and_delays_exit_2(capsys, command, extra, fragment):
    grid = ["--n", "300"] if command == "power" else []
    code, out, err = run([command, "--replicates", 10, "--seed", 1, *grid, *extra], capsys)
    assert_one_line_error(code, err, fragment)
    assert out == ""
