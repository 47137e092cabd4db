"""One way to find a plug-in of any kind (featurizer, scorer, potential) from its reference.

A reference names a plug-in in one of four ways, tried in this order:

- a built-in name of that kind,
- an entry point in the kind's group (``viglas.featurizers``, ``viglas.scorers``,
  ``viglas.potentials``): how an installed package adds one,
- ``package.module:Name`` (an importable module),
- ``path/to/file.py:Name`` (a file, imported under a name derived from its path).

A module or file named by the user is registered with cloudpickle to be pickled by value, so
Dask workers that cannot import it (a file on the client's disk only) still get the plug-in. What
the resolved object must be (a matminer ``BaseFeaturizer``, a ``Scorer`` subclass...) is for the
caller to check: this module only finds it, and says in one line why it cannot.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha1
from pathlib import Path
from types import ModuleType

import cloudpickle

from candidates.errors import UserError


@dataclass(frozen=True)
class PluginKind:
    """One kind of plug-in: ``noun`` names it in messages, ``group`` is its entry-point group,
    ``builtins`` maps the names that ship with the package to the object or to a
    ``module:Name`` string imported on first use, and ``error`` is the error class raised."""

    noun: str
    group: str
    builtins: Mapping[str, object]
    error: type[UserError]

    def entry_points(self) -> dict[str, importlib.metadata.EntryPoint]:
        """The installed entry points of this kind, by name."""
        return {ep.name: ep for ep in importlib.metadata.entry_points(group=self.group)}

    def names(self) -> list[str]:
        """Built-in names (in their order), then installed entry-point names not among them."""
        return [*self.builtins, *(n for n in self.entry_points() if n not in self.builtins)]

    def resolve(self, ref: str) -> object:
        """The object ``ref`` names (see the module docstring); ``self.error`` when none."""
        if ref in self.builtins:
            target = self.builtins[ref]
            if not isinstance(target, str):
                return target
            module_name, _, attribute = target.partition(":")
            return self._attribute(ref, module_name, self._import(ref, module_name), attribute)
        entry_points = self.entry_points()
        if ref in entry_points:
            try:
                return entry_points[ref].load()
            except Exception as exc:  # plug-in code: any failure is the plug-in's, in one line
                raise self._error(ref, f"entry point failed to load: {exc}") from exc
        location, colon, attribute = ref.rpartition(":")
        if not colon or not location or not attribute:
            known = ", ".join(sorted({*self.builtins, *entry_points}))
            raise self._error(ref, f"unknown; use one of [{known}], 'package.module:Name' or "
                                   f"'path/to/file.py:Name'")
        is_file = location.endswith(".py") or "/" in location or "\\" in location
        module = self._import_file(ref, Path(location)) if is_file else self._import(ref, location)
        cloudpickle.register_pickle_by_value(module)
        return self._attribute(ref, location, module, attribute)

    def _error(self, ref: str, message: str) -> UserError:
        return self.error(f"{self.noun} {ref!r}: {message}")

    def _import(self, ref: str, module_name: str) -> ModuleType:
        try:
            return importlib.import_module(module_name)
        except Exception as exc:  # an import runs plug-in code: any failure, in one line
            raise self._error(ref, f"cannot import {module_name!r}: {exc}") from exc

    def _import_file(self, ref: str, path: Path) -> ModuleType:
        if not path.is_file():
            raise self._error(ref, f"no file {str(path)!r}")
        resolved = path.resolve()
        name = f"viglas_plugin_{resolved.stem}_{sha1(str(resolved).encode()).hexdigest()[:10]}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, resolved)
        if spec is None or spec.loader is None:
            raise self._error(ref, f"{str(path)!r} is not a Python file (name it *.py)")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # as in _import
            del sys.modules[name]
            raise self._error(ref, f"importing {str(path)!r} failed: {exc}") from exc
        return module

    def _attribute(self, ref: str, location: str, module: ModuleType, attribute: str) -> object:
        try:
            return getattr(module, attribute)
        except AttributeError as exc:
            raise self._error(ref, f"{location!r} has no {attribute!r}") from exc
