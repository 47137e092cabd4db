"""Small HTML builders for the report: escaped text, numbers with their uncertainty, tables."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence


def esc(value: object) -> str:
    """``value`` as text safe inside HTML elements and attribute values."""
    return html.escape(str(value), quote=True)


def number(value: object, fmt: str, unc: object = None) -> str:
    """``value`` formatted with ``fmt``, followed by ``± unc`` when there is an uncertainty;
    an em dash for a missing value."""
    if not is_number(value):
        return "\u2014"
    text = format(float(value), fmt)
    return f"{text} \u00b1 {format(float(unc), fmt)}" if is_number(unc) else text


def is_number(value: object) -> bool:
    """Whether ``value`` is a finite real number (not None, NaN or text)."""
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def cell(content: str, sort: object = None, cls: str = "", title: str = "") -> str:
    """A ``<td>`` holding trusted ``content``; ``sort`` is the value the page sorts it by."""
    attrs = ""
    if sort is not None:
        attrs += f' data-sort="{esc(sort if is_number(sort) or isinstance(sort, str) else "")}"'
    if cls:
        attrs += f' class="{esc(cls)}"'
    if title:
        attrs += f' title="{esc(title)}"'
    return f"<td{attrs}>{content}</td>"


def table(table_id: str, headers: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]],
          filterable: bool = False) -> str:
    """A table the page can sort by any header (and filter by text when ``filterable``).

    ``headers`` are trusted HTML; each row is ``(row classes, [<td> cells])``.
    """
    head = "".join(f'<th tabindex="0">{h}</th>' for h in headers)
    body = "".join(f'<tr class="{esc(cls)}">{"".join(cells)}</tr>' for cls, cells in rows)
    search = (f'<input class="filter" type="search" data-table="{esc(table_id)}" '
              f'placeholder="filter rows (any text, e.g. Na or Br)">' if filterable else "")
    return (f'{search}<div class="scroll"><table id="{esc(table_id)}" class="sortable">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def plain_table(headers: Sequence[str], rows: Iterable[Sequence[object]],
                head: bool = True) -> str:
    """A static table of escaped values (without a header row unless ``head``)."""
    thead = ("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers)
             + "</tr></thead>") if head else ""
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table>{thead}<tbody>{body}</tbody></table>"
