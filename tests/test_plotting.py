"""What the KM and cost-effectiveness figures draw: labels from the data, rounded median labels
that never overlap, the optional HR / p annotation, and the CE-plane legend off the points."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

from walkback.analysis import analyze
from walkback.io import read_trial

matplotlib.use("Agg")

INPUTS = Path(__file__).resolve().parent / "reference" / "adjusted" / "inputs"


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _colon():
    trial = read_trial(INPUTS / "colon.csv", time_col="time", event_col="status", arm_col="rx",
                       control="Obs")  # fmt: skip
    return analyze(trial)


def test_median_text_rounds_half_up_and_drops_zero_decimals():
    from walkback.plotting.km import median_text

    got = [median_text(x) for x in (207.5, 52.5, 52.0, 0.125, 8.25, 1155.4, 99.96)]
    assert got == ["208", "52.5", "52", "0.13", "8.3", "1155", "100"]


def test_close_medians_get_labels_that_do_not_overlap():
    from walkback.plotting import km_plot

    res = _colon()  # Obs and Lev medians 2083 and 2152 days: close on a 3,300-day axis
    drawn = km_plot({a: res.arms[a].km for a in res.arm_labels}, table=False, time_unit="days")
    fig = drawn.ax.figure
    fig.canvas.draw()
    labels = drawn.median_labels
    assert set(labels) == {"Obs", "Lev"}  # Lev+5FU's median is not reached: no label
    assert labels["Obs"].get_text() == "2083" and labels["Lev"].get_text() == "2152"
    a, b = (labels[k].get_window_extent(fig.canvas.get_renderer()) for k in ("Obs", "Lev"))
    assert not a.overlaps(b)
    # labels from the data: legend from the curves' names, x label from the time unit
    assert [t.get_text() for t in drawn.ax.get_legend().get_texts()] == list(res.arm_labels)
    assert drawn.ax.get_xlabel() == "Time since randomisation, days"
    assert drawn.ax.get_ylabel() == "Proportion event-free"


def test_medians_far_apart_share_one_row_and_close_ones_do_not():
    from walkback.plotting import km_plot

    lung = read_trial(INPUTS / "lung.csv", time_col="time", event_col="status", arm_col="sex",
                      control="1", event_value=2, censor_value=1)  # fmt: skip
    res = analyze(lung)  # medians 270 and 426 days on a 1,000-day axis
    drawn = km_plot({"2": res.arms["2"].km, "1": res.arms["1"].km}, table=False)
    assert {k: t.get_text() for k, t in drawn.median_labels.items()} == {"2": "426", "1": "270"}
    assert drawn.median_labels["1"].xyann[1] == drawn.median_labels["2"].xyann[1]
    vet = read_trial(INPUTS / "veteran.csv", time_col="time", event_col="status", arm_col="trt",
                     control="1")  # fmt: skip
    res = analyze(vet)  # 52.5 and 103 days on a 1,000-day axis: the later label moves up
    drawn = km_plot({"2": res.arms["2"].km, "1": res.arms["1"].km}, table=False)
    assert {k: t.get_text() for k, t in drawn.median_labels.items()} == {"2": "52.5", "1": "103"}
    assert drawn.median_labels["1"].xyann[1] > drawn.median_labels["2"].xyann[1]


def test_hr_and_p_annotation_sits_with_the_legend():
    from walkback.plotting import km_plot

    res = _colon()  # three arms: each treatment's HR on its legend entry
    hrs = {r["treatment"]: (r["estimate"], r["lower"], r["upper"]) for r in res.hazard_ratios()}
    drawn = km_plot({a: res.arms[a].km for a in res.arm_labels}, table=False,
                    hr={**hrs, "reference": "Obs"}, p=res.logrank_k.p, p_label="log-rank p",
                    time_unit="months")  # fmt: skip
    legend = drawn.ax.get_legend()
    lev5 = res.hazard_ratios()[1]
    entries = [t.get_text() for t in legend.get_texts()]
    assert entries == [
        "Obs",
        f"Lev: {hrs['Lev'][0]:.2f} ({hrs['Lev'][1]:.2f} to {hrs['Lev'][2]:.2f})",
        f"Lev+5FU: {lev5['estimate']:.2f} ({lev5['lower']:.2f} to {lev5['upper']:.2f})",
    ]
    title = legend.get_title().get_text()
    assert title == drawn.annotation
    assert title.splitlines() == ["HR (95% CI) vs Obs", f"log-rank p = {res.logrank_k.p:.2g}"]
    assert drawn.ax.get_xlabel().endswith("months")
    # two arms: one HR with its CI over the legend
    one = km_plot({a: res.arms[a].km for a in res.arm_labels[:2]}, table=False,
                  hr=hrs["Lev"], conf_level=0.9)  # fmt: skip
    assert one.annotation == (
        f"HR {hrs['Lev'][0]:.2f} (90% CI {hrs['Lev'][1]:.2f} to {hrs['Lev'][2]:.2f})"
    )
    plain = km_plot({a: res.arms[a].km for a in res.arm_labels}, table=False)
    assert plain.annotation is None and plain.ax.get_legend().get_title().get_text() == ""


def _boot():
    from walkback.economics import bootstrap

    rng = np.random.default_rng(5)
    treated = np.arange(300) < 150
    cost = rng.gamma(2.0, 900, 300) + 400 * treated
    qaly = np.clip(rng.normal(0.70 + 0.03 * treated, 0.15, 300), 0, 1)
    return bootstrap(cost, qaly, treated, 500, 3)


def test_ce_plane_legend_is_off_the_points_and_currency_is_the_callers():
    import matplotlib.pyplot as plt

    from walkback.plotting import ce_plane
    from walkback.plotting.cost_effectiveness import currency_prefix

    fig, ax = plt.subplots(figsize=(3.5, 3.0), layout="constrained")
    ce_plane(_boot(), ax, wtp=20000, currency=currency_prefix("GBP"))
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())  # under the axes: off every point
    assert ax.get_ylabel() == "Incremental cost (£)"
    assert [t.get_text() for t in ax.get_legend().get_texts()][2] == "£20,000 per QALY"
    fig2, ax2 = plt.subplots()
    ce_plane(_boot(), ax2)
    assert ax2.get_ylabel() == "Incremental cost"  # no currency assumed
    assert currency_prefix("AUD") == "AU$" and currency_prefix("CHF") == "CHF "
    assert currency_prefix(None) == ""


def test_adjusted_survival_plot_draws_the_predicted_curves():
    import matplotlib.pyplot as plt

    from walkback.plotting import adjusted_survival_plot

    trial = read_trial(INPUTS / "veteran.csv", time_col="time", event_col="status", arm_col="trt",
                       control="1", covariates=["karno", "celltype"])  # fmt: skip
    res = analyze(trial, covariates=["karno", "celltype"])
    at = {"karno": 60, "celltype": "large"}
    curves = {f"trt {a}": res.cox.predict_survival({**at, "trt": a}) for a in ("2", "1")}
    drawn = adjusted_survival_plot(curves, time_unit="days")
    for label, c in curves.items():
        line = drawn.lines[label]
        assert line.get_xdata()[0] == 0 and line.get_ydata()[0] == 1
        np.testing.assert_array_equal(line.get_ydata()[1:], c.survival)
    assert [t.get_text() for t in drawn.ax.get_legend().get_texts()] == list(curves)
    gbsg = read_trial(INPUTS / "gbsg.csv", time_col="rfstime", event_col="status",
                      arm_col="hormon", control="0", strata=("meno",))  # fmt: skip
    both = analyze(gbsg).cox.predict_survival({"hormon": "1"})
    with pytest.raises(ValueError, match="holds 2 strata"):
        adjusted_survival_plot({"x": both}, plt.subplots()[1])


def test_km_plot_result_takes_every_label_from_the_analysis():
    from walkback.plotting import km_plot_result

    vet = read_trial(INPUTS / "veteran.csv", time_col="time", event_col="status", arm_col="trt",
                     control="1")  # fmt: skip
    res = analyze(vet, time_unit="months", alpha=0.1)
    drawn = km_plot_result(res, table=False)
    assert [t.get_text() for t in drawn.ax.get_legend().get_texts()] == ["trt 2", "trt 1"]
    hr = res.hazard_ratios()[0]
    assert drawn.annotation.splitlines() == [
        f"HR {hr['estimate']:.2f} (90% CI {hr['lower']:.2f} to {hr['upper']:.2f})",
        f"log-rank p = {res.logrank.p:.2g}",
    ]
    assert drawn.ax.get_xlabel() == "Time since randomisation, months"
    three = km_plot_result(_colon(), table=False)
    entries = [t.get_text() for t in three.ax.get_legend().get_texts()]
    assert entries[0].startswith("Lev: ") and entries[2] == "Obs"
    assert three.annotation.startswith("HR (95% CI) vs Obs")
