"""Network descriptors of oxyhalide glasses (VIGLAS-like ``A M X(a+v-2x) O(x)``) from composition.

Every atom is put in one class (the roles of :mod:`candidates.chemistry`): alkali ``A`` (Li, Na,
K, Rb, Cs; the mobile ions), halogen ``X`` (F, Cl, Br, I; terminal, non-bridging anions),
chalcogen ``Ch`` (O, S, Se, Te; divalent anions that bridge two centres, as O does in Al-O-Al
chains) or centre ``M`` (every other element; the network-forming cation such as Al, Ga, In, B,
Zr, Ta). Ratios are per centre atom, fractions are atomic, and a quantity with no defined value
(no centre, no anion) is NaN. The glass-network picture with formers, modifiers and bridging
anions filled by charge is :mod:`featurizers.network`; this featurizer keeps the per-centre
ratios of the ``A M X Ch`` formula.
"""

from __future__ import annotations

import math

import numpy as np
from matminer.featurizers.base import BaseFeaturizer
from pymatgen.core import Composition

from candidates.chemistry import (
    ALKALIS,
    ANION_CHARGE,
    CHALCOGENS,
    HALOGENS,
    anion_radius_A,
    element,
    ionic_radius_A,
)
from featurizers.fast import FractionFeaturizer, featurize_via_fractions

LABELS = (
    "net_o_per_m",
    "net_s_per_m",
    "net_x_per_m",
    "net_bridging_bonds_per_m",
    "net_halide_anion_fraction",
    "net_f_anion_fraction",
    "net_cl_anion_fraction",
    "net_br_anion_fraction",
    "net_i_anion_fraction",
    "net_anion_x_pauling",
    "net_anion_volume_A3",
    "net_alkali_per_m",
    "net_alkali_density_nm3",
    "net_centre_valence",
    "net_field_strength_per_A2",
    "net_mixed_alkali",
    "net_mixed_halogen",
)

# Columns of the per-element table built by _element_row.
_ROW = (
    "alkali", "halogen", "chalcogen", "centre", "O", "S", "F", "Cl", "Br", "I",
    "anion_charge", "anion_x", "anion_volume_A3",
)  # fmt: skip


def _element_row(symbol: str) -> list[float]:
    kind = {"alkali": symbol in ALKALIS, "halogen": symbol in HALOGENS}
    kind["chalcogen"] = symbol in CHALCOGENS
    kind["centre"] = not any(kind.values())
    charge = ANION_CHARGE[symbol] if kind["halogen"] or kind["chalcogen"] else 0
    volume = 4 / 3 * math.pi * anion_radius_A(symbol) ** 3 if charge else 0.0
    electronegativity = element(symbol).X if charge else 0.0
    flags = [float(kind[k]) for k in ("alkali", "halogen", "chalcogen", "centre")]
    species = [float(symbol == s or (s == "S" and symbol == "Se")) for s in _ROW[4:10]]
    return [*flags, *species, float(charge), electronegativity, volume]


