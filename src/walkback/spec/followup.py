"""Section readers for [recruitment], [followup] and [dropout]."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from walkback.spec.reader import _Reader
from walkback.spec.types import FREE, Param


@dataclass(frozen=True)
class Recruitment:
    start: dt.date
    end: dt.date
    rate: tuple[tuple[dt.date, float], ...]  # piecewise-constant weights from each date


@dataclass(frozen=True)
class Followup:
    final_date: dt.date
    min_months: int
    max_months: int
    report_every_months: int
    days_per_month: float


def read_recruitment(r: _Reader, raw: dict) -> Recruitment:
    """[recruitment]: the window and a piecewise-constant rate (default: uniform)."""
    rec = r.table(raw, "recruitment", "")
    r.keys(rec, "recruitment", ("start", "end", "rate"))
    start = r.get(rec, "start", "recruitment", dt.date)
    end = r.get(rec, "end", "recruitment", dt.date)
    if not start < end:
        raise r.fail("recruitment.end", "must be after recruitment.start", str(end))
    rate = []
    for i, p in enumerate(rec.get("rate", [{"from": start, "weight": 1.0}])):
        r.keys(p, f"recruitment.rate[{i}]", ("from", "weight"))
        d = r.get(p, "from", f"recruitment.rate[{i}]", dt.date)
        w = r.number(p.get("weight"), f"recruitment.rate[{i}].weight")
        if w < 0 or not start <= d < end or (rate and d <= rate[-1][0]):
            raise r.fail(
                f"recruitment.rate[{i}]",
                "dates must increase within the window and weights be >= 0",
                str(d),
            )
        rate.append((d, w))
    if rate[0][0] != start or not any(w > 0 for _, w in rate):
        raise r.fail("recruitment.rate", "must start at recruitment.start with some weight > 0")
    return Recruitment(start, end, tuple(rate))


def read_followup(r: _Reader, raw: dict, recruitment_end: dt.date) -> Followup:
    """[followup]: the final follow-up date, minimum and maximum months, the reporting interval
    (whole months; 0 = event and censoring days recorded daily)."""
    fu = r.table(raw, "followup", "")
    r.keys(
        fu,
        "followup",
        ("final_date", "min_months", "max_months", "report_every_months", "days_per_month"),
    )
    final = r.get(fu, "final_date", "followup", dt.date)
    mn = r.get(fu, "min_months", "followup", int)
    mx = r.get(fu, "max_months", "followup", int)
    if not 0 < mn <= mx:
        raise r.fail("followup", "needs 0 < min_months <= max_months", (mn, mx))
    if final < recruitment_end:
        raise r.fail("followup.final_date", "must not be before the end of recruitment", str(final))
    every = r.whole(fu, "report_every_months", "followup", default=1, minimum=0)
    dpm = r.number(fu.get("days_per_month", 365.25 / 12), "followup.days_per_month", positive=True)
    return Followup(final, mn, mx, every, dpm)


def read_dropout(r: _Reader, raw: dict) -> Param:
    """[dropout].annual_rate (default 0; may be calibrated, or "free": fitted jointly with the
    outcome models' free parameters, e.g. to a median follow-up target)."""
    drop = r.table(raw, "dropout", "", required=False)
    r.keys(drop, "dropout", ("annual_rate",))
    if drop.get("annual_rate") == "free":
        return FREE
    dropout = r.param(drop.get("annual_rate", 0.0), "dropout.annual_rate", positive=False)
    if dropout.value is not None and dropout.value < 0:
        raise r.fail("dropout.annual_rate", "must be >= 0", dropout.value)
    return dropout
