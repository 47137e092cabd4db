"""The physics tier: melt-quench MD of short-listed candidates with a machine-learned potential.

Optional: it needs the ``md`` extra (torch, chgnet, kinisi). The composition tier never imports
this package's heavy modules; :func:`require_extra` turns their absence into one line.
"""

from __future__ import annotations

import importlib.util

from candidates.errors import UserError

#: Distributions the tier needs, by import name.
EXTRA_MODULES = ("torch", "chgnet", "kinisi", "ase")


class MDError(UserError):
    """A physics-tier request that cannot run; shown as one line by the CLI."""


def require_extra() -> None:
    """Raise :class:`MDError` naming the install command when the ``md`` extra is missing."""
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise MDError(f"viglas verify needs the md extra ({', '.join(missing)} not installed): "
                      "pip install torch==2.13.0 -e '.[md]' (a CPU build of torch is enough)")
