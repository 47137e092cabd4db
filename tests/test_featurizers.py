"""Featurizer registry, built-ins, the vectorised fraction path and its parity with matminer."""

from __future__ import annotations

import importlib.metadata
import math
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from matminer.featurizers.base import BaseFeaturizer
from matminer.featurizers.composition import ElementProperty, Stoichiometry, ValenceOrbital
from pymatgen.core import Composition

from featurizers.elemental import FastElementProperty, FastValenceOrbital
from featurizers.fast import has_fast_path
from featurizers.fractions import fraction_matrix
from featurizers.ion import CheckedIonProperty
from featurizers.registry import (
    FeaturizerError,
    builtin_names,
    describe_featurizers,
    featurize_formulas,
    load_featurizer,
)
from featurizers.stoichiometry import FastStoichiometry

TESTS = Path(__file__).parent
PLUGIN_FILE = f"{TESTS / 'plugin_featurizer.py'}:AlkaliAnionRatio"

GENERATOR_CENTRES = {
    "Al": 3, "Ga": 3, "In": 3, "B": 3, "Sc": 3, "Y": 3, "La": 3,
    "Zr": 4, "Hf": 4, "Ti": 4, "Si": 4, "Nb": 5, "Ta": 5, "P": 5, "Zn": 2, "Mg": 2,
}  # fmt: skip


def _amount(value: float) -> str:
    return "" if value == 1 else f"{value:g}"


def parity_sample() -> list[str]:
    """Generator-style A M X(a+v-2x) O|S(x) formulas covering every element it can emit, plus
    mixed alkali/halogen rows, exact weight ties (matminer's mode rule) and one-element rows."""
    formulas = []
    alkalis, halogens = ["Li", "Na", "K"], ["F", "Cl", "Br", "I"]
    for i, (centre, valence) in enumerate(GENERATOR_CENTRES.items()):
        alkali, halogen = alkalis[i % 3], halogens[i % 4]
        for x, chalcogen in [(0.0, "O"), (0.5, "O"), (0.75, "O"), (1.0, "S")]:
            halide = 1 + valence - 2 * x
            extra = f"{chalcogen}{_amount(x)}" if x else ""
            formulas.append(f"{alkali}{centre}{halogen}{_amount(halide)}{extra}")
    formulas += [
        "Li0.5Na0.5AlCl2Br2", "LiAlCl2.5O0.75", "NaAlCl2.5O0.75", "LiGaCl1.5I1O0.75",
        "LiAlCl", "NaAlCl2O2", "LiInBr2S", "Li2ZrCl4O", "KTaCl5.5O0.25", "Cl", "Li", "LiCl",
        "Li0.333333Al0.333333Cl0.333334", "LiB0.5Al0.5Cl3O0.5", "Li3PO4", "LaF3",
    ]  # fmt: skip
    return formulas


def matminer_rows(featurizer: BaseFeaturizer, formulas: list[str]) -> np.ndarray:
    return np.array([featurizer.featurize(Composition(f)) for f in formulas], dtype=float)


def fast_rows(featurizer, formulas: list[str]) -> np.ndarray:
    matrix = fraction_matrix(formulas)
    assert matrix.valid.all()
    return featurizer.featurize_fractions(matrix.fractions, matrix.elements)


