"""walkback: re-analyse and reproduce randomised trials with time-to-event outcomes.

R survival is the reference implementation; every convention (CI transform, ties) is an explicit,
recorded argument.
"""

from __future__ import annotations

__version__ = "0.1.0"


def analyze(
    data,
    *,
    time: str,
    event: str,
    arm: str,
    control,
    treatment=None,
    strata=(),
    covariates=(),
    na: str = "error",
    other_arms: str = "error",
    event_value=1,
    censor_value=0,
    id_col: str | None = None,
    start: str | None = None,
    entry: str | None = None,
    weights: str | None = None,
    cluster: str | None = None,
    **options,
):
    """Analyse a trial held in a pandas DataFrame (or a TrialData), with the CLI's options.

    ``walkback.analyze(df, time="time", event="status", arm="rx", control="Obs",
    event_value=2, censor_value=1, covariates=["age", "celltype:large"], na="drop")``.
    Errors name DataFrame rows by their index label. ``options`` go to
    :func:`walkback.analysis.analyze` (``conf_type``, ``ties``, ``times``, ``tau``, ``alpha``,
    ``timefix``, ``time_unit``).

    ``start`` (counting-process rows on (start, time], several per ``id_col``), ``entry``
    (delayed entry), ``weights`` (case weights) and ``cluster`` (robust variance) name columns as
    the CLI's ``--start-col``, ``--entry-col``, ``--weights-col``, ``--cluster-col``; any of them
    gives :func:`walkback.analysis.intervals.analyze_intervals` instead.
    """
    import pandas as pd

    from walkback.analysis import analyze as _analyze
    from walkback.schema import TrialData

    intervals = any(c is not None for c in (start, entry, weights, cluster))
    if isinstance(data, TrialData) and not intervals:
        return _analyze(data, covariates=covariates, **options)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame or TrialData, not {type(data).__name__}")
    if isinstance(data, TrialData):
        raise TypeError("start/entry/weights/cluster need a DataFrame, not a TrialData")
    index = data.index
    numbered = pd.api.types.is_integer_dtype(index.dtype)
    trial = TrialData.from_frame(
        data.reset_index(drop=True),
        time_col=time,
        event_col=event,
        arm_col=arm,
        control=control,
        treatment=treatment,
        strata=strata,
        covariates=covariates,
        na=na,
        other_arms=other_arms,
        event_value=event_value,
        censor_value=censor_value,
        id_col=id_col if start is None else None,
        line_numbers=index.to_numpy(dtype="int64") if numbered else None,
        line_offset=0,
        line_unit="row",
    )
    if not intervals:
        return _analyze(trial, covariates=covariates, **options)
    from walkback.analysis.intervals import analyze_intervals
    from walkback.interval_columns import read_interval_columns

    cols = read_interval_columns(
        trial, start_col=start, entry_col=entry, weights_col=weights, cluster_col=cluster,
        id_col=id_col, timefix=options.get("timefix", True),
    )  # fmt: skip
    return analyze_intervals(trial, cols, covariates=covariates, **options)
