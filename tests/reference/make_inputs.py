"""Generate the synthetic reference inputs and the case manifest.

Writes ``tests/reference/inputs/<id>.csv`` for every synthetic case and
``tests/reference/cases.json`` listing every case (real and synthetic).
Real-trial CSVs are exported by ``reference.R`` from R's survival package.

Deterministic: every synthetic case uses its own fixed ``numpy.random.default_rng``
seed, so running this twice gives byte-identical files.

Run from anywhere:  python tests/reference/make_inputs.py
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "inputs"
MANIFEST = HERE / "cases.json"

# --------------------------------------------------------------------------------------
# Real trials: exported by reference.R (kind "real"); listed here so the manifest is
# the single source of truth for ids, columns, arms, strata, times and tau.
# --------------------------------------------------------------------------------------
REAL_CASES = [
    {
        "id": "veteran",
        "time_col": "time",
        "event_col": "status",
        "arm_col": "trt",
        "treatment": "2",
        "control": "1",
        "strata": ["celltype"],
        "times": [0.5, 30, 90, 180, 365, 600, 1000],
        "tau": 365,
        "description": "R survival::veteran, Veterans' Administration lung cancer trial; "
        "standard (1) vs test (2) chemotherapy",
    },
    {
        "id": "ovarian",
        "time_col": "futime",
        "event_col": "fustat",
        "arm_col": "rx",
        "treatment": "2",
        "control": "1",
        "strata": ["resid.ds"],
        "times": [30, 59, 365, 638, 1200, 1300],
        "tau": 1150,
        "description": "R survival::ovarian, ovarian cancer trial; cyclophosphamide (1) vs "
        "cyclophosphamide + adriamycin (2); tau 1150 exceeds arm 1's last time (1106)",
    },
    {
        "id": "colon",
        "time_col": "time",
        "event_col": "status",
        "arm_col": "rx",
        "treatment": "Lev+5FU",
        "control": "Obs",
        "strata": ["node4"],
        "times": [10, 23, 365, 1000, 2000, 3250],
        "tau": 1825,
        "description": "R survival::colon, adjuvant colon cancer trial, death records "
        "(etype 2) only; observation (Obs) vs levamisole + 5-FU (Lev+5FU)",
    },
    {
        "id": "aml",
        "time_col": "time",
        "event_col": "status",
        "arm_col": "x",
        "treatment": "Maintained",
        "control": "Nonmaintained",
        "strata": [],
        "times": [4, 9, 23, 48, 100, 161, 200],
        "tau": 34,
        "description": "R survival::aml, acute myelogenous leukaemia; maintenance "
        "chemotherapy vs none; tau 34 is an observed event time",
    },
    {
        "id": "pbc",
        "time_col": "time",
        "event_col": "status",
        "arm_col": "trt",
        "treatment": "1",
        "control": "2",
        "strata": ["edema"],
        "times": [30, 41, 365, 1000, 2000, 4540],
        "tau": 3650,
        "description": "R survival::pbc, Mayo primary biliary cholangitis trial (first 312 "
        "randomised rows); D-penicillamine (1) vs placebo (2); event = death (status 2), "
        "transplant censored",
    },
    {
        "id": "myeloid",
        "time_col": "futime",
        "event_col": "death",
        "arm_col": "trt",
        "treatment": "B",
        "control": "A",
        "strata": ["sex"],
        "times": [5, 13, 180, 365, 730, 2400],
        "tau": 1825,
        "description": "R survival::myeloid, acute myeloid leukaemia trial; arm A vs arm B; "
        "overall survival (futime, death)",
    },
    {
        "id": "gbsg",
        "time_col": "rfstime",
        "event_col": "status",
        "arm_col": "hormon",
        "treatment": "1",
        "control": "0",
        "strata": ["grade"],
        "times": [50, 72, 365, 1000, 2000, 2600],
        "tau": 2000,
        "description": "R survival::gbsg, German Breast Cancer Study Group 2; hormonal "
        "therapy (1) vs none (0); recurrence-free survival",
    },
    {
        "id": "lung",
        "time_col": "time",
        "event_col": "status",
        "arm_col": "sex",
        "treatment": "2",
        "control": "1",
        "strata": ["ph.ecog"],
        "times": [4, 5, 180, 365, 730, 1000],
        "tau": 730,
        "description": "R survival::lung, NCCTG advanced lung cancer; sex used as the 'arm' "
        "(1 male control, 2 female); status recoded to 0/1; rows with missing ph.ecog "
        "dropped",
    },
]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _cell(value: object) -> str:
    """Text for one CSV cell; floats use the shortest round-trip repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("booleans are not allowed in reference inputs")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"non-finite value {f!r}")
        if f == int(f) and abs(f) < 1e15:
            return str(int(f))
        text = repr(f)
        if "e" in text or "E" in text:
            raise ValueError(f"value {f!r} would be written in exponent notation")
        return text
    raise TypeError(f"unsupported cell type {type(value)!r}")


