"""The reports/ site: figures, the reproduction table as HTML, executed notebooks, an index.

Everything is deterministic (no timestamps; fixed SVG ids; notebooks executed without timing
metadata) and every number comes from a results file or a computation on the data, never from
text typed here.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from walkback.outputs import write_text


def reproduction_html(rep: dict) -> str:
    """The reproduction table (from reproduction.json) as an HTML fragment."""

    def fmt(v, prec):
        if v is None:
            return "NR"
        decimals = max(0, -int(np.floor(np.log10(prec) + 1e-9))) + (
            0 if float(v).is_integer() and prec >= 1 else 2
        )
        return f"{v:,.{decimals}f}"

    def pub(v, prec):
        decimals = max(0, -int(np.floor(np.log10(prec) + 1e-9)))
        return f"{v:,.{decimals}f}"

    body = []
    for t in rep["targets"]:
        p = pub(t["published"], t["precision"])
        if t["published_ci"]:
            p += (
                f" ({pub(t['published_ci'][0], t['precision'])} to "
                f"{pub(t['published_ci'][1], t['precision'])})"
            )
        r = fmt(t["reproduced"], t["precision"])
        if t["reproduced_ci"]:
            r += (
                f" ({fmt(t['reproduced_ci'][0], t['precision'])} to "
                f"{fmt(t['reproduced_ci'][1], t['precision'])})"
            )
        cls = "pass" if t["status"] == "pass" else "fail"
        body.append(
            f"<tr><td>{html.escape(t['label'])}</td><td>{p}</td><td>{r}</td>"
            f"<td>{t['precision']:g}</td><td class='{cls}'>{t['status'].upper()}</td>"
            f"<td class='src'>{html.escape(t['source'])}; {html.escape(t['confidence'])}"
            "</td></tr>"
        )
    c = rep["counts"]
    conv = rep["conventions"]
    return (
        f"<p>Data: <code>{html.escape(rep['data'])}</code>. Conventions: KM CI "
        f"<code>{conv['conf_type']}</code>, Cox ties <code>{conv['ties']}</code>, strata "
        f"{', '.join(conv['strata']) or 'none'}. A value passes when it rounds to the published "
        f"figure at its printed precision.</p>"
        "<table><thead><tr><th>Target</th><th>Published</th><th>Reproduced</th>"
        "<th>Printed precision</th><th>Status</th><th>Source; confidence</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
        f"<p><b>{c['pass']} passed, {c['fail']} failed, {c['missing']} not computable.</b></p>"
    )


CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;width:100%}
td,th{border-bottom:1px solid #eee;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.pass{color:#1a7f37;font-weight:600}td.fail{color:#b42318;font-weight:600}
td.src{color:#666;font-size:.75rem}figure{margin:1rem 0}figure img{max-width:100%;height:auto;
border:1px solid #eee}figcaption{font-size:.8rem;color:#555}code{font-size:.85em}
ul.nb li{margin:.2rem 0}"""

CAPTIONS = {
    "km_": "Kaplan-Meier curves with 95% CI bands, censoring ticks, medians and numbers at risk, "
    "events and censored below (KMunicate layout).",
    "km_secondary": "Secondary outcomes, same layout.",
    "forest_hazard_ratios": "Cox hazard ratios (95% CI) for each outcome, log scale.",
    "cost_effectiveness": "Bootstrap cost-effectiveness plane with the willingness-to-pay "
    "threshold, and the acceptability curve.",
}


def _caption(stem: str) -> str:
    for key, text in CAPTIONS.items():
        if stem == key or (key.endswith("_") and stem.startswith(key) and stem != "km_secondary"):
            return text
    return ""


def _png_width(path: Path) -> int:
    """Pixel width from a PNG header (bytes 16-19 of the IHDR chunk)."""
    with path.open("rb") as fh:
        head = fh.read(24)
    return int.from_bytes(head[16:20], "big")


def write_index(out_dir: str | Path, title: str) -> Path:
    """reports/index.html: the reproduction table, figures and notebooks found in out_dir."""
    out = Path(out_dir)
    rep = json.loads((out / "reproduction.json").read_text())
    figs = sorted((out / "figures").glob("*.png")) if (out / "figures").is_dir() else []
    # the story's order: primary outcome, secondary outcomes, hazard ratios, then the rest
    rank = {"km_secondary": 1, "forest_hazard_ratios": 2}
    figs.sort(
        key=lambda f: (
            0 if f.stem.startswith("km_") and f.stem != "km_secondary" else rank.get(f.stem, 3),
            f.stem,
        )
    )
    nbs = sorted((out / "notebooks").glob("*.html")) if (out / "notebooks").is_dir() else []
    status = (
        "all published figures reproduced"
        if rep["all_passed"]
        else ("NOT all published figures reproduced")
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *(
            [f"<p><b>What was reproduced from what.</b> {html.escape(rep['provenance'])}</p>"]
            if rep.get("provenance")
            else []
        ),
        "<p>Every number the model assumes (not published) is marked as an assumption, with its "
        "reason, in the spec: <a href='spec.toml'>spec.toml</a>.</p>",
        f"<p>{html.escape(rep['spec']['citation'])}</p>",
        f"<p><b>{status}</b> (written by <code>make reproduce</code>; details in "
        "<a href='reproduction.md'>reproduction.md</a> and "
        "<a href='reproduction.json'>reproduction.json</a>).</p>",
        "<h2>Published vs reproduced</h2>",
        reproduction_html(rep),
        "<h2>Figures</h2>",
    ]
    for f in figs:
        rel = f.relative_to(out).as_posix()
        svg = rel[:-4] + ".svg"
        width = _png_width(f) // 2  # saved at 300 dpi: shown at 150 px per inch
        parts.append(
            f"<figure><img src='{rel}' alt='{f.stem}' width='{width}'>"
            f"<figcaption>{_caption(f.stem)} "
            f"(<a href='{svg}'>SVG</a>)</figcaption></figure>"
        )
    parts.append("<h2>Notebooks</h2>")
    if nbs:
        parts.append(
            "<ul class='nb'>"
            + "".join(
                f"<li><a href='{n.relative_to(out).as_posix()}'>{n.stem.replace('_', ' ')}</a></li>"
                for n in nbs
            )
            + "</ul>"
        )
    else:
        parts.append("<p>Not rendered in this build (run <code>make reproduce</code>).</p>")
    parts.append("</body></html>\n")
    path = out / "index.html"
    write_text(path, "\n".join(parts))
    return path


def render_notebooks(nb_dir: str | Path, out_dir: str | Path, timeout: int = 600) -> list[Path]:
    """Execute every notebook in a fresh kernel and write HTML (and the executed .ipynb)."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    src = Path(nb_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    exporter = HTMLExporter(template_name="lab")
    for path in sorted(src.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(src)}},
        ).execute()
        body, _ = exporter.from_notebook_node(nb)
        target = out / f"{path.stem}.html"
        write_text(target, body)
        text = nbformat.writes(nb)  # as nbformat.write: ends with a newline
        write_text(out / path.name, text if text.endswith("\n") else text + "\n")
        written.append(target)
    return written
