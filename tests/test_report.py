"""``viglas report`` without a browser: what the page holds, and bad runs refused in one line
with no page written. The page in a real browser is tests/test_report_browser.py."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from screening import store
from screening.md import protocol, verify
from screening.pipeline import run_screen
from screening.report import Panel, figures, write_report
from screening.report.run import load, stage_counts
from screening.report.tables import COLUMNS, out_of_domain, ranked_table
from screening.spec import load_spec
from tests.conftest import one_line_error, write_spec
from tests.test_md import LJ, TINY
from tests.test_pipeline import JOIN_SPEC

#: The candidates of the tiny run that the MD tests verify.
VERIFIED = ["LiAlCl4", "LiAlCl4-75%O"]


def verified_copy(finished_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run with :data:`VERIFIED` verified by the tiny protocol and the Lennard-Jones
    plug-in, built once per session (the browser tests open its report too)."""
    run_dir = tmp_path_factory.getbasetemp() / "report-verified" / "tiny"
    if not (run_dir / "ranked_verified.parquet").exists():
        shutil.copytree(finished_run, run_dir)
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(protocol.PROTOCOLS, "tiny", TINY)
            result = verify.verify(run_dir, "tiny", formulas=VERIFIED, potential_ref=LJ,
                                   device="cpu", workers=1, progress=False)
        assert result.failed == {}
    return run_dir


def _figures(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page,
                      re.S)
    assert found
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def report_page(finished_run: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "tiny.html"
    write_report(finished_run, out, top=5)
    return out.read_text(encoding="utf-8")


def test_the_command_writes_one_self_contained_page_and_leaves_the_run_alone(
        viglas, finished_run, tmp_path):
    before = {p.name: store.file_digest(p) for p in finished_run.iterdir() if p.is_file()}
    result = viglas("report", "tiny", "--out", str(tmp_path / "page.html"), "--top", "3")
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {tmp_path / 'page.html'}\n"
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="', page)  # nothing to fetch
    assert "Plotly.newPlot" in page and page.count("<script>") == 3  # tables, plotly, figures
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]
    assert {p.name: store.file_digest(p) for p in finished_run.iterdir() if p.is_file()} == before


def test_the_header_counts_every_stage_from_the_run(finished_run, report_page):
    scores = pd.read_parquet(finished_run / "scores.parquet")
    ranked = pd.read_parquet(finished_run / "ranked.parquet")
    stages = dict(stage_counts(load(finished_run)))
    assert stages == {"enumerated": len(scores),
                      "glass formers": int(scores["glass_forming"].eq(True).sum()),
                      "viscoelastic": int(scores["viscoelastic"].eq(True).sum()),
                      "passing the filters": int((scores["ox_limit_V"] >= 1.0).sum()),
                      "ranked": len(ranked)}
    for stage, count in stages.items():
        assert f'<span class="count">{count:,}</span> {stage}' in report_page
    assert "ox_limit_V &gt;= 1.0" in report_page


