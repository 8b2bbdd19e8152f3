"""load_spec: read a spec's TOML and build a TrialSpec from the section readers, in order.

Sections are read in a fixed order (targets first: other sections refer to them), so a spec with
several mistakes always reports the same one first.
"""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path

from walkback._typing import CONF_TYPES, TIES
from walkback.spec.covariates import read_covariates
from walkback.spec.followup import read_dropout, read_followup, read_recruitment
from walkback.spec.outcomes import read_outcomes
from walkback.spec.reader import _Reader
from walkback.spec.safety_economics import read_economics, read_safety
from walkback.spec.targets import ECONOMIC_STATISTICS, check_target_references, read_targets
from walkback.spec.trial import read_arms, read_randomisation
from walkback.spec.types import SpecError, Stratum, TrialSpec


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
    except RecursionError:  # tomllib recurses once per nesting level
        raise SpecError(_too_deep(label)) from None
    if _depth(raw) > MAX_NESTING:
        raise SpecError(_too_deep(label))
    spec = _build(raw, label, hashlib.sha256(data).hexdigest())
    from walkback.limits import SPEC_BYTES_PER_PARTICIPANT, check_size

    check_size(
        f"{label}: arms n (total)",
        spec.n_total,
        SPEC_BYTES_PER_PARTICIPANT,
        "simulating one trial of that size",
    )
    return spec


#: arrays and tables nested deeper than this are refused (a spec needs four levels at most)
MAX_NESTING = 16


def _too_deep(label: str) -> str:
    return (
        f"{label}: arrays or tables nested more than {MAX_NESTING} levels deep; a trial spec "
        "needs only a few levels (see walkback/trials/walkback.toml)"
    )


def _depth(value, limit: int = MAX_NESTING) -> int:
    """Nesting depth of parsed TOML (without recursion), stopping once past ``limit``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            break
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


#: the tables (and the targets array) a spec may have
SECTIONS = (
    "trial",
    "arms",
    "randomisation",
    "recruitment",
    "followup",
    "dropout",
    "covariates",
    "outcomes",
    "safety",
    "economics",
    "analysis",
    "twin",
    "targets",
)


def _build(raw: dict, label: str, sha: str) -> TrialSpec:
    r = _Reader(raw, label)
    r.keys(raw, "", SECTIONS)
    targets = read_targets(r, raw)  # first: other sections refer to them
    trial = r.table(raw, "trial", "")
    r.keys(trial, "trial", ("name", "title", "citation", "registry"))
    labels, sizes = read_arms(r, raw)
    method, blocks, ratio, strata = read_randomisation(r, raw)
    rec = read_recruitment(r, raw)
    fu = read_followup(r, raw, rec.end)
    dropout = read_dropout(r, raw)
    covs = read_covariates(r, raw)
    outcomes = read_outcomes(r, raw)
    check_target_references(r, targets, outcomes, covs)
    safety = read_safety(r, raw)
    economics = read_economics(r, raw)
    if any(t.statistic in ECONOMIC_STATISTICS for t in targets) and economics is None:
        raise r.fail("economics", "is required by the icer / prob_cost_effective targets")
    an = r.table(raw, "analysis", "", required=False)
    conf_type, ties, astrata = _analysis(r, an, strata)
    tw = r.table(raw, "twin", "", required=False)
    r.keys(tw, "twin", ("seed", "max_attempts"))
    return TrialSpec(
        name=r.get(trial, "name", "trial", str),
        title=trial.get("title", ""),
        citation=trial.get("citation", ""),
        source=label,
        sha256=sha,
        arm_labels=labels,
        arm_sizes=sizes,
        block_sizes=blocks,
        ratio=ratio,
        strata=strata,
        recruitment_start=rec.start,
        recruitment_end=rec.end,
        recruitment_rate=rec.rate,
        final_date=fu.final_date,
        min_months=fu.min_months,
        max_months=fu.max_months,
        report_every_months=fu.report_every_months,
        days_per_month=fu.days_per_month,
        dropout_rate=dropout,
        covariates=covs,
        outcomes=outcomes,
        targets=tuple(targets),
        conf_type=conf_type,
        ties=ties,
        alpha=r.number(an.get("alpha", 0.05), "analysis.alpha", unit=True),
        analysis_strata=astrata,
        twin_seed=r.whole(tw, "seed", "twin", default=0, minimum=0),
        twin_max_attempts=r.whole(tw, "max_attempts", "twin", default=2000, minimum=0),
        safety=safety,
        economics=economics,
        randomisation=method,
        dropout_free=dropout.free,
    )


def _analysis(
    r: _Reader, an: dict, strata: tuple[Stratum, ...]
) -> tuple[str, str, tuple[str, ...]]:
    """[analysis] conventions: the KM CI transform, Cox ties and the analysis strata (the alpha is
    read last, with the trial's name, as it always has been)."""
    r.keys(an, "analysis", ("conf_type", "ties", "strata", "alpha"))
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
    return conf_type, ties, astrata
