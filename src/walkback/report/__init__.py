"""Deterministic renderings of results (text tables now; Markdown and HTML reports later)."""
