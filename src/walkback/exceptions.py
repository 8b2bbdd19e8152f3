"""A small exception hierarchy; the CLI turns every ``WalkbackError`` into one line and exit 2."""

from __future__ import annotations


def shown_value(value: object, limit: int = 80) -> str:
    """A value as a message shows it: numpy scalars as plain numbers (never ``np.float64(...)``),
    long text cut to ``limit`` characters with its full length."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    text = repr(value)
    if len(text) > limit:
        text = f"{text[: limit - 3]}... ({len(str(value)):,} characters)"
    return text


class WalkbackError(Exception):
    """Base class for errors walkback raises on purpose."""


class DataError(WalkbackError, ValueError):
    """Input data break a rule (a bad value, a missing column, an unreadable file).

    The message is one line: where (file, column, first offending line numbers), the value, the
    rule, and how to fix it.
    """

    unit: str = "line"
    """What a location number counts: "line" (text file, header = line 1) or "row" (1-based)."""

    def __init__(
        self,
        rule: str,
        *,
        source: str | None = None,
        column: str | None = None,
        lines: list[int] | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> None:
        self.rule = rule
        self.source = source
        self.column = column
        self.lines = list(lines) if lines else []
        self.value = value
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.lines:
            shown = ", ".join(str(n) for n in self.lines[:5])
            more = f" (+{len(self.lines) - 5} more)" if len(self.lines) > 5 else ""
            label = self.unit if len(self.lines) == 1 else f"{self.unit}s"
            where.append(f"{label} {shown}{more}")
        head = ", ".join(where)
        msg = f"{head}: {self.rule}" if head else self.rule
        if self.value is not None:
            msg += f" (got {shown_value(self.value)})"
        if self.fix:
            msg += f"; {self.fix}"
        return " ".join(msg.split())  # always one line

    def with_unit(self, unit: str) -> DataError:
        """Return this error with its locations counted in ``unit`` (e.g. "row") instead of lines.

        Parameters
        ----------
        unit : str
            Singular noun for a location, such as ``"row"`` for 1-based rows of a Parquet file.

        Returns
        -------
        DataError
            The same error object, its message re-rendered.
        """
        self.unit = unit
        self.args = (self._render(),)
        return self


class EstimationError(WalkbackError, ValueError):
    """An estimator cannot give a result for these data (e.g. no events, a constant covariate)."""


class ConvergenceError(EstimationError):
    """An iterative fit did not converge."""


class TwinError(WalkbackError):
    """No twin was found within the spec's attempt budget."""
