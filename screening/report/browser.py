"""Open a report in headless Chromium through Playwright, for the browser tests and the
benchmark. It drives the system's Chromium (Debian's ``chromium`` package): Playwright never
downloads a browser of its own here."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Headless, and quiet on a machine with no network: no background connections or updates.
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync")
#: Milliseconds a page may take to load and draw before the helpers give up.
TIMEOUT_MS = 30_000


def find_chromium() -> str | None:
    """The Chromium executable: ``$VIGLAS_CHROMIUM``, else ``chromium`` on the PATH."""
    return (os.environ.get("VIGLAS_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))


@dataclass
class OpenedPage:
    """A page opened by :func:`open_report`, with what the browser said while it loaded."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@contextmanager
def open_report(path: Path, width: int = 1400, height: int = 900) -> Iterator[OpenedPage]:
    """Open the HTML file at ``path`` in a fresh headless Chromium profile and wait until the
    page says it is drawn (``<body data-ready>``); console errors, uncaught exceptions and every
    URL requested are collected."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium found (install Debian's chromium package or set "
                                "VIGLAS_CHROMIUM)")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=list(CHROMIUM_ARGS),
            viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            opened = OpenedPage(page)
            page.on("console", lambda m: m.type == "error" and opened.console_errors.append(
                m.text))
            page.on("pageerror", lambda exc: opened.console_errors.append(str(exc)))
            page.on("request", lambda r: opened.requests.append(r.url))
            page.goto(Path(path).resolve().as_uri(), timeout=TIMEOUT_MS)
            page.wait_for_selector("body[data-ready]", state="attached", timeout=TIMEOUT_MS)
            yield opened
        finally:
            context.close()
