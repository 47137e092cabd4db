"""Benchmark ``viglas report``: the time to write the page, its size, and how long headless
Chromium takes to open it and become interactive.

    python bench/bench_report.py --run results/wide --repeat 3   # after viglas run runs/wide.toml

Each repeat writes the page into a temporary directory (the run is only read), then opens it in a
fresh headless Chromium profile (Debian's ``chromium``) and reads the page's own clock, counted
from the start of navigation: when the tables sort and filter (``<body data-interactive>``) and
when every figure is drawn and answers hover (``<body data-ready>``). Prints the median and the
worst of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from screening.report import write_report
from screening.report.browser import open_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("results/wide"), help="a finished run")
    parser.add_argument("--top", type=int, default=200, help="rows of the ranked table")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    write_s, interactive_ms, ready_ms, open_s = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        for _ in range(args.repeat):
            start = time.perf_counter()
            write_report(args.run, page, args.top)
            write_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            with open_report(page) as opened:
                open_s.append(time.perf_counter() - start)
                interactive_ms.append(float(opened.page.get_attribute("body", "data-interactive")))
                ready_ms.append(float(opened.page.get_attribute("body", "data-ready")))
                assert opened.console_errors == [], opened.console_errors
        size_mb = page.stat().st_size / 1e6
    print(f"run {args.run}, --top {args.top}, {args.repeat} repeats (median, worst)")
    print(f"  write the page:               {statistics.median(write_s):6.1f} s  "
          f"{max(write_s):6.1f} s")
    print(f"  page size:                    {size_mb:6.2f} MB")
    print(f"  table interactive:            {statistics.median(interactive_ms) / 1e3:6.2f} s  "
          f"{max(interactive_ms) / 1e3:6.2f} s   (navigation start to sorting and filtering)")
    print(f"  every figure drawn:           {statistics.median(ready_ms) / 1e3:6.2f} s  "
          f"{max(ready_ms) / 1e3:6.2f} s   (navigation start to hover on every plot)")
    print(f"  browser start + load + draw:  {statistics.median(open_s):6.2f} s  "
          f"{max(open_s):6.2f} s")


if __name__ == "__main__":
    main()