def assert_parity(fast: np.ndarray, reference: np.ndarray) -> None:
    # 1e-9 relative; atol only absorbs rounding noise where matminer gets an exact 0
    # (e.g. avg_dev of equal values is 0.0 there and 4e-16 here).
    np.testing.assert_allclose(fast, reference, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_parity_sample_covers_every_generator_element():
    elements = {el for f in parity_sample() for el in fraction_matrix([f]).elements}
    required = {"Li", "Na", "K", "F", "Cl", "Br", "I", "O", "S", *GENERATOR_CENTRES}
    assert required <= elements


@pytest.mark.parametrize(
    ("fast", "reference"),
    [
        (FastElementProperty.from_preset("magpie"), ElementProperty.from_preset("magpie")),
        (FastStoichiometry(), Stoichiometry()),
        (FastValenceOrbital(), ValenceOrbital()),
    ],
    ids=["magpie", "stoichiometry", "valence_orbital"],
)
def test_fast_path_matches_matminer_on_every_generator_element(fast, reference):
    formulas = parity_sample()
    assert fast.feature_labels() == reference.feature_labels()
    assert_parity(fast_rows(fast, formulas), matminer_rows(reference, formulas))


def test_fast_statistics_propagate_nan_like_matminer():
    # Without imputation magpie has no ShearModulus for Cl/O/Ga and no VdWRadius for Y/Zr/Ta.
    args = ("magpie", ["ShearModulus", "VdWRadius", "MeltingT"])
    stats = ["minimum", "maximum", "range", "mean", "avg_dev", "mode"]
    formulas = ["LiAlCl2.5O0.75", "LiYCl6", "NaTaCl6", "LiGa", "Li2Ga", "LiZrMg", "LiMg"]
    fast = fast_rows(FastElementProperty(*args, stats, impute_nan=False), formulas)
    reference = matminer_rows(ElementProperty(*args, stats, impute_nan=False), formulas)
    assert np.isnan(reference).any() and not np.isnan(reference).all()
    assert_parity(fast, reference)


def test_mode_takes_the_smallest_value_among_equally_abundant_elements():
    magpie = FastElementProperty("magpie", ["Number"], ["mode"])
    assert fast_rows(magpie, ["LiAlCl", "NaAlCl2O2", "LiAlCl4"])[:, 0].tolist() == [3, 8, 17]


def test_fast_element_property_refuses_scale_dependent_statistics():
    with pytest.raises(ValueError, match="std_dev"):
        FastElementProperty("magpie", ["Number"], ["mean", "std_dev"])


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_featurizer_contract(name):
    featurizer = load_featurizer(name)
    labels = featurizer.feature_labels()
    assert isinstance(featurizer, BaseFeaturizer)
    assert featurizer.n_jobs == 1
    assert len(set(labels)) == len(labels) > 0
    assert featurizer.citations() and all(featurizer.citations())
    assert featurizer.implementors() and all(featurizer.implementors())
    formulas = ["LiAlCl2.5O0.75", "NaGaBr3I1O0.5", "KTaCl5S0.5", "Li0.5Na0.5InF4"]
    slow = matminer_rows(featurizer, formulas)
    assert slow.shape == (len(formulas), len(labels))
    assert np.isfinite(slow).all()
    if has_fast_path(featurizer):
        assert_parity(fast_rows(featurizer, formulas), slow)
    batch = featurize_formulas([(name, featurizer)], formulas)
    assert_parity(batch.to_numpy(), slow)


def test_the_documented_builtins_are_the_shipped_ones_as_documented():
    """docs/featurizers.md's table of built-ins against what loads: names, classes, feature
    counts and fast paths (a restated list of names would only test itself)."""
    text = (TESTS.parent / "docs" / "featurizers.md").read_text()
    section = text.split("## Built-ins", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:5] for line in section.splitlines() if line.startswith("| `")]
    documented = {name.strip(" `"): (cls.split("`")[1], int(features.split(":")[0].split()[0]),
                                     fast.strip() == "yes")
                  for name, cls, features, fast in rows}
    shipped = {d["name"]: (d["class"], d["n_features"], d["fast"])
               for d in describe_featurizers(builtin_names())}
    assert len(shipped) >= 5 and documented == shipped


def test_oxyhalide_network_describes_viglas_li_glass():
    row = featurize_formulas([("net", load_featurizer("oxyhalide_network"))], ["LiAlCl2.5O0.75"])
    values = row.iloc[0]
    assert values["net_o_per_m"] == pytest.approx(0.75)
    assert values["net_x_per_m"] == pytest.approx(2.5)
    # 0.75 O bridge two Al each: 1.5 bridging bonds per Al.
    assert values["net_bridging_bonds_per_m"] == pytest.approx(1.5)
    assert values["net_cl_anion_fraction"] == pytest.approx(2.5 / 3.25)
    assert values["net_centre_valence"] == pytest.approx(3.0)
    # Shannon crystal radii at CN VI: Al3+ 0.675 A, Cl- 1.67 A, O2- 1.26 A.
    assert values["net_field_strength_per_A2"] == pytest.approx(3 / 0.675**2)
    anion_volume = 4 / 3 * math.pi * (2.5 * 1.67**3 + 0.75 * 1.26**3)
    assert values["net_alkali_density_nm3"] == pytest.approx(1000 / anion_volume)
    assert values["net_mixed_alkali"] == values["net_mixed_halogen"] == 0.0


