"""The one base class of every error a user causes and can fix.

Every package of viglas-screen raises a subclass of :class:`UserError` for input it cannot use (a
misspelt spec key, an unknown element, a busy run directory, bad SQL). The message says what was
wrong, where, and how to fix it, on one line; the ``viglas`` command shows it as
``viglas: error: <message>`` with exit status 2, and lets any other exception through as the bug
it is. It lives at the bottom of the import order so that every package can subclass it.
"""

from __future__ import annotations

import math


class UserError(ValueError):
    """Input that cannot be used; the message names what, where and how to fix it."""


def format_count(n: int) -> str:
    """``n`` as a message shows a count: ``10,000,001``, or ``1.5e+300`` once it has more than
    15 digits (a grid from a step of 1e-300 has a 300-digit size nobody reads)."""
    if abs(n) < 10**15:
        return f"{n:,}"
    if n < 0:
        return f"-{format_count(-n)}"
    exponent = int(math.log10(n))  # not len(str(n)): str() refuses ints over 4300 digits
    if n < 10**exponent:  # log10 rounded up
        exponent -= 1
    mantissa = n / 10**exponent  # exact integer division, rounded once into a float
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}e+{exponent}"
