"""matminer's ``IonProperty`` made safe for a batch of arbitrary candidates."""

from __future__ import annotations

from math import prod

from matminer.featurizers.composition import IonProperty
from pymatgen.core import Composition

from candidates.chemistry import quiet_missing_electronegativity
from featurizers.errors import FeaturizerError


class CheckedIonProperty(IonProperty):
    """``IonProperty`` (neutral compound possible, max and mean ionic character) with a precheck.

    Uses matminer's ``fast=True`` charge-balance search (one oxidation state per element, the
    pymatgen common states), whose cost is the product of the number of states per element;
    ``precheck`` turns away compositions with an element that has no common oxidation state or a
    search larger than ``max_combinations``, and ``featurize`` raises for them, so a batch run
    records NaN for that row instead of stalling.
    """

    def __init__(self, max_combinations: int = 4096):
        super().__init__(fast=True)
        self.max_combinations = max_combinations

    def precheck(self, comp: Composition) -> bool:
        """True when the charge-balance search for ``comp`` is defined and small."""
        states = [len(el.common_oxidation_states) for el in comp.element_composition]
        return all(states) and prod(states) <= self.max_combinations

    def featurize(self, comp: Composition) -> list[float]:
        """matminer's three ion features, ``compound possible`` as 1.0/0.0."""
        if not self.precheck(comp):
            raise FeaturizerError(
                f"ion_property: {comp.formula} has an element without a common oxidation state "
                f"or more than {self.max_combinations} oxidation-state combinations"
            )
        with quiet_missing_electronegativity():  # a noble gas's missing X is NaN
            possible, max_ionic, avg_ionic = super().featurize(comp)
        return [float(possible), float(max_ionic), float(avg_ionic)]
