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
    **options,
):
    """Analyse a trial held in a pandas DataFrame (or a TrialData), with the CLI's options.

    ``walkback.analyze(df, time="time", event="status", arm="rx", control="Obs",
    event_value=2, censor_value=1, covariates=["age", "celltype:large"], na="drop")``.
    Errors name DataFrame rows by their index label. ``options`` go to
    :func:`walkback.analysis.analyze` (``conf_type``, ``ties``, ``times``, ``tau``, ``alpha``,
    ``timefix``, ``time_unit``).
    """
    import pandas as pd

    from walkback.analysis import analyze as _analyze
    from walkback.schema import TrialData

    if isinstance(data, TrialData):
        return _analyze(data, covariates=covariates, **options)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame or TrialData, not {type(data).__name__}")
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
        id_col=id_col,
        line_numbers=index.to_numpy(dtype="int64") if numbered else None,
        line_offset=0,
        line_unit="row",
    )
    return _analyze(trial, covariates=covariates, **options)
