"""A plug-in featurizer that takes its time, so a test can interrupt a run mid-way."""

import time

from matminer.featurizers.base import BaseFeaturizer
from pymatgen.core import Composition


class SlowAtomCount(BaseFeaturizer):
    """Atoms per formula unit, after a pause of ``delay_s`` seconds per composition."""

    def __init__(self, delay_s: float = 0.15) -> None:
        self.delay_s = delay_s

    def featurize(self, comp: Composition) -> list[float]:
        time.sleep(self.delay_s)
        return [float(comp.num_atoms)]

    def feature_labels(self) -> list[str]:
        return ["slow_num_atoms"]

    def citations(self) -> list[str]:
        return ["(test plug-in, no citation)"]

    def implementors(self) -> list[str]:
        return ["viglas-screen tests"]
