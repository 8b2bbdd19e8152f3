"""The competing-risks kernels refuse inputs that would give a wrong answer, and agree with
their own definitions (the Python API; R parity is in test_competing_parity.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from walkback.competing_data import read_competing
from walkback.estimators.competing import cumulative_incidence, fine_gray, gray_test
from walkback.exceptions import DataError, EstimationError

T = np.array([1.0, 2, 2, 3, 4, 5, 6, 7])
S = np.array([1, 2, 0, 1, 2, 1, 0, 1])
G = np.array([0, 1, 0, 1, 0, 1, 0, 1])


def test_missing_status_and_cause_equal_to_censor_are_refused():
    with pytest.raises(DataError, match="must not be missing"):
        cumulative_incidence(T, [1, 2, None, 1, 2, 1, 0, 1], 1, 0)
    with pytest.raises(ValueError, match="must differ"):
        cumulative_incidence(T, S, 0, 0)
    with pytest.raises(DataError, match="does not occur"):
        gray_test(T, S, G, 3, 0)
    with pytest.raises(DataError, match="finite"):
        cumulative_incidence([1.0, np.nan], [1, 0], 1, 0)
    with pytest.raises(DataError, match="must not be missing"):
        cumulative_incidence([1.0, 2.0], [1, "NA"], 1, 0)


def test_one_group_and_constant_covariate_are_refused():
    with pytest.raises(EstimationError, match="two groups"):
        gray_test(T, S, np.zeros(8), 1, 0)
    with pytest.raises(EstimationError, match="singular"):
        fine_gray(T, S, np.ones(8), 1, 0)


def test_codes_compare_as_text_and_a_cause_absent_from_a_group_is_zero():
    a = cumulative_incidence(T, S, 1, 0)
    b = cumulative_incidence(T, [str(v) for v in S], "1", "0")
    c = cumulative_incidence(T, [f"{v}.0" for v in S], 1.0, "0")
    np.testing.assert_array_equal(a.cif, b.cif)
    np.testing.assert_array_equal(a.variance, c.variance)
    none = cumulative_incidence(T, np.where(S == 1, 2, S), 1, 0)
    assert none.time.size == 0 and none.at([3.0])["cif"].iloc[0] == 0.0


def test_read_competing_from_a_data_frame_names_rows():
    df = pd.DataFrame({"t": [1, 2, -3], "e": [1, 0, 2], "arm": ["a", "b", "a"]}, index=[10, 11, 12])
    kw = dict(time_col="t", event_col="e", arm_col="arm", treatment="b", control="a", cause=1)
    with pytest.raises(DataError, match=r"row 12.*must be >= 0"):
        read_competing(df, **kw)
    df.loc[12, "t"] = 3
    d = read_competing(df, **kw)
    assert d.causes == ("1", "2") and d.n == 3


def test_cif_stack_labels_come_from_the_data_and_the_top_edge_is_any_event():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from walkback.estimators import kaplan_meier
    from walkback.plotting import cif_stack, style

    arms = {"arm 0": G == 0, "arm 1": G == 1}
    curves = {
        a: {k: cumulative_incidence(T[r], S[r], k, 0) for k in (1, 2)} for a, r in arms.items()
    }
    with style():
        plot = cif_stack(curves, xlabel="Time (days)", legend_title="status")
    assert [ax.get_title() for ax in plot.axes.values()] == ["arm 0", "arm 1"]
    assert set(plot.areas) == {(a, k) for a in arms for k in (1, 2)}
    legend = plot.axes["arm 1"].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["2", "1"]
    top = plot.areas[("arm 1", 2)].get_paths()[0].vertices[:, 1].max()
    r = arms["arm 1"]
    km = kaplan_meier(T[r], (S[r] != 0).astype(int))
    assert top == pytest.approx(1 - km.survival.min(), rel=1e-12)
    plt.close(plot.figure)


def test_cif_equals_lifelines_aalen_johansen_on_untied_times():
    """lifelines' AalenJohansenFitter (a peer) gives the same estimate where no times are tied
    (it jitters ties); its variance is another formula, so only the estimate is compared."""
    from lifelines import AalenJohansenFitter

    rng = np.random.default_rng(11)
    t = rng.exponential(10, 200).round(6)
    s = rng.choice([0, 1, 2], 200, p=[0.3, 0.4, 0.3])
    assert np.unique(t).size == t.size
    ajf = AalenJohansenFitter(calculate_variance=False).fit(t, s, event_of_interest=1)
    ref = ajf.cumulative_density_.iloc[:, 0]
    got = cumulative_incidence(t, s, 1, 0).at(ref.index.to_numpy())["cif"].to_numpy()
    np.testing.assert_allclose(got, ref.to_numpy(), rtol=1e-10, atol=1e-14)


def test_near_tied_times_are_ties_under_timefix_only():
    from walkback.analysis.competing import competing_risks

    base = pd.DataFrame({"t": T * 10, "e": S, "arm": np.where(G == 1, "b", "a")})
    base.loc[6, "t"] = 50.0  # tied with row 5 (other arm)
    near = base.copy()
    near.loc[2, "t"] = 20 + 1e-12  # a hair after row 1's 20 (cause 2 vs censored)
    near.loc[6, "t"] = 50 + 1e-12  # a hair after row 5's 50, in the other arm
    kw = dict(time_col="t", event_col="e", arm_col="arm", treatment="b", control="a", cause=1)
    ref = competing_risks(read_competing(base, **kw)).to_dict()
    fixed = competing_risks(read_competing(near, **kw)).to_dict()
    exact = competing_risks(read_competing(near, **kw), timefix=False).to_dict()
    for key in ("gray", "fine_gray", "cause_specific_hr"):
        assert fixed[key] == ref[key]
    assert exact["fine_gray"] != ref["fine_gray"]
