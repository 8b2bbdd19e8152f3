"""Trial specification files (TOML): what a two-arm trial looks like and what it published.

A spec describes arms and sizes, stratified block randomisation, recruitment, the follow-up rule,
dropout, baseline covariates, the time-to-event outcomes, and every published figure as a *target*.
Numbers may be given directly (assumptions), as ``{ target = "name" }`` (use a published value) or
as ``{ calibrate = "name" }`` (solved by :func:`walkback.calibrate.calibrate`). Nothing about any
particular trial lives in Python: ``load_spec("walkback")`` reads the packaged WalkBack spec, and
``load_spec(path)`` any other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from walkback._typing import CONF_TYPES, TIES
from walkback.exceptions import WalkbackError

STATISTICS = (
    "count",
    "km_median",
    "cox_hr",
    "cox_p",
    "events",
    "mean",
    "sd",
    "share",
    "sum",
    "fisher_p",
    "icer",
    "prob_cost_effective",
)
#: participant-level safety and economic columns a spec may target (see [safety], [economics])
SAFETY_COLUMNS = ("adverse_event_12m", "lower_limb_ae_count")
ECONOMIC_COLUMNS = (
    "healthcare_visits_12m",
    "work_days_lost_12m",
    "cost_intervention_aud",
    "cost_healthcare_aud",
    "cost_productivity_aud",
    "cost_total_aud",
    "eq5d_baseline",
    "eq5d_3m",
    "eq5d_6m",
    "eq5d_12m",
    "qaly_12m",
)
#: numbers the [economics] section must give (all assumptions: the paper's breakdown is not public)
ECONOMIC_PARAMS = (
    "visits_mean_treatment",
    "visits_mean_control",
    "visits_dispersion",
    "cost_per_visit",
    "other_healthcare_cost_mean",
    "workdays_mean_treatment",
    "workdays_mean_control",
    "workdays_dispersion",
    "cost_per_workday",
    "programme_sessions",
    "programme_cost_per_session",
    "programme_attendance",
    "programme_fixed_cost",
    "utility_baseline_mean",
    "utility_baseline_sd",
    "utility_person_sd",
    "utility_time_sd",
    "utility_effect_3m",
    "utility_effect_6m",
    "utility_effect_12m",
)
ARM_KEYS = ("treatment", "control")


class SpecError(WalkbackError, ValueError):
    """A trial spec breaks a rule. The message names the file and the key."""


@dataclass(frozen=True)
class Param:
    """A model number: fixed (an assumption or a published value) or to be calibrated."""

    value: float | None
    origin: str  # "assumed", "target:<name>" or "calibrate:<name>"

    @property
    def calibrate(self) -> str | None:
        return self.origin.split(":", 1)[1] if self.origin.startswith("calibrate:") else None


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    statistic: str
    value: float
    precision: float
    source: str
    confidence: str
    ci: tuple[float, float] | None = None
    outcome: str | None = None
    arm: str | None = None
    column: str | None = None
    level: str | None = None
    wtp: float | None = None
    derived: bool = False

    def passes(self, value: float | None, which: str = "value") -> bool:
        """True when ``value`` rounds to the published figure at the printed precision."""
        ref = self.value if which == "value" else self.ci[0 if which == "lower" else 1]
        if value is None or not math.isfinite(value):
            return False
        return abs(value - ref) < self.precision / 2 - 1e-12 * max(1.0, abs(ref))


@dataclass(frozen=True)
class Stratum:
    column: str
    levels: tuple[str, ...]
    shares: tuple[float, ...]


@dataclass(frozen=True)
class WeibullOutcome:
    """Weibull PH: S_control = exp(-(t/scale)^shape), S_treatment = S_control^hr."""

    median_control: Param
    hazard_ratio: Param
    shape: Param | None = None
    median_treatment: Param | None = None


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str
    model: str  # "weibull_ph" | "first_of"
    primary: bool = False
    weibull: WeibullOutcome | None = None
    correlation: dict[str, float] = field(default_factory=dict)
    components: tuple[str, ...] = ()
    extra: WeibullOutcome | None = None


@dataclass(frozen=True)
class Covariate:
    name: str
    distribution: str  # "normal" | "binary"
    params: dict[str, Any]


@dataclass(frozen=True)
class Safety:
    """Adverse events over 12 months: share with at least one per arm; lower-limb events per
    arm (totals), spread over participants with gamma-distributed individual rates."""

    ae_share: dict[str, Param]
    lower_limb_total: dict[str, Param]
    lower_limb_rate_shape: float


@dataclass(frozen=True)
class Economics:
    """Costs (AUD) and EQ-5D utilities over 12 months; every number an assumption."""

    currency: str
    wtp: float
    resamples: int
    seed: int
    params: dict[str, float]


@dataclass(frozen=True)
class TrialSpec:
    """A validated trial specification."""

    name: str
    title: str
    citation: str
    source: str
    sha256: str
    arm_labels: dict[str, str]
    arm_sizes: dict[str, Param]
    block_sizes: tuple[int, ...]
    ratio: tuple[int, int]
    strata: tuple[Stratum, ...]
    recruitment_start: dt.date
    recruitment_end: dt.date
    recruitment_rate: tuple[tuple[dt.date, float], ...]
    final_date: dt.date
    min_months: int
    max_months: int
    report_every_months: int
    days_per_month: float
    dropout_rate: Param
    covariates: tuple[Covariate, ...]
    outcomes: dict[str, Outcome]
    targets: tuple[Target, ...]
    conf_type: str
    ties: str
    alpha: float
    analysis_strata: tuple[str, ...]
    twin_seed: int
    twin_max_attempts: int
    safety: Safety | None = None
    economics: Economics | None = None

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def n_total(self) -> int:
        return int(sum(self.arm_sizes[a].value for a in ARM_KEYS))

    @property
    def primary(self) -> Outcome:
        return next(o for o in self.outcomes.values() if o.primary)

    @property
    def weibull_outcomes(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.model == "weibull_ph"]


# ---- loading --------------------------------------------------------------------------------
def load_spec(spec: str | Path = "walkback") -> TrialSpec:
    """Load and validate a spec: a packaged name (``"walkback"``) or a path to a TOML file."""
    path = Path(spec)
    if path.suffix != ".toml" and not path.exists():
        res = resources.files("walkback.trials").joinpath(f"{spec}.toml")
        if not res.is_file():
            known = sorted(
                p.name[:-5]
                for p in resources.files("walkback.trials").iterdir()
                if p.name.endswith(".toml")
            )
            raise SpecError(
                f"no packaged spec named '{spec}' (packaged: {', '.join(known)}); "
                "or pass a path to a .toml file"
            )
        data = res.read_bytes()
        label = f"walkback/trials/{spec}.toml"
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SpecError(f"{path}: cannot read the spec ({exc.strerror or exc})") from None
        label = str(path)
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{label}: not valid TOML ({exc})") from None
    return _build(raw, label, hashlib.sha256(data).hexdigest())


class _Reader:
    """Typed access to the raw TOML with errors that name the file and the key."""

    def __init__(self, raw: dict, label: str) -> None:
        self.raw, self.label = raw, label
        self.targets: dict[str, dict] = {}

    def fail(self, key: str, rule: str, value: Any = None) -> SpecError:
        got = f" (got {value!r})" if value is not None else ""
        return SpecError(f"{self.label}: [{key}] {rule}{got}")

    def get(self, table: dict, key: str, where: str, kind=None, default=Any):
        if key not in table:
            if default is not Any:
                return default
            raise self.fail(f"{where}.{key}".strip("."), "is required")
        v = table[key]
        if (
            kind is not None
            and not isinstance(v, kind)
            or isinstance(v, bool)
            and kind in (int, float, (int, float))
        ):
            raise self.fail(f"{where}.{key}".strip("."), f"must be {_kind_name(kind)}", v)
        return v

    def table(self, table: dict, key: str, where: str, required: bool = True) -> dict:
        v = table.get(key)
        if v is None and not required:
            return {}
        if not isinstance(v, dict):
            raise self.fail(f"{where}.{key}".strip("."), "must be a table", v)
        return v

    def number(self, v: Any, key: str, positive: bool = False, unit: bool = False) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.fail(key, "must be a finite number", v)
        if positive and not v > 0:
            raise self.fail(key, "must be positive", v)
        if unit and not 0 < v < 1:
            raise self.fail(key, "must be between 0 and 1", v)
        return float(v)

    def param(self, v: Any, key: str, positive: bool = True, unit: bool = False) -> Param:
        if isinstance(v, dict):
            if set(v) == {"target"}:
                name = v["target"]
                if name not in self.targets:
                    raise self.fail(key, "refers to an unknown target", name)
                val = self.number(self.targets[name]["value"], f"targets.{name}.value", positive)
                return Param(val, f"target:{name}")
            if set(v) == {"calibrate"}:
                name = v["calibrate"]
                if name not in self.targets:
                    raise self.fail(key, "is calibrated to an unknown target", name)
                return Param(None, f"calibrate:{name}")
            raise self.fail(key, "must be a number, { target = NAME } or { calibrate = NAME }", v)
        return Param(self.number(v, key, positive, unit), "assumed")


def _kind_name(kind) -> str:
    names = {
        str: "text",
        int: "an integer",
        float: "a number",
        (int, float): "a number",
        list: "a list",
        dict: "a table",
        bool: "true or false",
        dt.date: "a date (YYYY-MM-DD)",
    }
    return names.get(kind, str(kind))


def _build(raw: dict, label: str, sha: str) -> TrialSpec:
    r = _Reader(raw, label)
    # targets first: other sections refer to them
    tlist = r.get(raw, "targets", "", list)
    targets = []
    for i, t in enumerate(tlist):
        where = f"targets[{i}]"
        if not isinstance(t, dict):
            raise r.fail(where, "must be a table", t)
        name = r.get(t, "name", where, str)
        if name in r.targets:
            raise r.fail(f"targets.{name}", "is defined twice")
        r.targets[name] = t
        stat = r.get(t, "statistic", f"targets.{name}", str)
        if stat not in STATISTICS:
            raise r.fail(
                f"targets.{name}.statistic", f"must be one of {', '.join(STATISTICS)}", stat
            )
        ci = t.get("ci")
        if ci is not None:
            if not (isinstance(ci, list) and len(ci) == 2):
                raise r.fail(f"targets.{name}.ci", "must be a list [lower, upper]", ci)
            ci = (r.number(ci[0], f"targets.{name}.ci"), r.number(ci[1], f"targets.{name}.ci"))
            if not ci[0] <= r.number(t.get("value"), f"targets.{name}.value") <= ci[1]:
                raise r.fail(f"targets.{name}.ci", "must contain the value", list(ci))
        tgt = Target(
            name=name,
            label=r.get(t, "label", f"targets.{name}", str, default=name),
            statistic=stat,
            value=r.number(t.get("value"), f"targets.{name}.value"),
            precision=r.number(t.get("precision"), f"targets.{name}.precision", positive=True),
            source=r.get(t, "source", f"targets.{name}", str),
            confidence=r.get(t, "confidence", f"targets.{name}", str),
            ci=ci,
            outcome=t.get("outcome"),
            arm=t.get("arm"),
            column=t.get("column"),
            level=None if t.get("level") is None else str(t.get("level")),
            wtp=(r.number(t["wtp"], f"targets.{name}.wtp", positive=True) if "wtp" in t else None),
            derived=bool(t.get("derived", False)),
        )
        need = {
            "count": ["arm"],
            "km_median": ["outcome", "arm"],
            "cox_hr": ["outcome"],
            "cox_p": ["outcome"],
            "events": ["outcome"],
            "mean": ["column"],
            "sd": ["column"],
            "share": ["column", "level"],
            "sum": ["column"],
            "fisher_p": ["column"],
            "icer": [],
            "prob_cost_effective": ["wtp"],
        }[stat]
        for key in need:
            if getattr(tgt, key) is None:
                raise r.fail(f"targets.{name}.{key}", f"is required for statistic '{stat}'")
        if tgt.arm is not None and tgt.arm not in ARM_KEYS:
            raise r.fail(f"targets.{name}.arm", "must be 'treatment' or 'control'", tgt.arm)
        targets.append(tgt)

    trial = r.table(raw, "trial", "")
    arms = r.table(raw, "arms", "")
    labels, sizes = {}, {}
    for a in ARM_KEYS:
        at = r.table(arms, a, "arms")
        labels[a] = r.get(at, "label", f"arms.{a}", str)
        sizes[a] = r.param(at.get("n"), f"arms.{a}.n")
        if sizes[a].value is None or sizes[a].value != int(sizes[a].value) or sizes[a].value < 1:
            raise r.fail(f"arms.{a}.n", "must be a whole number >= 1", sizes[a].value)
    if labels["treatment"] == labels["control"]:
        raise r.fail("arms", "treatment and control need different labels", labels["control"])

    rnd = r.table(raw, "randomisation", "")
    if r.get(rnd, "method", "randomisation", str) != "permuted_blocks":
        raise r.fail("randomisation.method", "must be 'permuted_blocks'", rnd.get("method"))
    ratio = tuple(r.get(rnd, "ratio", "randomisation", list, default=[1, 1]))
    if len(ratio) != 2 or not all(isinstance(x, int) and x > 0 for x in ratio):
        raise r.fail("randomisation.ratio", "must be two positive integers", list(ratio))
    blocks = tuple(r.get(rnd, "block_sizes", "randomisation", list))
    if not blocks or not all(isinstance(b, int) and b > 0 and b % sum(ratio) == 0 for b in blocks):
        raise r.fail(
            "randomisation.block_sizes",
            f"must be positive integers divisible by {sum(ratio)} (the ratio's sum)",
            list(blocks),
        )
    strata = []
    for i, s in enumerate(rnd.get("strata", [])):
        where = f"randomisation.strata[{i}]"
        col = r.get(s, "column", where, str)
        levels = tuple(str(x) for x in r.get(s, "levels", where, list))
        shares = tuple(r.number(x, f"{where}.shares") for x in r.get(s, "shares", where, list))
        if len(levels) < 2 or len(levels) != len(shares) or len(set(levels)) != len(levels):
            raise r.fail(f"{where}", "needs two or more distinct levels, one share each")
        if abs(sum(shares) - 1) > 1e-9 or min(shares) <= 0:
            raise r.fail(f"{where}.shares", "must be positive and sum to 1", list(shares))
        strata.append(Stratum(col, levels, shares))

    rec = r.table(raw, "recruitment", "")
    start = r.get(rec, "start", "recruitment", dt.date)
    end = r.get(rec, "end", "recruitment", dt.date)
    if not start < end:
        raise r.fail("recruitment.end", "must be after recruitment.start", str(end))
    rate = []
    for i, p in enumerate(rec.get("rate", [{"from": start, "weight": 1.0}])):
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

    fu = r.table(raw, "followup", "")
    final = r.get(fu, "final_date", "followup", dt.date)
    mn = r.get(fu, "min_months", "followup", int)
    mx = r.get(fu, "max_months", "followup", int)
    if not 0 < mn <= mx:
        raise r.fail("followup", "needs 0 < min_months <= max_months", (mn, mx))
    if final < end:
        raise r.fail("followup.final_date", "must not be before the end of recruitment", str(final))
    every = r.get(fu, "report_every_months", "followup", int, default=1)
    if every < 1:
        raise r.fail("followup.report_every_months", "must be a whole number >= 1", every)
    dpm = r.number(fu.get("days_per_month", 365.25 / 12), "followup.days_per_month", positive=True)

    drop = r.table(raw, "dropout", "")
    dropout = r.param(drop.get("annual_rate", 0.0), "dropout.annual_rate", positive=False)
    if dropout.value is not None and dropout.value < 0:
        raise r.fail("dropout.annual_rate", "must be >= 0", dropout.value)

    covs = []
    for name, c in r.table(raw, "covariates", "", required=False).items():
        where = f"covariates.{name}"
        dist = r.get(c, "distribution", where, str)
        if dist == "normal":
            params = {
                "mean": r.param(c.get("mean"), f"{where}.mean", positive=False),
                "sd": r.param(c.get("sd"), f"{where}.sd"),
                "min": r.number(c.get("min", -math.inf), f"{where}.min")
                if "min" in c
                else -math.inf,
                "max": r.number(c.get("max", math.inf), f"{where}.max") if "max" in c else math.inf,
                "decimals": r.get(c, "decimals", where, int, default=None),
            }
            for k in ("mean", "sd"):
                if params[k].calibrate:
                    raise r.fail(
                        f"{where}.{k}", "cannot be calibrated; give a number or { target = NAME }"
                    )
            if not params["min"] < params["mean"].value < params["max"]:
                raise r.fail(f"{where}", "needs min < mean < max")
        elif dist == "binary":
            levels = tuple(str(x) for x in r.get(c, "levels", where, list))
            if len(levels) != 2 or levels[0] == levels[1]:
                raise r.fail(f"{where}.levels", "must be two different labels", list(levels))
            params = {
                "levels": levels,
                "share": r.param(c.get("share"), f"{where}.share", unit=True),
            }
        else:
            raise r.fail(f"{where}.distribution", "must be 'normal' or 'binary'", dist)
        covs.append(Covariate(name, dist, params))

    outcomes: dict[str, Outcome] = {}
    for name, o in r.table(raw, "outcomes", "").items():
        where = f"outcomes.{name}"
        model = r.get(o, "model", where, str)
        olabel = r.get(o, "label", where, str, default=name)
        if model == "weibull_ph":
            corr = {}
            for other, rho in o.get("correlation", {}).items():
                rho = r.number(rho, f"{where}.correlation.{other}")
                if not -1 < rho < 1:
                    raise r.fail(f"{where}.correlation.{other}", "must be in (-1, 1)", rho)
                corr[other] = rho
            outcomes[name] = Outcome(
                name,
                olabel,
                model,
                bool(o.get("primary", False)),
                weibull=_weibull(r, o, where),
                correlation=corr,
            )
        elif model == "first_of":
            comps = tuple(r.get(o, "components", where, list))
            extra = _weibull(r, o["extra"], f"{where}.extra") if "extra" in o else None
            outcomes[name] = Outcome(
                name, olabel, model, bool(o.get("primary", False)), components=comps, extra=extra
            )
        else:
            raise r.fail(f"{where}.model", "must be 'weibull_ph' or 'first_of'", model)
    for o in outcomes.values():
        for comp in o.components:
            if comp not in outcomes or outcomes[comp].model != "weibull_ph":
                raise r.fail(
                    f"outcomes.{o.name}.components",
                    "must name weibull_ph outcomes defined above",
                    comp,
                )
        for other in o.correlation:
            if other not in outcomes or outcomes[other].model != "weibull_ph" or other == o.name:
                raise r.fail(
                    f"outcomes.{o.name}.correlation", "must name another weibull_ph outcome", other
                )
    if sum(o.primary for o in outcomes.values()) != 1:
        raise r.fail("outcomes", "exactly one outcome must have primary = true")
    if outcomes[next(n for n, o in outcomes.items() if o.primary)].model != "weibull_ph":
        raise r.fail("outcomes", "the primary outcome must be a weibull_ph outcome")

    for t in targets:
        if t.outcome is not None and t.outcome not in outcomes:
            raise r.fail(f"targets.{t.name}.outcome", "names no outcome in [outcomes]", t.outcome)
        known = {c.name for c in covs} | set(SAFETY_COLUMNS) | set(ECONOMIC_COLUMNS)
        if t.column is not None and t.column not in known:
            raise r.fail(
                f"targets.{t.name}.column",
                "names no covariate, safety or economic column",
                t.column,
            )
    safety = _safety(r, raw)
    economics = _economics(r, raw)
    if any(t.statistic in ("icer", "prob_cost_effective") for t in targets) and economics is None:
        raise r.fail("economics", "is required by the icer / prob_cost_effective targets")

    an = r.table(raw, "analysis", "", required=False)
    conf_type = an.get("conf_type", "log")
    ties = an.get("ties", "efron")
    if conf_type not in CONF_TYPES:
        raise r.fail("analysis.conf_type", f"must be one of {', '.join(CONF_TYPES)}", conf_type)
    if ties not in TIES:
        raise r.fail("analysis.ties", f"must be one of {', '.join(TIES)}", ties)
    astrata_raw = an.get("strata", [])
    if not isinstance(astrata_raw, list) or not all(isinstance(x, str) for x in astrata_raw):
        raise r.fail("analysis.strata", "must be a list of column names", astrata_raw)
    astrata = tuple(astrata_raw)
    for s in astrata:
        if s not in {x.column for x in strata}:
            raise r.fail("analysis.strata", "must name randomisation strata columns", s)
    tw = r.table(raw, "twin", "", required=False)
    return TrialSpec(
        name=r.get(trial, "name", "trial", str),
        title=trial.get("title", ""),
        citation=trial.get("citation", ""),
        source=label,
        sha256=sha,
        arm_labels=labels,
        arm_sizes=sizes,
        block_sizes=blocks,
        ratio=(ratio[0], ratio[1]),
        strata=tuple(strata),
        recruitment_start=start,
        recruitment_end=end,
        recruitment_rate=tuple(rate),
        final_date=final,
        min_months=mn,
        max_months=mx,
        report_every_months=every,
        days_per_month=dpm,
        dropout_rate=dropout,
        covariates=tuple(covs),
        outcomes=outcomes,
        targets=tuple(targets),
        conf_type=conf_type,
        ties=ties,
        alpha=r.number(an.get("alpha", 0.05), "analysis.alpha", unit=True),
        analysis_strata=astrata,
        twin_seed=_nonneg_int(r, tw, "seed", 0),
        twin_max_attempts=_nonneg_int(r, tw, "max_attempts", 2000),
        safety=safety,
        economics=economics,
    )


def _arm_params(r: _Reader, table: dict, key: str, where: str, unit: bool = False):
    sub = r.table(table, key, where)
    return {a: r.param(sub.get(a), f"{where}.{key}.{a}", unit=unit) for a in ARM_KEYS}


def _safety(r: _Reader, raw: dict) -> Safety | None:
    sf = r.table(raw, "safety", "", required=False)
    if not sf:
        return None
    shares = _arm_params(r, sf, "adverse_event_share", "safety", unit=True)
    totals = _arm_params(r, sf, "lower_limb_events", "safety")
    for a, p in totals.items():
        if p.value is None or p.value != int(p.value) or p.value < 0:
            raise r.fail(f"safety.lower_limb_events.{a}", "must be a whole number >= 0", p.value)
    shape = r.number(
        sf.get("lower_limb_rate_shape", 1.0), "safety.lower_limb_rate_shape", positive=True
    )
    return Safety(shares, totals, shape)


def _economics(r: _Reader, raw: dict) -> Economics | None:
    ec = r.table(raw, "economics", "", required=False)
    if not ec:
        return None
    params = {}
    for k in ECONOMIC_PARAMS:
        if k not in ec:
            raise r.fail(f"economics.{k}", "is required")
        params[k] = r.number(ec[k], f"economics.{k}", positive=not k.startswith("utility_effect"))
    if not 0 < params["programme_attendance"] <= 1:
        raise r.fail(
            "economics.programme_attendance", "must be in (0, 1]", params["programme_attendance"]
        )
    if not 0 < params["utility_baseline_mean"] < 1:
        raise r.fail(
            "economics.utility_baseline_mean", "must be in (0, 1)", params["utility_baseline_mean"]
        )
    return Economics(
        currency=r.get(ec, "currency", "economics", str, default="AUD"),
        wtp=r.number(ec.get("wtp", 28000), "economics.wtp", positive=True),
        resamples=_pos(r, ec, "bootstrap_resamples", 5000),
        seed=_pos(r, ec, "bootstrap_seed", 1),
        params=params,
    )


def _pos(r: _Reader, table: dict, key: str, default: int) -> int:
    v = r.get(table, key, "economics", int, default=default)
    if v < 1:
        raise r.fail(f"economics.{key}", "must be a whole number >= 1", v)
    return v


def _nonneg_int(r: _Reader, table: dict, key: str, default: int) -> int:
    v = r.get(table, key, "twin", int, default=default)
    if v < 0:
        raise r.fail(f"twin.{key}", "must be a whole number >= 0", v)
    return v


def _weibull(r: _Reader, o: dict, where: str) -> WeibullOutcome:
    w = WeibullOutcome(
        median_control=r.param(o.get("median_control"), f"{where}.median_control"),
        hazard_ratio=r.param(o.get("hazard_ratio"), f"{where}.hazard_ratio"),
        shape=r.param(o["shape"], f"{where}.shape") if "shape" in o else None,
        median_treatment=(
            r.param(o["median_treatment"], f"{where}.median_treatment")
            if "median_treatment" in o
            else None
        ),
    )
    if (w.shape is None) == (w.median_treatment is None):
        raise r.fail(where, "give exactly one of shape or median_treatment")
    if w.median_treatment is not None:
        hr, mc, mt = w.hazard_ratio.value, w.median_control.value, w.median_treatment.value
        if None in (hr, mc, mt) or hr == 1 or mc == mt or math.log(hr) / math.log(mc / mt) <= 0:
            raise r.fail(
                where,
                "median_control, median_treatment and hazard_ratio must be fixed "
                "and consistent (HR < 1 needs a longer treatment median)",
            )
    return w
