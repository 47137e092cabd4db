"""A candidate's own formation enthalpy (eV/atom), estimated from its composition.

Glass candidates are not in any table, so their energy above the hull needs an estimate of their
own formation enthalpy. :class:`FormationEnthalpyModel` is an extremely randomised trees regressor
(Geurts et al., Mach. Learn. 63, 3 (2006)) on magpie element-property statistics (Ward et al.,
npj Comput. Mater. 2, 16028 (2016)) trained on pymatgen's 2,135 experimental formation enthalpies;
five-fold cross-validation (shuffled, fixed seed) is run at fit time and kept as ``cv_mae_eV_atom_``
(0.096 eV/atom, against 0.77 eV/atom for predicting the mean). :func:`load_formation_model`
fits it once and caches it on disk keyed by the data, the parameters and the library versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import sklearn
from matminer.featurizers.base import BaseFeaturizer
from pymatgen.core import Composition
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.model_selection import KFold, cross_val_predict

from candidates.formula import format_formula
from featurizers.registry import featurize_formulas, load_featurizer
from screening.models.cache import cache_key, load_or_build
from screening.thermo.entries import experimental_data_hash, experimental_records

FEATURIZER = "magpie"


@lru_cache(maxsize=1)
def _featurizer() -> BaseFeaturizer:
    return load_featurizer(FEATURIZER)


def magpie_features(formulas: Sequence[str]) -> np.ndarray:
    """Magpie ``ElementProperty`` features of plain formulas (NaN rows where one cannot parse)."""
    return featurize_formulas([(FEATURIZER, _featurizer())], formulas).to_numpy()


class FormationEnthalpyModel:
    """Formation enthalpy per atom from composition: fit on formulas, predict for formulas."""

    def __init__(
        self,
        n_estimators: int = 100,
        max_features: float = 0.3,
        cv_folds: int = 5,
        random_state: int = 0,
    ):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.cv_folds = cv_folds
        self.random_state = random_state

    def _estimator(self) -> ExtraTreesRegressor:
        return ExtraTreesRegressor(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            random_state=self.random_state,
            n_jobs=1,
        )

    def fit(self, formulas: Sequence[str], dhf_eV_atom: Sequence[float]) -> FormationEnthalpyModel:
        """Fit on plain formulas and formation enthalpies; record the CV mean absolute error."""
        features = magpie_features(formulas)
        target = np.asarray(dhf_eV_atom, dtype=float)
        keep = np.isfinite(features).all(axis=1) & np.isfinite(target)
        features, target = features[keep], target[keep]
        folds = KFold(self.cv_folds, shuffle=True, random_state=self.random_state)
        predicted = cross_val_predict(self._estimator(), features, target, cv=folds)
        self.cv_mae_eV_atom_ = float(np.mean(np.abs(predicted - target)))
        self.n_train_ = int(keep.sum())
        self.estimator_ = self._estimator().fit(features, target)
        return self

    def predict(self, formulas: Sequence[str], magpie: np.ndarray | None = None) -> np.ndarray:
        """Predicted formation enthalpy (eV/atom) per formula; NaN where it cannot be featurized.

        ``magpie`` holds the formulas' magpie features row by row (what the pipeline hands a
        scorer); they are computed when not given.
        """
        features = magpie_features(formulas) if magpie is None else np.asarray(magpie, float)
        predicted = np.full(len(features), np.nan)
        ok = np.isfinite(features).all(axis=1)
        if ok.any():
            predicted[ok] = self.estimator_.predict(features[ok])
        return predicted


def experimental_training_set() -> tuple[list[str], np.ndarray]:
    """pymatgen's experimental formation enthalpies as plain formulas and eV/atom values."""
    records = experimental_records()
    formulas = [format_formula(Composition(f).get_el_amt_dict()) for f, _ in records]
    return formulas, np.array([dhf for _, dhf in records])


@lru_cache(maxsize=1)
def load_formation_model() -> FormationEnthalpyModel:
    """The fitted default model, from the disk cache (``screening.models.cache``) or fitted."""
    model = FormationEnthalpyModel()
    key = cache_key(
        experimental_data_hash(), FEATURIZER, repr(sorted(vars(model).items())), sklearn.__version__
    )
    return load_or_build("formation_enthalpy", key, lambda: model.fit(*experimental_training_set()))
