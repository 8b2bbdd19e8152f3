"""`walkback report`: the reports/ site is complete, linked, deterministic, and matches the
committed reproduction report."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from walkback.cli import main

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"
FIGURES = ("km_activity_limiting", "km_secondary", "forest_hazard_ratios", "cost_effectiveness")


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    out = []
    here = os.getcwd()
    os.chdir(ROOT)  # the data path is recorded as given: run as `make reproduce` does
    try:
        for k in range(2):
            d = tmp_path_factory.mktemp(f"site{k}")
            assert (
                main(["report", "--data", "data/synthetic/walkback_twin.csv", "--out-dir", str(d)])
                == 0
            )
            out.append(d)
    finally:
        os.chdir(here)
    return out


def test_site_has_every_part(sites):
    d = sites[0]
    for name in ("index.html", "reproduction.md", "reproduction.json"):
        assert (d / name).is_file(), name
    for stem in FIGURES:
        for ext in ("png", "svg"):
            assert (d / "figures" / f"{stem}.{ext}").stat().st_size > 10_000, (stem, ext)


def test_every_link_in_the_index_exists(sites):
    d = sites[0]
    index = (d / "index.html").read_text()
    links = re.findall(r"(?:src|href)='([^']+)'", index)
    assert len(links) >= 2 * len(FIGURES) + 2
    for link in links:
        assert (d / link).is_file(), link
    assert "all published figures reproduced" in index
    assert "PASS" in index and "FAIL" not in index


def test_site_is_deterministic(sites):
    a, b = sites
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_reproduction_report_equals_the_committed_one(sites):
    for name in ("reproduction.md", "reproduction.json"):
        assert (sites[0] / name).read_text() == (ROOT / "reports" / name).read_text(), name


def test_committed_index_links_resolve():
    index = (ROOT / "reports" / "index.html").read_text()
    for link in re.findall(r"(?:src|href)='([^']+)'", index):
        if link.startswith("notebooks/"):
            continue  # rendered by make reproduce, not committed
        assert (ROOT / "reports" / link).is_file(), link


def test_report_rejects_a_missing_notebook_folder(tmp_path, capsys):
    code = main(
        [
            "report",
            "--data",
            str(TWIN),
            "--out-dir",
            str(tmp_path / "r"),
            "--notebooks",
            str(tmp_path / "nope"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--notebooks" in err
