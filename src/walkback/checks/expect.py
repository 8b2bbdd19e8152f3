"""``--expect FILE.toml``: user ranges for any quantity ``walkback check`` reports.

```toml
[expect]
hr_mean = [0.70, 0.745]
power_logrank = [0.93, 1.0]
median_activity_limiting_control = [105, 125]
```

A quantity passes when its Monte Carlo mean lies in ``[lower, upper]`` (both included).
"""

from __future__ import annotations

import difflib
import math
import tomllib
from pathlib import Path

from walkback.exceptions import WalkbackError


class ExpectError(WalkbackError, ValueError):
    """An --expect file that cannot be used."""


def read_expect(path: str | Path, known: list[str]) -> dict[str, tuple[float, float]]:
    """The ranges in ``path``, checked: one ``[expect]`` table, known names, [lower, upper]."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExpectError(f"--expect {p}: no such file") from None
    except OSError as exc:
        raise ExpectError(f"--expect {p}: cannot read the file ({exc.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ExpectError(f"--expect {p}: not valid TOML ({exc})") from None
    extra = sorted(set(raw) - {"expect"})
    if extra or "expect" not in raw or not isinstance(raw["expect"], dict):
        raise ExpectError(
            f"--expect {p}: the file must hold one [expect] table of name = [lower, upper]"
            + (f" (found {', '.join(extra)})" if extra else "")
        )
    out = {}
    for name, rng in raw["expect"].items():
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise ExpectError(
                f"--expect {p}: unknown quantity '{name}'; {hint}reported quantities: "
                f"{', '.join(known)}"
            )
        ok = (
            isinstance(rng, list)
            and len(rng) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in rng)
            and all(math.isfinite(x) for x in rng)
            and rng[0] <= rng[1]
        )
        if not ok:
            raise ExpectError(
                f"--expect {p}: {name} must be [lower, upper] with lower <= upper, got {rng!r}"
            )
        out[name] = (float(rng[0]), float(rng[1]))
    return out
