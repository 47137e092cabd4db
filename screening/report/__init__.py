"""``viglas report``: one self-contained, interactive HTML page per run.

The page holds everything it needs (CSS, plotly.js from the ``plotly`` wheel, the data, the
script), so it opens offline and can be mailed to someone without Python. It shows the run's
spec and the candidates left at each stage, the ranked table (sortable and filterable, values
with their uncertainty, extrapolations marked with the reason, the score as a stacked bar of its
objective contributions), the plots of ``viglas plot`` with hover, the MD verification when
``viglas verify`` has run, and the validation figures. :func:`write_report` takes extra
:class:`Panel` sections for what a later tool wants to add.
"""

from screening.report.page import write_report
from screening.report.panels import Panel

__all__ = ["Panel", "write_report"]