def test_oxyhalide_network_flags_mixes_and_leaves_undefined_ratios_nan():
    frame = featurize_formulas(
        [("net", load_featurizer("oxyhalide_network"))],
        ["Li0.5Na0.5AlCl2Br2", "LiCl", "Li3PO4"],
    )
    assert frame["net_mixed_alkali"].tolist() == [1.0, 0.0, 0.0]
    assert frame["net_mixed_halogen"].tolist() == [1.0, 0.0, 0.0]
    assert frame["net_br_anion_fraction"][0] == pytest.approx(0.5)
    assert np.isnan(frame["net_o_per_m"][1]) and np.isnan(frame["net_field_strength_per_A2"][1])
    assert frame["net_centre_valence"][2] == pytest.approx(5.0)


def test_featurize_formulas_gives_nan_rows_for_bad_formulas_and_keeps_the_rest():
    featurizers = [(n, load_featurizer(n)) for n in ["magpie", "stoichiometry", "ion_property"]]
    frame = featurize_formulas(featurizers, ["LiAlCl2.5O0.75", "LiAlQq4", "", "NaAlCl4"])
    assert isinstance(frame.index, pd.RangeIndex) and len(frame) == 4
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert frame.columns[0] == "MagpieData minimum Number" and frame.columns[-1] == "avg ionic char"
    assert frame.iloc[[1, 2]].isna().all().all()
    assert frame.iloc[[0, 3]].notna().all().all()
    assert frame["MagpieData maximum Number"].tolist()[::3] == [17.0, 17.0]


def test_label_collision_names_both_featurizers():
    magpie = load_featurizer("magpie")
    with pytest.raises(FeaturizerError, match="'first'.*'second'"):
        featurize_formulas([("first", magpie), ("second", magpie)], ["LiCl"])


def test_plugin_loads_from_a_file_path_and_runs_on_the_matminer_path():
    featurizer = load_featurizer(PLUGIN_FILE)
    assert type(featurizer).__name__ == "AlkaliAnionRatio" and not has_fast_path(featurizer)
    frame = featurize_formulas([("ratio", featurizer)], ["LiAlCl2.5O0.75", "LiAl", "LiCl"])
    assert frame["alkali_per_anion"][0] == pytest.approx(1 / 3.25)
    assert np.isnan(frame["alkali_per_anion"][1])  # no anion: the plug-in raises, the row is NaN
    assert frame["alkali_per_anion"][2] == pytest.approx(1.0)


def test_file_plugin_is_pickled_by_value_for_workers_that_cannot_import_it():
    featurizer = load_featurizer(PLUGIN_FILE)
    payload = cloudpickle.dumps(featurizer)
    module_name = type(featurizer).__module__
    saved = sys.modules.pop(module_name)
    try:
        clone = cloudpickle.loads(payload)
    finally:
        sys.modules[module_name] = saved
    assert clone.featurize(Composition("Li2O")) == [2.0]


def test_plugin_loads_from_a_module_path(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    featurizer = load_featurizer("plugin_featurizer:AlkaliAnionRatio")
    assert featurizer.feature_labels() == ["alkali_per_anion"] and featurizer.n_jobs == 1


def test_entry_point_featurizers_are_loaded_and_described(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    point = importlib.metadata.EntryPoint(
        name="alkali_ratio", value="plugin_featurizer:AlkaliAnionRatio", group="viglas.featurizers"
    )
    real = importlib.metadata.entry_points

    def fake_entry_points(**params):
        if params.get("group") == "viglas.featurizers":
            return importlib.metadata.EntryPoints([point])
        return real(**params)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    assert load_featurizer("alkali_ratio").feature_labels() == ["alkali_per_anion"]
    described = {d["name"]: d for d in describe_featurizers()}
    assert list(described) == [*builtin_names(), "alkali_ratio"]
    assert described["alkali_ratio"]["fast"] is False
    assert described["magpie"]["fast"] is True and described["magpie"]["n_features"] == 132


def test_describe_featurizers_reports_labels_citations_and_class():
    (entry,) = describe_featurizers(["oxyhalide_network"])
    assert entry["class"] == "featurizers.oxyhalide.OxyhalideNetwork"
    assert entry["labels"][0] == "net_o_per_m" and entry["n_features"] == len(entry["labels"])
    assert any("10.1038/s41560-023-01356-y" in c for c in entry["citations"])


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("nosuch", "unknown; use one of"),
        ("tests/does_not_exist.py:X", "no file"),
        ("no_such_package_xyz:X", "cannot import"),
        (f"{TESTS / 'plugin_featurizer.py'}:Nope", "has no 'Nope'"),
        (f"{TESTS / 'plugin_featurizer.py'}:ALKALIS", "not a matminer BaseFeaturizer"),
        # refused before it is called: sys:exit used to end the run with status 0, os:abort
        # to abort it (issue 22 case 11)
        ("sys:exit", "not a matminer BaseFeaturizer"),
        ("os:abort", "not a matminer BaseFeaturizer"),
    ],
)
def test_bad_references_raise_one_line_errors_naming_the_reference(ref, reason):
    with pytest.raises(FeaturizerError, match=reason) as caught:
        load_featurizer(ref)
    assert repr(ref)[1:-1] in str(caught.value) and "\n" not in str(caught.value)


