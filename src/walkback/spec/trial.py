"""Section readers for [arms] and [randomisation] (stratified permuted blocks, or simple)."""

from __future__ import annotations

from walkback.spec.reader import _Reader
from walkback.spec.types import ARM_KEYS, Param, Stratum


def read_arms(r: _Reader, raw: dict) -> tuple[dict[str, str], dict[str, Param]]:
    """[arms.treatment] and [arms.control]: labels and sizes (whole numbers)."""
    arms = r.table(raw, "arms", "")
    r.keys(arms, "arms", ARM_KEYS)
    labels, sizes = {}, {}
    for a in ARM_KEYS:
        at = r.table(arms, a, "arms")
        r.keys(at, f"arms.{a}", ("label", "n"))
        labels[a] = r.get(at, "label", f"arms.{a}", str)
        sizes[a] = r.param(at.get("n"), f"arms.{a}.n")
        if sizes[a].value is None or sizes[a].value != int(sizes[a].value) or sizes[a].value < 1:
            raise r.fail(f"arms.{a}.n", "must be a whole number >= 1", sizes[a].value)
    if labels["treatment"] == labels["control"]:
        raise r.fail("arms", "treatment and control need different labels", labels["control"])
    return labels, sizes


#: randomisation methods: permuted_blocks (stratified, sizes vary a little around the spec's) or
#: simple (each participant allocated by a fair draw at the ratio; a twin draws until the arm
#: sizes equal the published ones)
METHODS = ("permuted_blocks", "simple")


def read_randomisation(
    r: _Reader, raw: dict
) -> tuple[str, tuple[int, ...], tuple[int, int], tuple[Stratum, ...]]:
    """[randomisation]: method, block sizes, the allocation ratio and the strata."""
    rnd = r.table(raw, "randomisation", "")
    r.keys(rnd, "randomisation", ("method", "block_sizes", "ratio", "strata"))
    method = r.get(rnd, "method", "randomisation", str)
    if method not in METHODS:
        raise r.fail("randomisation.method", f"must be {' or '.join(map(repr, METHODS))}", method)
    ratio = tuple(r.get(rnd, "ratio", "randomisation", list, default=[1, 1]))
    if len(ratio) != 2 or not all(isinstance(x, int) and x > 0 for x in ratio):
        raise r.fail("randomisation.ratio", "must be two positive integers", list(ratio))
    if method == "simple":
        if "block_sizes" in rnd:
            raise r.fail("randomisation.block_sizes", "is for method = 'permuted_blocks' only")
        blocks: tuple = ()
    else:
        blocks = tuple(r.get(rnd, "block_sizes", "randomisation", list))
    if (
        method == "permuted_blocks"
        and not blocks
        or not all(isinstance(b, int) and b > 0 and b % sum(ratio) == 0 for b in blocks)
    ):
        raise r.fail(
            "randomisation.block_sizes",
            f"must be positive integers divisible by {sum(ratio)} (the ratio's sum)",
            list(blocks),
        )
    strata = []
    for i, s in enumerate(r.get(rnd, "strata", "randomisation", list, default=[])):
        where = f"randomisation.strata[{i}]"
        r.keys(s, where, ("column", "levels", "shares"))
        col = r.get(s, "column", where, str)
        levels = tuple(str(x) for x in r.get(s, "levels", where, list))
        shares = tuple(r.number(x, f"{where}.shares") for x in r.get(s, "shares", where, list))
        if len(levels) < 2 or len(levels) != len(shares) or len(set(levels)) != len(levels):
            raise r.fail(f"{where}", "needs two or more distinct levels, one share each")
        if abs(sum(shares) - 1) > 1e-9 or min(shares) <= 0:
            raise r.fail(f"{where}.shares", "must be positive and sum to 1", list(shares))
        strata.append(Stratum(col, levels, shares))
    return method, blocks, (ratio[0], ratio[1]), tuple(strata)
