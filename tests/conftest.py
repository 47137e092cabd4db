"""Shared fixtures: small real run specs and one finished run reused by the query tests."""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from screening.cli import main
from screening.pipeline import run_screen
from screening.spec import load_spec

TINY_SPEC = """
name = "tiny"
temperature_C = 25.0
partition_size = 4
featurizers = ["magpie", "oxyhalide_network"]
scorers = ["conductivity", "tg", "stability", "cost"]

[space]
alkali = ["Li", "Na"]
centres = ["Al", "Ga"]
halogens = ["Cl"]
o_per_m = [0.0, 0.5, 0.75, 1.0]
explicit = ["LiAlCl4-75%O", "LiCl"]

[rank]
filters = ["ox_limit_V >= 1.0"]
"""


def write_spec(directory: Path, text: str = TINY_SPEC, name: str = "tiny.toml") -> Path:
    """Write a spec file and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``md`` every test of the physics tier (modules ``test_md*``) and ``slow`` every test
    that needs :func:`finished_run`, a full screen on a Dask cluster."""
    for item in items:
        if item.path.name.startswith("test_md"):
            item.add_marker(pytest.mark.md)
        if "finished_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Models fitted once per test session, in a private cache (never the user's).
    os.environ.setdefault("VIGLAS_CACHE", str(tmp_path_factory.mktemp("viglas-cache")))


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny spec run to completion on a real LocalCluster of two workers."""
    root = tmp_path_factory.mktemp("results")
    spec = load_spec(write_spec(root))
    run_screen(spec, root / "tiny", workers=2, progress=False)
    return root / "tiny"


@pytest.fixture()
def viglas(finished_run: Path, monkeypatch: pytest.MonkeyPatch):
    """The ``viglas`` command, run in-process with the finished run under $VIGLAS_RESULTS."""
    monkeypatch.setenv("VIGLAS_RESULTS", str(finished_run.parent))
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture()
def notices() -> Iterator[list[str]]:
    """The notices (warnings of the ``screening`` loggers) logged during the test, in order.

    A plain handler, not pytest's caplog: a LocalCluster raises every StreamHandler to ERROR
    while it runs, caplog's included.
    """
    handler = _Collected()
    logger = logging.getLogger("screening")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def one_line_error(result: Result) -> str:
    """The error line of a command that failed as it should: exit status 2, one line of
    output, no traceback."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("viglas: error: "), result.output
    return lines[0]
