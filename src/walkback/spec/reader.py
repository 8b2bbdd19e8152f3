"""Typed access to a spec's raw TOML: every error names the file and the key."""

from __future__ import annotations

import datetime as dt
import difflib
import math
from typing import Any

from walkback.spec.types import ARM_KEYS, Param, SpecError


class _Reader:
    """Typed access to the raw TOML with errors that name the file and the key."""

    def __init__(self, raw: dict, label: str) -> None:
        self.raw, self.label = raw, label
        self.targets: dict[str, dict] = {}

    def fail(self, key: str, rule: str, value: Any = None) -> SpecError:
        got = f" (got {value!r})" if value is not None else ""
        return SpecError(f"{self.label}: [{key}] {rule}{got}")

    def keys(self, table: Any, where: str, allowed) -> None:
        """Refuse keys outside ``allowed`` (a typo must not be ignored), naming the nearest one."""
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table", table)
        for key in table:
            if key not in allowed:
                near = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                raise self.fail(
                    f"{where}.{key}".strip("."),
                    f"is not a known key (allowed: {', '.join(sorted(allowed))}){hint}",
                )

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
            if len(v) == 1:
                self.keys(v, key, ("target", "calibrate"))
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

    def arm_params(self, table: dict, key: str, where: str, unit: bool = False) -> dict[str, Param]:
        """One parameter per arm from the sub-table ``where.key`` (``{ treatment, control }``)."""
        sub = self.table(table, key, where)
        return {a: self.param(sub.get(a), f"{where}.{key}.{a}", unit=unit) for a in ARM_KEYS}

    def whole(self, table: dict, key: str, where: str, default: int, minimum: int) -> int:
        """An optional integer ``where.key`` of at least ``minimum``."""
        v = self.get(table, key, where, int, default=default)
        if v < minimum:
            raise self.fail(f"{where}.{key}", f"must be a whole number >= {minimum}", v)
        return v


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


def one_of(names) -> str:
    """``'a' or 'b'`` (a rule's list of allowed names, as the error messages print it)."""
    return " or ".join(f"'{n}'" for n in names)
