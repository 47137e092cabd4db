"""The report in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Without Chromium or Playwright these tests skip with one line, except under CI (``$CI`` set),
where `.ci/run` installs Chromium and a skip would hide a broken page: there they fail.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from screening.report import write_report
from screening.report.browser import OpenedPage, find_chromium, open_report
from tests.test_report import verified_copy

#: Where the screenshot goes (kept by CI as an artifact).
ARTIFACTS = Path(os.environ.get("VIGLAS_TEST_ARTIFACTS",
                                Path(__file__).resolve().parent.parent / "test-artifacts"))


@pytest.fixture(scope="module")
def browser() -> None:
    """Skip (fail under CI) before any run is built when there is no browser to drive."""
    missing = ("playwright is not installed" if importlib.util.find_spec("playwright") is None
               else "no Chromium (apt-get install chromium)" if find_chromium() is None
               else None)
    if missing and os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {missing}")
    if missing:
        pytest.skip(f"browser tests skipped: {missing}")


@pytest.fixture(scope="module")
def run_dir(browser: None, finished_run: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Path:
    return verified_copy(finished_run, tmp_path_factory)


@pytest.fixture(scope="module")
def opened(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenedPage]:
    page = write_report(run_dir, tmp_path_factory.mktemp("browser") / "report.html")
    with open_report(page) as opened:
        yield opened


def _column(opened: OpenedPage, index: int) -> list[str]:
    return opened.page.eval_on_selector_all(
        "#ranked-table tbody tr:not([hidden])",
        f"rows => rows.map(r => r.cells[{index}].getAttribute('data-sort'))")


def test_the_page_opens_offline_without_console_errors(opened, run_dir):
    assert opened.console_errors == []
    assert opened.requests == [opened.page.url]  # the file itself; nothing else fetched
    assert opened.page.title() == "viglas report: tiny"


def test_clicking_a_header_sorts_the_table(opened, run_dir):
    ranked = pd.read_parquet(run_dir / "ranked.parquet")
    header = opened.page.locator("#ranked-table thead th", has_text="log10 σ")
    column = header.evaluate("th => th.cellIndex")
    header.click()
    assert [float(v) for v in _column(opened, column)] == pytest.approx(
        sorted(ranked["sigma_log10_S_cm"]), abs=1e-9)
    header.click()
    assert [float(v) for v in _column(opened, column)] == pytest.approx(
        sorted(ranked["sigma_log10_S_cm"], reverse=True), abs=1e-9)
    opened.page.locator("#ranked-table thead th", has_text="rank").first.click()
    assert [int(v) for v in _column(opened, 0)] == list(ranked["rank"])


def test_typing_in_the_filter_keeps_the_matching_rows(opened, run_dir):
    ranked = pd.read_parquet(run_dir / "ranked.parquet")
    opened.page.fill("input.filter", "Na Ga")
    shown = opened.page.eval_on_selector_all("#ranked-table tbody tr:not([hidden]) td.formula",
                                             "cells => cells.map(c => c.innerText)")
    assert shown == [f for f in ranked["formula"] if "Na" in f and "Ga" in f]
    opened.page.fill("input.filter", "")
    assert len(_column(opened, 0)) == len(ranked)


def test_the_plots_have_drawn_their_points(opened, run_dir):
    figures = opened.page.evaluate("JSON.parse(document.getElementById('figures').textContent)")
    expected = sum(x is not None and y is not None for t in figures["fig-pareto"]["data"]
                   if t["type"] == "scatter" for x, y in zip(t["x"], t["y"], strict=True))
    assert opened.page.locator("#fig-pareto .scatterlayer path.point").count() == expected > 0
    verified = pd.read_parquet(run_dir / "verified.parquet")
    temperatures = len(verified["temperatures_K"].iloc[0])
    assert opened.page.locator("#fig-arrhenius-0 .scatterlayer path.point").count() == \
        temperatures
    # Plotly's drag layer lies over the points and answers the mouse: move it there.
    star = opened.page.locator("#fig-pareto .scatterlayer .trace:last-child path.point").first
    star.scroll_into_view_if_needed()
    box = star.bounding_box()
    opened.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = opened.page.locator("#fig-pareto .hoverlayer .hovertext").first.text_content()
    front = pd.read_parquet(run_dir / "ranked.parquet").query("pareto")
    assert any(formula in hover for formula in front["formula"]) and "score" in hover


def test_an_out_of_domain_value_is_marked_with_its_reason(opened, run_dir):
    ranked = pd.read_parquet(run_dir / "ranked.parquet")
    outside = ranked[~ranked["sigma_in_domain"].astype(bool)].iloc[0]
    row = opened.page.locator("#ranked-table tbody tr", has=opened.page.locator(
        "td.formula", has_text=outside["formula"])).first
    assert "ood-row" in row.get_attribute("class")
    marked = row.locator("td.ood").first
    assert marked.is_visible() and "⚠" in marked.inner_text()
    assert marked.get_attribute("title").startswith("conductivity out of domain")
    background = marked.evaluate("td => getComputedStyle(td).backgroundColor")
    plain = row.locator("td.formula").evaluate("td => getComputedStyle(td).backgroundColor")
    assert background != plain


def test_a_screenshot_is_written_and_nothing_failed_meanwhile(opened):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "report.png"
    opened.page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert opened.console_errors == []  # clicks, typing and hovers above raised nothing
