"""JSON output conventions shared by every command (imports numpy only: cheap at start-up)."""

from __future__ import annotations

import numpy as np


def json_ready(obj):
    """A JSON-ready copy: NaN and infinities -> None ("not defined"), numpy scalars -> Python
    numbers, dict keys -> text. Every walkback JSON output goes through this."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if np.isfinite(v) else None
    return obj
