"""A worked-example plug-in featurizer (walked through line by line in docs/featurizers.md)."""

from matminer.featurizers.base import BaseFeaturizer
from pymatgen.core import Composition

from candidates.chemistry import ALKALIS, ANION_CHARGE


class AlkaliAnionRatio(BaseFeaturizer):
    """Mobile alkali ions per anion (mol/mol), e.g. 1/3.25 = 0.3077 for LiAlCl2.5O0.75."""

    def featurize(self, comp: Composition) -> list[float]:
        """One value: alkali atoms divided by anion atoms."""
        amounts = comp.get_el_amt_dict()
        alkali = sum(n for el, n in amounts.items() if el in ALKALIS)
        anions = sum(n for el, n in amounts.items() if el in ANION_CHARGE)
        if anions == 0:
            raise ValueError(f"{comp.formula} has no anion")
        return [alkali / anions]

    def feature_labels(self) -> list[str]:
        """The column name the value gets."""
        return ["alkali_per_anion"]

    def citations(self) -> list[str]:
        """No paper behind a ratio; say so rather than leave it empty."""
        return ["@misc{viglas_example, title={Worked-example plug-in featurizer}}"]

    def implementors(self) -> list[str]:
        """Who to ask about it."""
        return ["viglas-screen developers"]