def centre_field_strengths(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    """Positive oxidation states of a centre and their Dietzel field strength ``z / r**2`` (A^-2).

    States are pymatgen's common ones (all known ones when it lists no common positive state);
    ``r`` is the radius of :func:`candidates.chemistry.ionic_radius_A`.
    """
    atom = element(symbol)
    states = [z for z in atom.common_oxidation_states if z > 0]
    states = sorted(states or [z for z in atom.oxidation_states if z > 0])
    strengths = [z / ionic_radius_A(symbol, z) ** 2 for z in states]
    return np.array(states, dtype=float), np.array(strengths, dtype=float)


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


class OxyhalideNetwork(BaseFeaturizer, FractionFeaturizer):
    """Composition-only descriptors of an oxyhalide glass network and its mobile ions.

    Features (``A`` alkali, ``M`` centre, ``X`` halogen, ``Ch`` chalcogen atom counts):

    - ``net_o_per_m``, ``net_s_per_m`` (S and Se), ``net_x_per_m``: anions per centre (mol/mol).
      O/M sets the network size in VIGLAS; conductivity peaks near O/Al = 0.75.
    - ``net_bridging_bonds_per_m``: ``2 Ch / M``, mean network connectivity (bridging bonds per
      centre): below 1 dimers and rings, about 2 chains, above 2 branched networks (higher Tg).
    - ``net_halide_anion_fraction`` and ``net_{f,cl,br,i}_anion_fraction``: anion mix (per anion).
    - ``net_anion_x_pauling``: mean anion electronegativity (Pauling); higher X resists oxidation.
    - ``net_anion_volume_A3``: mean anion ionic volume ``4/3 pi r**3`` (A^3, the radii of
      :mod:`candidates.chemistry`: Shannon crystal radii, CN VI), a polarisability proxy; soft,
      large anions lower the hopping barrier of Li+/Na+.
    - ``net_alkali_per_m``: mobile-ion content (the atomic fraction is ``glass_network``'s
      ``net_alkali_frac``, the bridging share its ``net_bridging_frac``).
    - ``net_alkali_density_nm3``: alkali ions per nm^3 of anion volume, a carrier-density proxy
      (anions fill roughly 0.5-0.7 of a glass's volume, so real densities are lower).
    - ``net_centre_valence``: mean centre valence from charge balance ``(2 Ch + X - A) / M``.
    - ``net_field_strength_per_A2``: Dietzel cation field strength ``z / r**2`` (A^-2) of the
      centres, atom-weighted, each centre in its oxidation state nearest the charge-balance
      valence; strong fields bind anions tightly (more ordered, higher-Tg networks).
    - ``net_mixed_alkali``, ``net_mixed_halogen``: 1.0 when two or more alkali (halogen) elements
      are present (mixed-alkali effect; mixed-anion frustration of crystallisation), else 0.0.
    """

    def featurize(self, comp: Composition) -> list[float]:
        """The features of one composition (same numbers as the bulk path)."""
        return featurize_via_fractions(self, comp)

    def fraction_features(self, fractions: np.ndarray, elements: list[str]) -> np.ndarray:
        """All features for an ``n x k`` fraction matrix over ``elements``."""
        table = self.element_table(elements, _element_row)
        col = {name: table[:, i] for i, name in enumerate(_ROW)}
        amount = {name: fractions @ col[name] for name in _ROW[:10]}
        alkali, halogen, chalcogen, centre = (amount[k] for k in _ROW[:4])
        anion = halogen + chalcogen
        bridging = 2.0 * chalcogen
        valence = _ratio(bridging + halogen - alkali, centre)
        anion_volume = fractions @ col["anion_volume_A3"]
        present = (fractions > 0).astype(float)
        features = [
            _ratio(amount["O"], centre),
            _ratio(amount["S"], centre),
            _ratio(halogen, centre),
            _ratio(bridging, centre),
            _ratio(halogen, anion),
            *(_ratio(amount[x], anion) for x in HALOGENS),
            _ratio(fractions @ col["anion_x"], anion),
            _ratio(anion_volume, anion),
            _ratio(alkali, centre),
            1000.0 * _ratio(alkali, anion_volume),
            valence,
            self._field_strength(fractions, elements, col["centre"], centre, valence),
            (present @ col["alkali"] >= 2).astype(float),
            (present @ col["halogen"] >= 2).astype(float),
        ]
        return np.column_stack(features)

    def _field_strength(
        self,
        fractions: np.ndarray,
        elements: list[str],
        is_centre: np.ndarray,
        centre: np.ndarray,
        valence: np.ndarray,
    ) -> np.ndarray:
        weighted = np.zeros(len(fractions))
        for j in np.flatnonzero(is_centre):
            states, strengths = centre_field_strengths(elements[j])
            share = fractions[:, j]
            if not len(states):
                weighted += np.where(share > 0, np.nan, 0.0)
                continue
            nearest = np.abs(states[None, :] - np.nan_to_num(valence)[:, None]).argmin(axis=1)
            weighted += np.where(share > 0, share * strengths[nearest], 0.0)
        return _ratio(weighted, centre)

    def feature_labels(self) -> list[str]:
        """Names of the features, units in the name where they have one."""
        return list(LABELS)

    def citations(self) -> list[str]:
        """Network-former theory, field strength, radii, and the VIGLAS glasses."""
        return [
            "@article{zachariasen1932, author={Zachariasen, W. H.}, title={The atomic arrangement "
            "in glass}, journal={J. Am. Chem. Soc.}, volume={54}, pages={3841--3851}, year={1932},"
            " doi={10.1021/ja01349a006}}",
            '@article{dietzel1942, author={Dietzel, A.}, title={Die Kationenfeldst{\\"a}rken und '
            'ihre Beziehungen zu Entglasungsvorg{\\"a}ngen, zur Verbindungsbildung und zu den '
            "Schmelzpunkten von Silicaten}, journal={Z. Elektrochem.}, volume={48}, pages={9--23},"
            " year={1942}, doi={10.1002/bbpc.19420480104}}",
            "@article{shannon1976, author={Shannon, R. D.}, title={Revised effective ionic radii "
            "and systematic studies of interatomic distances in halides and chalcogenides}, "
            "journal={Acta Cryst. A}, volume={32}, pages={751--767}, year={1976}, "
            "doi={10.1107/S0567739476001551}}",
            "@article{dai2023viglas, author={Dai, T. and others}, title={Inorganic glass "
            "electrolytes with polymer-like viscoelasticity}, journal={Nat. Energy}, volume={8}, "
            "pages={1221--1228}, year={2023}, doi={10.1038/s41560-023-01356-y}}",
        ]

    def implementors(self) -> list[str]:
        """Who wrote this featurizer."""
        return ["viglas-screen developers"]
