"""Assemble the report into one self-contained HTML file and write it atomically."""

from __future__ import annotations

import json
import string
import tomllib
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import tomli_w

from screening import store
from screening.atomic import write_text
from screening.report import panels
from screening.report.html import esc
from screening.report.run import RunData, load
from screening.spec import load_spec

ASSETS = files("screening.report") / "assets"


def plotly_js() -> str:
    """plotly.js as the ``plotly`` wheel ships it (inlined once: the page fetches nothing)."""
    return (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def written_spec(data: RunData) -> tuple[str, str]:
    """The spec as the user wrote it (comments included) and its description, when its file
    is still on disk with the run's content hash; else the resolved spec the run recorded."""
    source = data.meta.get("source")
    if source:
        try:
            if load_spec(source).content_hash == data.meta.get("content_hash"):
                text = Path(source).read_text(encoding="utf-8")
                return f"# {source}\n{text}", str(tomllib.loads(text).get("description", ""))
        except (ValueError, OSError):  # SpecError, a bad TOML or text file, a missing file
            pass
    resolved = {k: v for k, v in data.spec.items() if k != "meta"}
    return f"# resolved spec (spec.toml of {data.run_dir.name})\n{tomli_w.dumps(resolved)}", ""


def build_panels(data: RunData, top: int) -> list[panels.Panel]:
    """The page's sections for ``data``, in order; the MD section only after verify, the
    campaign section only after a campaign round."""
    optional = [p for p in (panels.md_panel(data), panels.campaign_panel(data)) if p]
    return [panels.header_panel(data, *written_spec(data)), panels.ranked_panel(data, top),
            panels.plots_panel(data, top), *optional, panels.validation_panel()]


def _script_json(value: object) -> str:
    # "</" would end the <script> element early; JSON allows the escaped slash.
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def render(title: str, sections: Sequence[panels.Panel]) -> str:
    """The whole page: CSS, the panels' HTML, the table script, plotly.js and the figures."""
    drawn = {key: fig for panel in sections for key, fig in panel.figures.items()}
    nav = "".join(f'<a href="#{esc(p.key)}">{esc(p.title)}</a>' for p in sections)
    body = "".join(f'<section id="{esc(p.key)}"><h2>{esc(p.title)}</h2>{p.html}</section>'
                   for p in sections)
    template = string.Template((ASSETS / "page.html").read_text(encoding="utf-8"))
    return template.substitute(
        title=esc(title), css=(ASSETS / "report.css").read_text(encoding="utf-8"),
        plotly=plotly_js(), nav=nav, body=body, figures=_script_json(drawn),
        tables=(ASSETS / "tables.js").read_text(encoding="utf-8"),
        figures_script=(ASSETS / "figures.js").read_text(encoding="utf-8"))


def write_report(run_dir: Path, out: Path | None = None, top: int = 200,
                 extra_panels: Sequence[panels.Panel] = ()) -> Path:
    """Write the report of the finished run at ``run_dir`` to ``out`` [run_dir/report.html]
    and return its path; ``extra_panels`` are appended after the built-in sections.

    The run is only read. The page appears under its name only once complete; a run that is
    unfinished, changed since its manifest or unreadable raises :class:`store.StoreError` and
    nothing is written.
    """
    out = out or run_dir / "report.html"
    if out.is_dir():
        raise store.StoreError(f"--out {out} is a directory; give a file name such as "
                               f"{out / 'report.html'}")
    data = load(run_dir)
    title = f"viglas report: {data.spec.get('name', run_dir.name)}"
    page = render(title, [*build_panels(data, top), *extra_panels])
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, page)
    except OSError as exc:
        raise store.StoreError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return out