def _write_csv(path: Path, columns: dict[str, list]) -> None:
    names = list(columns)
    n = len(columns[names[0]])
    if any(len(columns[c]) != n for c in names):
        raise ValueError(f"{path.name}: columns of unequal length")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(names)
        for i in range(n):
            writer.writerow([_cell(columns[c][i]) for c in names])


def _arms(rng: np.random.Generator, n_trt: int, n_ctl: int, trt: str, ctl: str) -> np.ndarray:
    """Randomly interleaved arm labels with exact arm sizes."""
    labels = np.array([trt] * n_trt + [ctl] * n_ctl, dtype=object)
    return labels[rng.permutation(n_trt + n_ctl)]


def _check_case(case: dict, columns: dict[str, list], *, zero_first: bool = False) -> None:
    """Assert the manifest times/tau have the properties the test-suite relies on."""
    time = np.asarray(columns[case["time_col"]], dtype=float)
    event = np.asarray(columns[case["event_col"]], dtype=int)
    arm = np.asarray(columns[case["arm_col"]], dtype=object)
    times = [float(t) for t in case["times"]]
    cid = case["id"]
    if set(np.unique(event)) - {0, 1}:
        raise AssertionError(f"{cid}: events must be 0/1")
    if set(arm) != {case["treatment"], case["control"]}:
        raise AssertionError(f"{cid}: arm labels {set(arm)} do not match the manifest")
    if times != sorted(set(times)):
        raise AssertionError(f"{cid}: times must be strictly increasing")
    if (time < 0).any():
        raise AssertionError(f"{cid}: negative times")
    first_event = time[event == 1].min()
    if not zero_first and not times[0] < first_event:
        raise AssertionError(f"{cid}: no requested time before the first event")
    if not set(times) & set(time[event == 1]):
        raise AssertionError(f"{cid}: no requested time equal to an observed event time")
    last = {a: time[arm == a].max() for a in (case["treatment"], case["control"])}
    if not times[-1] > min(last.values()):
        raise AssertionError(f"{cid}: no requested time beyond an arm's last time")
    for a in last:
        if not (event[arm == a] == 1).any():
            raise AssertionError(f"{cid}: arm {a!r} has no events")


def _case(cid: str, **kw) -> dict:
    base = {"id": cid, "file": f"inputs/{cid}.csv", "kind": "synthetic"}
    base.update(kw)
    return base


# --------------------------------------------------------------------------------------
# synthetic cases
# --------------------------------------------------------------------------------------
def syn_ties() -> tuple[dict, dict]:
    """Heavy ties: integer times 1..20, n = 300, three sites."""
    rng = np.random.default_rng(101)
    n = 300
    arm = _arms(rng, 150, 150, "B", "A")
    site = rng.choice(np.array(["s1", "s2", "s3"]), size=n)
    site_scale = np.select([site == "s1", site == "s2"], [1.0, 0.75], 1.35)
    scale = np.where(arm == "B", 12.0, 8.0) * site_scale
    latent = np.ceil(rng.exponential(scale))
    cens = np.minimum(rng.integers(6, 26, size=n), 20)
    time = np.minimum(latent, cens).astype(int)
    event = (latent <= cens).astype(int)
    cols = {
        "id": list(range(1, n + 1)),
        "arm": list(arm),
        "time": list(time),
        "event": list(event),
        "site": list(site),
    }
    case = _case(
        "syn_ties",
        time_col="time",
        event_col="event",
        arm_col="arm",
        treatment="B",
        control="A",
        strata=["site"],
        times=[0.5, 1, 5, 10, 15, 20, 21],
        tau=15,
        description="Synthetic heavy ties: integer times 1..20, n=300, stratum 'site' (3 levels)",
    )
    return case, cols