def test_the_table_holds_the_best_rows_with_uncertainty_and_marks_extrapolations(
        finished_run, report_page):
    ranked = pd.read_parquet(finished_run / "ranked.parquet")
    table = report_page[report_page.index('<table id="ranked-table"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr class=\"([^\"]*)\">(.*?)</tr>", table)
    assert [re.search(r'class="formula">([^<]+)<', r).group(1) for _, r in rows] == list(
        ranked["formula"][:5])
    first = ranked.iloc[0]
    assert f"{first['sigma_log10_S_cm']:.2f} ± {first['sigma_log10_unc']:.2f}" in rows[0][1]
    assert "log10 σ<span class=\"unit\">log10 S/cm</span>" in table
    for (cls, html), (_, row) in zip(rows, ranked.head(5).iterrows(), strict=True):
        reasons = [out_of_domain(row, c) for c in COLUMNS if c.name in ranked]
        assert (cls == "ood-row") == any(reasons)
        if not row["sigma_in_domain"]:
            assert "conductivity out of domain" in html
            assert not row["sigma_unseen"] or row["sigma_unseen"] in html


def test_an_out_of_domain_reason_names_the_distance_and_the_unseen_pairs():
    row = pd.Series({"sigma_in_domain": False, "sigma_domain_distance": 0.62,
                     "sigma_unseen": "Ga-Na"})
    assert out_of_domain(row, COLUMNS[0]) == (
        "conductivity out of domain (distance 0.62 to the nearest training composition); "
        "unseen element pairs: Ga-Na")
    assert out_of_domain(row.replace({False: True}), COLUMNS[0]) == ""


def test_the_plots_carry_every_family_point_and_the_pareto_front(finished_run, report_page):
    figures = _figures(report_page)
    assert {"fig-sigma_log10_S_cm-vs-o", "fig-tg_K-vs-o", "fig-p_glass-vs-o",
            "fig-pareto"} <= set(figures)
    ranked = pd.read_parquet(finished_run / "ranked.parquet")
    front = next(t for t in figures["fig-pareto"]["data"] if t["name"].startswith("Pareto"))
    assert sorted(front["text"]) == sorted(ranked.loc[ranked["pareto"], "formula"])
    lines = [t for t in figures["fig-sigma_log10_S_cm-vs-o"]["data"] if "name" in t]
    plotted = {f for t in lines for f in t["text"]}
    assert "LiAlCl2.5O0.75" in plotted
    row = ranked.set_index("formula").loc["LiAlCl2.5O0.75"]
    trace = next(t for t in lines if "LiAlCl2.5O0.75" in t["text"])
    at = trace["text"].index("LiAlCl2.5O0.75")
    assert trace["x"][at] == 0.75
    assert trace["y"][at] == pytest.approx(row["sigma_log10_S_cm"], abs=1e-3)


def test_extra_panels_are_appended_with_their_figures(finished_run, tmp_path):
    extra = Panel("campaign", "Campaign", '<div class="figure" id="fig-campaign"></div>',
                  {"fig-campaign": {"data": [{"type": "bar", "x": ["a"], "y": [1]}],
                                    "layout": {}}})
    page = write_report(finished_run, tmp_path / "p.html", extra_panels=[extra]).read_text()
    assert page.index('<section id="validation">') < page.index('<section id="campaign">')
    assert _figures(page)["fig-campaign"]["data"][0]["y"] == [1]


def _damaged(finished_run: Path, tmp_path: Path, how: str) -> Path:
    run = tmp_path / how
    shutil.copytree(finished_run, run)
    if how == "unfinished":
        manifest = json.loads((run / "manifest.json").read_text())
        (run / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    elif how == "flipped":
        data = bytearray((run / "scores.parquet").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (run / "scores.parquet").write_bytes(bytes(data))
    elif how == "truncated":
        (run / "ranked.parquet").write_bytes((run / "ranked.parquet").read_bytes()[:100])
    elif how == "no manifest":
        (run / "manifest.json").unlink()
    return run


@pytest.mark.parametrize("how, message", [
    ("unfinished", "is not a finished run"),
    ("no manifest", "is not a finished run"),
    ("flipped", "is corrupt: scores.parquet checksum mismatch"),
    ("truncated", "is corrupt: ranked.parquet 100 bytes"),
])
def test_a_bad_run_gets_one_line_and_no_page(viglas, finished_run, tmp_path, how, message):
    run = _damaged(finished_run, tmp_path, how)
    out = tmp_path / "out" / "page.html"
    assert message in one_line_error(viglas("report", str(run), "--out", str(out)))
    assert not (tmp_path / "out").exists() and not (run / "report.html").exists()


def test_a_missing_run_or_a_directory_as_out_gets_one_line(viglas, tmp_path):
    assert "no run 'nope'" in one_line_error(viglas("report", "nope"))
    error = one_line_error(viglas("report", "tiny", "--out", str(tmp_path)))
    assert "is a directory; give a file name" in error
    assert list(tmp_path.iterdir()) == []


def test_after_verify_the_page_shows_each_arrhenius_fit_and_both_rankings(
        finished_run, tmp_path_factory, tmp_path):
    run = verified_copy(finished_run, tmp_path_factory)
    page = write_report(run, tmp_path / "p.html").read_text(encoding="utf-8")
    verified = pd.read_parquet(run / "verified.parquet").reset_index(drop=True)
    rescored = pd.read_parquet(run / "ranked_verified.parquet").set_index("formula")
    figures = _figures(page)
    for i, row in verified.iterrows():
        points = figures[f"fig-arrhenius-{i}"]["data"][0]
        assert points["x"] == pytest.approx(1000.0 / row["temperatures_K"], rel=1e-3)
        assert row["formula"] in figures[f"fig-arrhenius-{i}"]["layout"]["title"]["text"]
    table = page[page.index('<table id="md-ranking"'):]
    rows = re.findall(r'<tr class="([^"]*)">(.*?)</tr>', table[:table.index("</table>")])
    assert len(rows) == len(verified)
    for (cls, html), (_, row) in zip(rows, verified.sort_values("formula").iterrows(),
                                     strict=True):
        assert row["formula"] in html
        assert (cls == "unresolved") == (not row["ea_eV"] > row["ea_unc_eV"])
        if row["formula"] in rescored.index:
            assert rescored.loc[row["formula"], "sigma_source"] in html


def test_a_three_member_join_gets_a_ternary_map_of_the_score(tmp_path):
    run = tmp_path / "join"
    run_screen(load_spec(write_spec(tmp_path, JOIN_SPEC)), run, workers=1, progress=False)
    figures = _figures(write_report(run, tmp_path / "join.html").read_text(encoding="utf-8"))
    assert "fig-sigma_log10_S_cm-vs-o" not in figures  # no O grid in a join
    out, scored = figures["fig-join-LiCl-AlCl3-Al2O3"]["data"]
    ranked = pd.read_parquet(run / "ranked.parquet").set_index("formula")
    assert len(out["text"]) + len(scored["text"]) == 45
    assert sorted(scored["text"]) == sorted(ranked.index)
    first = ranked.loc[scored["text"][0]]
    assert [scored[k][0] for k in "abc"] == pytest.approx(
        [first["frac_LiCl"], first["frac_AlCl3"], first["frac_Al2O3"]], abs=1e-3)
    assert scored["customdata"][0] == pytest.approx(first["score"], abs=1e-3)


def test_a_run_without_tg_scorer_columns_still_gets_its_plots_and_table(finished_run):
    data = load(finished_run)
    dropped = ["tg_K", "tg_K_unc", "glass_forming", "p_glass", "viscoelastic"]
    partial = dataclasses.replace(data, scored=data.scored.drop(columns=dropped),
                                  ranked=data.ranked.drop(columns=dropped))
    assert figures.pareto_figures(partial, 10) == {}
    drawn = figures.per_o_figures(partial)
    assert set(drawn) == {"fig-sigma_log10_S_cm-vs-o"}
    assert "rect" not in {shape["type"] for shape in drawn["fig-sigma_log10_S_cm-vs-o"]
                          ["layout"]["shapes"]}  # no glass window without glass formation
    assert "Tg<span" not in ranked_table(partial.ranked, 5)
