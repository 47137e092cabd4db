"""The one base class of every error a user causes and can fix.

Every package of viglas-screen raises a subclass of :class:`UserError` for input it cannot use (a
misspelt spec key, an unknown element, a busy run directory, bad SQL). The message says what was
wrong, where, and how to fix it, on one line; the ``viglas`` command shows it as
``viglas: error: <message>`` with exit status 2, and lets any other exception through as the bug
it is. It lives at the bottom of the import order so that every package can subclass it.
"""

from __future__ import annotations


class UserError(ValueError):
    """Input that cannot be used; the message names what, where and how to fix it."""