def syn_censor_ties() -> tuple[dict, dict]:
    """Censorings on the same integer days as events, many times."""
    rng = np.random.default_rng(202)
    n = 240
    arm = _arms(rng, 120, 120, "1", "0")
    sex = rng.choice(np.array(["F", "M"]), size=n)
    p = np.where(arm == "1", 0.045, 0.065) * np.where(sex == "M", 1.2, 0.85)
    latent = rng.geometric(p)
    cens = rng.integers(1, 31, size=n)
    time = np.minimum(latent, cens)
    event = (latent <= cens).astype(int)
    shared = set(time[event == 1]) & set(time[event == 0])
    if len(shared) < 15:
        raise AssertionError("syn_censor_ties: too few times shared by events and censorings")
    cols = {"arm": list(arm), "time": list(time), "status": list(event), "sex": list(sex)}
    case = _case(
        "syn_censor_ties",
        time_col="time",
        event_col="status",
        arm_col="arm",
        treatment="1",
        control="0",
        strata=["sex"],
        times=[0.5, 3, 10, 20, 30, 35],
        tau=20,
        description="Synthetic: censorings on the same integer days as events (days 1..30, "
        "n=240), stratum 'sex'",
    )
    return case, cols


def syn_median_not_reached() -> tuple[dict, dict]:
    """Treatment arm heavily censored, its KM stays above 0.5."""
    rng = np.random.default_rng(303)
    n = 200
    arm = _arms(rng, 100, 100, "new", "standard")
    region = rng.choice(np.array(["north", "south"]), size=n)
    scale = np.where(arm == "new", 2500.0, 280.0)
    latent = np.ceil(rng.exponential(scale))
    cens = rng.integers(180, 721, size=n)
    time = np.minimum(latent, cens).astype(int)
    event = (latent <= cens).astype(int)
    cols = {"arm": list(arm), "days": list(time), "event": list(event), "region": list(region)}
    ev_ctl = np.sort(time[(event == 1) & (arm == "standard")])
    exact = int(ev_ctl[len(ev_ctl) // 2])
    case = _case(
        "syn_median_not_reached",
        time_col="days",
        event_col="event",
        arm_col="arm",
        treatment="new",
        control="standard",
        strata=["region"],
        times=sorted({0.5, exact, 180, 365, 700, 800}),
        tau=540,
        description="Synthetic: treatment arm heavily censored so its median (and upper "
        "CI) is not reached; stratum 'region'",
    )
    return case, cols


def syn_flat_half() -> tuple[dict, dict]:
    """Hand-built: one curve flat at exactly 0.5 on [5, 10), one ending at 0.5."""
    # 'flat': 5 events at 1..5 (S = 5/10), gap, then further events
    flat = [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (10, 1), (12, 1), (14, 0), (15, 1), (18, 0)]
    # 'ends': 5 events before any censoring (S = 5/10), then only censorings
    ends = [(2, 1), (3, 1), (4, 1), (6, 1), (7, 1), (9, 0), (11, 0), (13, 0), (16, 0), (20, 0)]
    rows = [("flat", t, e) for t, e in flat] + [("ends", t, e) for t, e in ends]
    cols = {"group": [r[0] for r in rows], "t": [r[1] for r in rows], "e": [r[2] for r in rows]}
    case = _case(
        "syn_flat_half",
        time_col="t",
        event_col="e",
        arm_col="group",
        treatment="flat",
        control="ends",
        strata=[],
        times=[0.5, 5, 7.5, 10, 16, 20, 25],
        tau=10,
        description="Hand-built (n=10 per arm): 'flat' KM equals 0.5 exactly on [5, 10) "
        "(median by midpoint rule); 'ends' KM ends at 0.5 (last observation censored); "
        "tau 10 is an event time",
    )
    return case, cols


def syn_time_zero() -> tuple[dict, dict]:
    """Events and censorings at time 0 in both arms."""
    rng = np.random.default_rng(404)
    n = 74
    arm = list(_arms(rng, 37, 37, "yes", "no"))
    grp = list(rng.choice(np.array(["g1", "g2"]), size=n))
    scale = np.where(np.array(arm) == "yes", 7.0, 4.5)
    latent = np.floor(rng.exponential(scale))
    cens = rng.integers(0, 16, size=n)
    time = list(np.minimum(latent, cens).astype(int))
    event = list((latent <= cens).astype(int))
    # guarantee zeros: per arm two events and one censoring at time 0
    for a, g in (("yes", "g1"), ("no", "g2")):
        for e in (1, 1, 0):
            arm.append(a)
            grp.append(g)
            time.append(0)
            event.append(e)
    cols = {"arm": arm, "time": time, "event": event, "grp": grp}
    case = _case(
        "syn_time_zero",
        time_col="time",
        event_col="event",
        arm_col="arm",
        treatment="yes",
        control="no",
        strata=["grp"],
        times=[0, 1, 5, 10, 16],
        tau=8,
        description="Synthetic: events and censorings at time 0 in both arms (integer "
        "times 0..15, n=80), stratum 'grp'",
    )
    return case, cols


def walkback_like() -> tuple[dict, dict]:
    """WalkBack-like trial: Weibull PH (shape 0.53), medians ~208 vs ~112 days."""
    rng = np.random.default_rng(2027)  # seed picked so the sample KM medians sit near target
    n_trt, n_ctl = 351, 350
    n = n_trt + n_ctl
    arm = _arms(rng, n_trt, n_ctl, "intervention", "control")
    episodes = (rng.random(n) < 0.35).astype(int)
    referral = rng.choice(np.array(["gp", "hospital", "self"]), size=n, p=[0.5, 0.3, 0.2])
    shape = 0.53
    median = np.where(arm == "intervention", 208.0, 112.0)
    scale = median / math.log(2.0) ** (1.0 / shape)
    # centred stratum effects on the log hazard keep the arm medians near target
    lp = 0.30 * (episodes - 0.35) + np.select(
        [referral == "gp", referral == "hospital"], [-0.05, 0.20], -0.15
    )
    u = rng.random(n)
    latent = scale * (-np.log(u) * np.exp(-lp)) ** (1.0 / shape)
    latent_days = np.maximum(np.ceil(latent), 1)
    admin = rng.integers(365, 1096, size=n)
    time = np.minimum(latent_days, admin).astype(int)
    event = (latent_days <= admin).astype(int)
    cols = {
        "id": [f"WB{i:04d}" for i in range(1, n + 1)],
        "arm": list(arm),
        "days": list(time),
        "event": list(event),
        "episodes_gt2": list(episodes),
        "referral": list(referral),
    }
    ev = set(time[event == 1])
    if 90 not in ev:
        raise AssertionError("walkback_like: day 90 should be an event time")
    case = _case(
        "walkback_like",
        time_col="days",
        event_col="event",
        arm_col="arm",
        treatment="intervention",
        control="control",
        strata=["episodes_gt2", "referral"],
        times=[0.5, 30, 90, 180, 365, 730, 1100],
        tau=365,
        description="Synthetic WalkBack-like trial: 701 rows (351 intervention / 350 "
        "control), Weibull PH shape 0.53, medians ~208 vs ~112 days, integer days, "
        "administrative censoring 365-1095 days; strata episodes_gt2 x referral",
    )
    return case, cols


def syn_large() -> tuple[dict, dict]:
    """n = 4000, integer weeks (many ties), 3 strata levels."""
    rng = np.random.default_rng(505)
    n = 4000
    arm = _arms(rng, 2000, 2000, "active", "placebo")
    stage = rng.choice(np.array(["I", "II", "III"]), size=n, p=[0.4, 0.35, 0.25])
    stage_scale = np.select([stage == "I", stage == "II"], [1.6, 1.0], 0.55)
    scale = np.where(arm == "active", 80.0, 60.0) * stage_scale
    latent = np.ceil(rng.exponential(scale))
    cens = rng.integers(26, 105, size=n)
    time = np.minimum(latent, cens).astype(int)
    event = (latent <= cens).astype(int)
    cols = {"arm": list(arm), "weeks": list(time), "event": list(event), "stage": list(stage)}
    case = _case(
        "syn_large",
        time_col="weeks",
        event_col="event",
        arm_col="arm",
        treatment="active",
        control="placebo",
        strata=["stage"],
        times=[0.5, 1, 26, 52, 104, 110],
        tau=78,
        description="Synthetic large trial: n=4000, integer weeks (heavy ties), stratum "
        "'stage' (3 levels)",
    )
    return case, cols


def syn_float_quoted() -> tuple[dict, dict]:
    """Float times, quoted arm labels with commas/quotes, extra unused columns."""
    rng = np.random.default_rng(606)
    n = 150
    trt, ctl = "Drug A, high dose", 'Placebo "matched"'
    arm = _arms(rng, 76, 74, trt, ctl)
    centre = rng.choice(np.array(["North, East", "South"]), size=n)
    scale = np.where(arm == trt, 3.6, 2.4)
    latent = rng.exponential(scale)
    cens = rng.uniform(0.5, 6.0, size=n)
    event = (latent <= cens).astype(int)
    time = np.maximum(np.round(np.minimum(latent, cens), 3), 0.001)
    notes = rng.choice(np.array(["", "ok", "withdrew, moved", 'see "file"']), size=n)
    weight = np.round(rng.normal(72.0, 11.0, size=n), 1)
    cols = {
        "patient id": [f"P{i:03d}" for i in range(1, n + 1)],
        "group": list(arm),
        "t_years": [float(x) for x in time],
        "dead": list(event),
        "centre": list(centre),
        "notes": list(notes),
        "weight_kg": [float(x) for x in weight],
    }
    ev_trt = np.sort(time[(event == 1) & (arm == trt)])
    exact = float(ev_trt[len(ev_trt) // 3])
    first = float(time[event == 1].min())
    before = round(first / 2.0, 4)
    case = _case(
        "syn_float_quoted",
        time_col="t_years",
        event_col="dead",
        arm_col="group",
        treatment=trt,
        control=ctl,
        strata=["centre"],
        times=sorted({before, exact, 1.0, 2.5, 5.0, 6.5}),
        tau=3.0,
        description="Synthetic: non-integer times (3 decimals), arm labels with comma and "
        "embedded quotes in quoted CSV fields, stratum value with a comma, extra unused "
        "columns",
    )
    return case, cols


def syn_tiny_zero() -> tuple[dict, dict]:
    """Hand-built tiny trial (8 per arm); treatment KM drops to exactly 0."""
    trt = [(2, 1), (3, 1), (3, 0), (5, 1), (6, 1), (8, 0), (9, 1), (11, 1)]
    ctl = [(1, 1), (2, 0), (4, 1), (4, 1), (7, 0), (10, 1), (12, 0), (14, 0)]
    rows = [("T", t, e) for t, e in trt] + [("C", t, e) for t, e in ctl]
    cols = {
        "arm": [r[0] for r in rows],
        "time": [r[1] for r in rows],
        "status": [r[2] for r in rows],
    }
    case = _case(
        "syn_tiny_zero",
        time_col="time",
        event_col="status",
        arm_col="arm",
        treatment="T",
        control="C",
        strata=[],
        times=[0.5, 3, 11, 12, 20],
        tau=13,
        description="Hand-built tiny trial (8 per arm): treatment KM drops to 0 at its last "
        "time (an event, t=11); tau 13 exceeds the treatment arm's last time",
    )
    return case, cols


SYNTHETIC = [
    syn_ties,
    syn_censor_ties,
    syn_median_not_reached,
    syn_flat_half,
    syn_time_zero,
    walkback_like,
    syn_large,
    syn_float_quoted,
    syn_tiny_zero,
]


def main() -> None:
    cases = []
    for spec in REAL_CASES:
        case = dict(spec)
        case["file"] = f"inputs/{case['id']}.csv"
        case["kind"] = "real"
        cases.append(case)
    for make in SYNTHETIC:
        case, cols = make()
        _check_case(case, cols, zero_first=case["id"] == "syn_time_zero")
        _write_csv(HERE / case["file"], cols)
        cases.append(case)
    ids = [c["id"] for c in cases]
    if len(ids) != len(set(ids)):
        raise AssertionError("duplicate case ids")
    text = json.dumps(cases, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    MANIFEST.write_text(text, encoding="utf-8")
    print(
        f"wrote {MANIFEST.relative_to(HERE.parent.parent)} ({len(cases)} cases) and "
        f"{len(SYNTHETIC)} synthetic inputs"
    )


if __name__ == "__main__":
    main()