def test_ion_property_turns_away_compositions_it_cannot_charge_balance_quickly():
    featurizer = load_featurizer("ion_property")
    assert featurizer.precheck(Composition("LiAlCl4"))
    assert not featurizer.precheck(Composition("LiArCl"))  # Ar has no common oxidation state
    assert not CheckedIonProperty(max_combinations=2).precheck(Composition("LiPCl4"))  # P: 3 states
    frame = featurize_formulas([("ion", featurizer)], ["LiAlCl4", "LiArCl"])
    assert frame.iloc[0].tolist()[0] == 1.0 and frame.iloc[1].isna().all()


def test_fraction_path_returns_nan_for_rows_without_elements_and_handles_empty_input():
    matrix = fraction_matrix(["not a formula", "LiCl"])
    values = load_featurizer("magpie").featurize_fractions(matrix.fractions, matrix.elements)
    assert np.isnan(values[0]).all() and values[1, :2].tolist() == [3.0, 17.0]
    featurizers = [(n, load_featurizer(n)) for n in builtin_names()]
    empty = featurize_formulas(featurizers, [])
    assert empty.shape == (0, sum(len(f.feature_labels()) for _, f in featurizers))


def test_docs_show_the_worked_example_plugin_verbatim():
    docs = (TESTS.parent / "docs" / "featurizers.md").read_text()
    source = (TESTS / "plugin_featurizer.py").read_text().split("\n", 2)[2].lstrip("\n")
    assert source in docs


def test_glass_network_reads_viglas_laco75_as_an_aluminate_network():
    values = featurize_formulas([("net", load_featurizer("glass_network"))],
                                ["LiAlCl2.5O0.75"]).iloc[0]
    # Al3+ (field 3 / (0.675 + 1.26)^2 = 0.80 A^-2) forms the network, Li+ (0.21) modifies it.
    assert values["net_former_frac"] == values["net_alkali_frac"] == pytest.approx(1 / 5.25)
    assert values["net_former_coordination"] == 4.0
    # 4 Al bonds on 3.25 anions: the 0.75 surplus bridges, O2- before Cl-.
    assert values["net_bridging_o_per_former"] == pytest.approx(0.75)
    assert values["net_bridging_frac"] == pytest.approx(0.75 / 3.25)
    assert values["percolation"] == pytest.approx(0.75 / 3.25 - 0.2)
    assert values["frac_Cl"] == pytest.approx(2.5 / 5.25)
    assert values["mixed_anion"] == pytest.approx(4 * (2.5 / 5.25) * (0.75 / 5.25))


def test_glass_network_raises_boron_coordination_with_modifier_charge():
    values = featurize_formulas([("net", load_featurizer("glass_network"))], ["LiBO2"]).iloc[0]
    # Borate anomaly: one Li+ per B turns BO3 into BO4 up to N4 = 0.5.
    assert values["net_former_coordination"] == pytest.approx(3.5)


def test_ion_transport_averages_over_the_anions_of_the_mobile_ion():
    values = featurize_formulas([("ion", load_featurizer("ion_transport"))],
                                ["LiAlCl2.5O0.75", "AgI", "AlCl3"])
    laco = values.iloc[0]
    assert laco["ion_mobile_frac"] == pytest.approx(1 / 5.25)
    assert laco["ion_mobile_radius_A"] == pytest.approx(0.90)
    assert laco["ion_anion_radius_A"] == pytest.approx((2.5 * 1.67 + 0.75 * 1.26) / 3.25)
    assert laco["ion_anion_polarisability_A3"] == pytest.approx((2.5 * 2.96 + 0.75 * 1.85) / 3.25)
    assert values["ion_mobile_frac"][1] == pytest.approx(0.5)  # Ag+ when there is no alkali
    assert values["ion_mobile_frac"][2] == values["ion_carrier_density_nm3"][2] == 0.0
