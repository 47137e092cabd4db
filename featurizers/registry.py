"""Find featurizers by name and run them over a partition of plain formulas.

A reference names a featurizer as :mod:`featurizers.plugins` resolves every plug-in: a built-in
name (:func:`builtin_names`), an entry point in the group ``viglas.featurizers``,
``package.module:Class`` or ``path/to/file.py:Class`` (pickled by value, so Dask workers need not
import it).

Every featurizer is a matminer ``BaseFeaturizer``. :func:`featurize_formulas` uses the vectorised
fraction path of featurizers that have one and matminer's ``featurize_many`` for the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matminer.featurizers.base import BaseFeaturizer
from pymatgen.core import Composition

from candidates.formula import parse_plain
from featurizers.elemental import FastElementProperty, FastValenceOrbital
from featurizers.errors import FeaturizerError
from featurizers.fast import has_fast_path
from featurizers.fractions import FractionMatrix, fraction_matrix
from featurizers.ion import CheckedIonProperty
from featurizers.network import GlassNetwork
from featurizers.oxyhalide import OxyhalideNetwork
from featurizers.plugins import PluginKind
from featurizers.stoichiometry import FastStoichiometry
from featurizers.transport import IonTransport

__all__ = [
    "FeaturizerError",
    "builtin_names",
    "describe_featurizers",
    "featurize_formulas",
    "load_featurizer",
]

ENTRY_POINT_GROUP = "viglas.featurizers"

# Rows per call of a fast featurizer: keeps the n x elements x properties temporaries in cache.
FAST_CHUNK_ROWS = 8192

_BUILTINS: dict[str, Callable[[], BaseFeaturizer]] = {
    "magpie": lambda: FastElementProperty.from_preset("magpie"),
    "stoichiometry": FastStoichiometry,
    "valence_orbital": FastValenceOrbital,
    "ion_property": CheckedIonProperty,
    "oxyhalide_network": OxyhalideNetwork,
    "glass_network": GlassNetwork,
    "ion_transport": IonTransport,
}


FEATURIZERS = PluginKind("featurizer", ENTRY_POINT_GROUP, _BUILTINS, FeaturizerError)


def builtin_names() -> list[str]:
    """Names of the featurizers that ship with the package."""
    return list(_BUILTINS)


def load_featurizer(ref: str) -> BaseFeaturizer:
    """The featurizer named by ``ref`` (see the module docstring), set to run in-process.

    A plug-in must be a matminer ``BaseFeaturizer`` subclass (constructed without arguments) or
    instance; only the built-ins are factories. Anything else is refused before it is called, so
    a reference such as ``sys:exit`` cannot run. ``n_jobs`` is set to 1 because matminer would
    otherwise start a process pool inside each Dask worker.
    """
    target = FEATURIZERS.resolve(ref)
    plugin_class = isinstance(target, type) and issubclass(target, BaseFeaturizer)
    if ref not in _BUILTINS and not plugin_class and not isinstance(target, BaseFeaturizer):
        raise FeaturizerError(f"featurizer {ref!r}: {type(target).__name__} {target!r:.60} is "
                              "not a matminer BaseFeaturizer subclass or instance")
    try:
        featurizer = target() if callable(target) else target
    except Exception as exc:
        raise FeaturizerError(f"featurizer {ref!r}: constructing it failed: {exc}") from exc
    if not isinstance(featurizer, BaseFeaturizer):
        raise FeaturizerError(
            f"featurizer {ref!r}: got {type(featurizer).__name__}, not a matminer BaseFeaturizer"
        )
    featurizer.set_n_jobs(1)
    return featurizer


def describe_featurizers(refs: Sequence[str] | None = None) -> list[dict]:
    """One dict per featurizer: name, class, n_features, labels, citations, implementors, fast.

    ``refs=None`` describes every built-in and every installed entry point.
    """
    if refs is None:
        refs = FEATURIZERS.names()
    described = []
    for ref in refs:
        featurizer = load_featurizer(ref)
        labels = list(featurizer.feature_labels())
        described.append(
            {
                "name": ref,
                "class": f"{type(featurizer).__module__}.{type(featurizer).__qualname__}",
                "n_features": len(labels),
                "labels": labels,
                "citations": list(featurizer.citations()),
                "implementors": list(featurizer.implementors()),
                "fast": has_fast_path(featurizer),
            }
        )
    return described


def _check_labels(featurizers: Sequence[tuple[str, BaseFeaturizer]]) -> list[str]:
    owner: dict[str, str] = {}
    for name, featurizer in featurizers:
        for label in featurizer.feature_labels():
            if label in owner:
                raise FeaturizerError(
                    f"feature label {label!r} is produced by both {owner[label]!r} and {name!r}; "
                    "drop one of them from the spec"
                )
            owner[label] = name
    return list(owner)


def _fast_block(featurizer: BaseFeaturizer, matrix: FractionMatrix) -> np.ndarray:
    starts = range(0, max(len(matrix.valid), 1), FAST_CHUNK_ROWS)
    return np.vstack(
        [
            featurizer.featurize_fractions(
                matrix.fractions[s : s + FAST_CHUNK_ROWS], matrix.elements
            )
            for s in starts
        ]
    )


def _as_row(values: object, width: int, name: str) -> np.ndarray:
    try:
        row = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.full(width, np.nan)
    if len(row) != width:
        raise FeaturizerError(
            f"featurizer {name!r} returned {len(row)} values for {width} feature labels"
        )
    return row


def _slow_block(
    name: str, featurizer: BaseFeaturizer, compositions: list[Composition | None], width: int
) -> np.ndarray:
    block = np.full((len(compositions), width), np.nan)
    rows = [i for i, comp in enumerate(compositions) if comp is not None]
    results = featurizer.featurize_many(
        [compositions[i] for i in rows], ignore_errors=True, pbar=False
    )
    for i, values in zip(rows, results, strict=True):
        block[i] = _as_row(values, width, name)
    return block


def _compositions(formulas: Sequence[str], matrix: FractionMatrix) -> list[Composition | None]:
    built: list[Composition | None] = []
    for formula, ok in zip(formulas, matrix.valid, strict=True):
        try:
            # The amounts the fast path parsed, so both paths see the same composition.
            built.append(Composition(dict(parse_plain(formula))) if ok else None)
        except Exception:  # any pymatgen failure is a NaN row, never a dead batch
            built.append(None)
    return built


def featurize_formulas(
    featurizers: Sequence[tuple[str, BaseFeaturizer]], formulas: Sequence[str]
) -> pd.DataFrame:
    """Features of plain formulas (``LiAlCl2.5O0.75``): one float row per formula, RangeIndex.

    Columns are the featurizers' ``feature_labels()`` in order; two featurizers sharing a label is
    a :class:`FeaturizerError`. A formula that does not parse, or a row a featurizer fails on, is
    NaN in the affected columns. Featurizers with a fraction path run vectorised; the others run
    through matminer's ``featurize_many`` on pymatgen ``Composition`` objects.
    """
    formulas = list(formulas)
    labels = _check_labels(featurizers)
    matrix = fraction_matrix(formulas)
    compositions: list[Composition | None] | None = None
    blocks = []
    for name, featurizer in featurizers:
        width = len(featurizer.feature_labels())
        if has_fast_path(featurizer):
            blocks.append(_fast_block(featurizer, matrix))
            continue
        if compositions is None:
            compositions = _compositions(formulas, matrix)
        blocks.append(_slow_block(name, featurizer, compositions, width))
    values = np.hstack(blocks) if blocks else np.empty((len(formulas), 0))
    return pd.DataFrame(values, columns=labels, dtype=float)
