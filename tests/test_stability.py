"""Stability proxy: hull energies, decompositions and alkali windows, vs pymatgen and by hand."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from monty.serialization import dumpfn
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition, Element
from pymatgen.entries.computed_entries import ComputedEntry

from screening.scorers.stability import StabilityScorer
from screening.thermo import entries as thermo_entries
from screening.thermo.entries import (
    cached_chemsys_path,
    entry_table,
    experimental_entries,
    experimental_records,
    experimental_table,
)
from screening.thermo.formation import load_formation_model
from screening.thermo.hull import ChemsysHull, EntryTable, alkali_window_V

DEMO = [
    "LiAlCl2.5O0.75",
    "NaAlCl2.5O0.75",
    "NaGaBr3.4O0.3",
    "KTaCl0.5Br0.5O2.5",
    "LiAl0.5Ga0.5Cl2S1",
    "LiInCl3.5O0.25",
    "LiZrCl4.5O0.25",
]


@pytest.fixture(scope="module")
def scorer() -> StabilityScorer:
    return StabilityScorer(source="experimental")


def _fractions(formula: str, elements: tuple[str, ...]) -> np.ndarray:
    comp = Composition(formula)
    return np.array([[comp.get_atomic_fraction(Element(el)) for el in elements]])


def test_licl_oxidation_limit_matches_its_formation_enthalpy(scorer: StabilityScorer) -> None:
    # LiCl -> Li + 1/2 Cl2 costs -dHf(LiCl) per Li, i.e. that many volts vs Li.
    dhf_eV_atom = dict(experimental_records())["LiCl"]
    by_hand_V = -dhf_eV_atom * Composition("LiCl").num_atoms
    row = scorer.score_formulas(["LiCl"], 298.15).iloc[0]
    assert by_hand_V == pytest.approx(4.23, abs=0.01)
    assert row.ox_limit_V == pytest.approx(by_hand_V, abs=0.3)
    assert row.red_limit_V == pytest.approx(0.0, abs=1e-9)
    assert row.decomposition == "LiCl"


@pytest.mark.parametrize("alkali", ["Li", "Na"])
def test_chloride_oxidises_above_bromide_above_iodide(scorer: StabilityScorer, alkali: str) -> None:
    halides = [f"{alkali}Al{x}2.5O0.75" for x in ("Cl", "Br", "I")]
    ox_V = scorer.score_formulas(halides, 298.15)["ox_limit_V"].to_numpy()
    assert ox_V[0] > ox_V[1] > ox_V[2]
    assert 3.5 < ox_V[0] < 4.8


@pytest.mark.parametrize("formula", ["LiAlCl2.5O0.75", "LiAlO2", "LiAlCl4", "LiAlCl3O0.5", "Li2O"])
def test_window_matches_pymatgen_element_profile(formula: str) -> None:
    diagram = PhaseDiagram(experimental_entries(["Li", "Al", "Cl", "O"]))
    hull = ChemsysHull.from_phase_diagram(diagram)
    comp = Composition(formula)
    profile = diagram.get_element_profile(Element("Li"), comp)
    # The critical composition with no Li exchanged holds from its chempot down to the next one.
    at = next(i for i, step in enumerate(profile) if abs(step["evolution"]) < 1e-9)
    ox_V, red_V = alkali_window_V(hull, _fractions(formula, hull.elements), "Li")
    assert red_V[0] == pytest.approx(-profile[at]["chempot"], abs=1e-6)
    assert ox_V[0] == pytest.approx(-profile[at + 1]["chempot"], abs=1e-6)


@pytest.mark.parametrize(
    ("chemsys", "formula"),
    [
        (("Li", "Al", "Cl", "O"), "LiAlCl2.5O0.75"),
        (("Na", "Al", "Cl", "O"), "NaAlCl3O0.5"),
        (("Li", "Al", "Ga", "Cl", "S"), "LiAl0.5Ga0.5Cl2S1"),
        (("K", "Ta", "Cl", "Br", "O"), "KTaCl0.5Br0.5O2.5"),
    ],
)
def test_hull_energy_and_decomposition_match_pymatgen(
    chemsys: tuple[str, ...], formula: str
) -> None:
    diagram = PhaseDiagram(experimental_entries(chemsys))
    hull = ChemsysHull.from_phase_diagram(diagram)
    x = _fractions(formula, hull.elements)
    decomposition = diagram.get_decomposition(Composition(formula))
    expected_eV = sum(diagram.get_form_energy_per_atom(e) * w for e, w in decomposition.items())
    assert hull.energy(x)[0] == pytest.approx(expected_eV, abs=1e-9)
    phases = {e.composition.reduced_formula for e in decomposition}
    assert set(hull.decomposition(x)[0].split(" + ")) == phases


def _assert_same_hull(table_hull: ChemsysHull, pymatgen_hull: ChemsysHull, atol: float) -> None:
    assert table_hull.elements == pymatgen_hull.elements
    assert table_hull.phases == pymatgen_hull.phases
    np.testing.assert_array_equal(table_hull.vertices, pymatgen_hull.vertices)
    np.testing.assert_allclose(table_hull.chempots_eV, pymatgen_hull.chempots_eV, rtol=0, atol=atol)
    np.testing.assert_allclose(table_hull.inverse, pymatgen_hull.inverse, rtol=0, atol=atol)


def _random_systems(n: int) -> list[tuple[str, ...]]:
    """``n`` chemical systems of 2-6 elements drawn (fixed seed) from the experimental table."""
    rng = np.random.default_rng(7)
    elements = experimental_table().elements
    return [tuple(rng.choice(elements, size=int(rng.integers(2, 7)), replace=False))
            for _ in range(n)]


@pytest.mark.parametrize(
    "chemsys",
    [("Li", "Al", "Cl", "O"), ("Na", "B", "F", "I", "O"), ("Li", "Al", "Ga", "Cl", "S"),
     ("K", "Ta", "Cl", "Br", "O"), ("Li", "Cl"), ("O",), *_random_systems(40)],
    ids=lambda chemsys: "-".join(chemsys),
)
def test_entry_table_gives_the_facets_of_pymatgen_phase_diagram(chemsys: tuple[str, ...]) -> None:
    # The one sorted table restricted to a system must be what PhaseDiagram builds from that
    # system's entries alone: same Qhull input, so the same facets, bit for bit.
    table_hull = experimental_table().hull(chemsys)
    _assert_same_hull(table_hull, ChemsysHull.from_entries(experimental_entries(chemsys)), 0.0)


def test_decomposition_lists_largest_share_first_then_by_name() -> None:
    hull = experimental_table().hull(("Li", "Al", "Cl", "O"))
    x = np.vstack([_fractions(f, hull.elements) for f in ("LiAlCl4", "Li3AlCl6", "LiCl")])
    # LiAlCl4 = LiCl (2 of 6 atoms) + AlCl3 (4 of 6); Li3AlCl6 = 3 LiCl (6 of 10) + AlCl3 (4 of 10)
    assert hull.decomposition(x) == ["AlCl3 + LiCl", "LiCl + AlCl3", "LiCl"]
    # Every row as the per-row rule says, over many compositions of the system (ties included).
    rng = np.random.default_rng(3)
    x = rng.dirichlet(np.ones(len(hull.elements)), size=400)
    x[::4] = np.round(x[::4] * 4) / np.maximum(np.round(x[::4] * 4).sum(axis=1, keepdims=True), 1)
    x = x[x.sum(axis=1) > 0.5]
    planes = x @ hull.chempots_eV.T
    facet = planes.argmax(axis=1)
    expected = []
    for row, f in zip(x, facet, strict=True):
        shares = zip(hull.vertices[f], row @ hull.inverse[f], strict=True)
        order = sorted((-w, hull.phases[i]) for i, w in shares if w > 1e-8)
        expected.append(" + ".join(name for _, name in order))
    assert hull.decomposition(x) == expected


def test_entry_table_matches_pymatgen_on_other_elemental_references() -> None:
    # mp-api-like entries: absolute energies, so the references are not 0 eV and every
    # composition has the elements' own entries to beat.
    chemsys = ["Li", "Al", "Cl", "O"]
    entries = _local_mp_entries(chemsys)
    table_hull = EntryTable.from_entries(entries).hull(chemsys)
    _assert_same_hull(table_hull, ChemsysHull.from_entries(entries), 1e-12)


def test_entry_table_refuses_a_system_without_its_elements_references() -> None:
    table = EntryTable.from_entries(experimental_entries(["Li", "Cl"]))
    with pytest.raises(ValueError, match=r"Missing terminal entries for elements \['O'\]"):
        table.hull(["Li", "Cl", "O"])
    no_lithium = [e for e in experimental_entries(["Li", "Cl"]) if e.name != "Li"]
    with pytest.raises(ValueError, match=r"Missing terminal entries for elements \['Li'\]"):
        EntryTable.from_entries(no_lithium).hull(["Li", "Cl"])


def test_entry_table_of_an_element_without_compounds_is_built_for_its_system() -> None:
    assert "Xe" not in experimental_table().elements
    table = entry_table(("Li", "Xe"), "experimental")
    assert table is not experimental_table()
    hull = table.hull(("Li", "Xe"))
    assert set(hull.phases) == {"Li", "Xe"}
    np.testing.assert_array_equal(hull.chempots_eV, 0.0)


def test_experimental_table_read_back_from_the_disk_cache_is_the_table_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VIGLAS_CACHE", str(tmp_path))
    experimental_table.cache_clear()
    try:
        built = experimental_table()
        [stored] = (tmp_path / "models").glob("experimental_entry_table-*.joblib")
        experimental_table.cache_clear()
        loaded = experimental_table()
    finally:
        experimental_table.cache_clear()  # later tests read the session's own cache again
    assert loaded is not built and stored.stat().st_size > 0
    assert (loaded.elements, loaded.phases) == (built.elements, built.phases)
    for field in ("fractions", "energy_eV_atom", "composition_id"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(built, field))
    assert len(built.phases) == len(experimental_records()) + len(built.elements)


def test_scorer_hull_cache_answers_as_a_fresh_scorer(scorer: StabilityScorer) -> None:
    # The second call reads every hull from the scorer's cache; a fresh scorer rebuilds them.
    formulas = ["LiAlCl2.5O0.75", "NaGaBr3.4O0.3", "KTaCl0.5Br0.5O2.5", "LiCl", "AlCl3"]
    first = scorer.score_formulas(formulas, 298.15)
    assert scorer.score_formulas(formulas, 298.15).equals(first)
    assert StabilityScorer(source="experimental").score_formulas(formulas, 298.15).equals(first)
    assert scorer.hull(("Al", "Cl", "Li", "O")) is scorer.hull(("Al", "Cl", "Li", "O"))


def test_viglas_glasses_decompose_to_plausible_phases(scorer: StabilityScorer) -> None:
    li, na = scorer.score_formulas(["LiAlCl2.5O0.75", "NaAlCl2.5O0.75"], 298.15)["decomposition"]
    # No LiAlCl4 in the experimental table: the Li glass splits into LiCl, AlCl3 and AlOCl.
    assert set(li.split(" + ")) == {"LiCl", "AlCl3", "AlClO"}
    # The Na glass gives the passivation products reported for NACO: NaAlCl4 and Al2O3.
    assert {"NaAlCl4", "Al2O3"} <= set(na.split(" + "))


def test_energy_above_hull_is_the_predicted_enthalpy_above_the_pymatgen_hull(
    scorer: StabilityScorer,
) -> None:
    result = scorer.score_formulas(DEMO, 298.15)
    e_above = result["e_above_hull_eV_atom"].to_numpy()
    predicted = load_formation_model().predict(DEMO)
    hull = []
    for formula in DEMO:
        comp = Composition(formula)
        diagram = PhaseDiagram(experimental_entries([el.symbol for el in comp.elements]))
        hull.append(sum(diagram.get_form_energy_per_atom(entry) * weight
                        for entry, weight in diagram.get_decomposition(comp).items()))
    above = predicted - np.array(hull)
    # Both sides of the clamp occur: some glasses are predicted above the hull, some below it.
    assert (above > 0.1).any() and (above < 0).any()
    np.testing.assert_allclose(e_above, np.maximum(above, 0.0), atol=1e-6)
    assert result["decomposition"].map(bool).all()
    assert np.isfinite(result[["ox_limit_V", "red_limit_V"]].to_numpy()).all()
    assert (result["ox_limit_V"] >= result["red_limit_V"]).all()


def test_known_compound_sits_on_the_hull(scorer: StabilityScorer) -> None:
    e_above = scorer.score_formulas(["LiCl", "NaAlCl4", "Al2O3"], 298.15)["e_above_hull_eV_atom"]
    assert e_above.max() < 0.05


def test_formation_model_cross_validates_well_below_the_spread() -> None:
    model = load_formation_model()
    assert model.n_train_ == 2135
    assert model.cv_mae_eV_atom_ < 0.15


def test_rows_without_alkali_or_unparsable_get_missing_values(scorer: StabilityScorer) -> None:
    result = scorer.score_formulas(["AlCl3", "not a formula", "LiCl"], 298.15)
    assert list(result.columns) == list(StabilityScorer.outputs)
    assert list(result.index) == [0, 1, 2]
    assert result.loc[0, "decomposition"] == "AlCl3"
    assert np.isnan(result.loc[0, "ox_limit_V"]) and np.isnan(result.loc[0, "red_limit_V"])
    assert result.loc[1, "decomposition"] is None
    assert np.isnan(result.loc[1, "e_above_hull_eV_atom"])
    assert np.isfinite(result.loc[2, "ox_limit_V"])


def test_scorer_pickles_and_scores_the_same_after_a_round_trip(scorer: StabilityScorer) -> None:
    before = scorer.score_formulas(DEMO, 298.15)
    after = pickle.loads(pickle.dumps(scorer)).score_formulas(DEMO, 298.15)
    assert after.equals(before)


def test_auto_source_is_experimental_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MP_API_KEY", raising=False)
    assert StabilityScorer().resolved_source() == "experimental"
    monkeypatch.setenv("MP_API_KEY", "a-key")
    assert StabilityScorer().resolved_source() == "materials_project"


def _local_mp_entries(chemsys: list[str]) -> list[ComputedEntry]:
    """Entries shaped like mp-api's: absolute energies on arbitrary elemental references."""
    reference_eV_atom = {"Li": -1.91, "Al": -3.75, "Cl": -1.85, "O": -4.95}
    entries = []
    for entry in experimental_entries(chemsys):
        comp = entry.composition
        shift = sum(reference_eV_atom[el.symbol] * n for el, n in comp.items())
        entries.append(ComputedEntry(comp, entry.energy + shift, entry_id=f"local-{comp.formula}"))
    return entries


class _CountingRester:
    calls: list[list[str]] = []

    def __init__(self, api_key: str):
        assert api_key == "test-key"

    def __enter__(self) -> _CountingRester:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def get_entries_in_chemsys(self, elements: list[str]) -> list[ComputedEntry]:
        self.calls.append(sorted(elements))
        return _local_mp_entries(elements)


class _NoNetwork:
    def __init__(self, *args: object, **kwargs: object):
        raise AssertionError("MPRester opened: the cached rerun must not touch the network")


def test_materials_project_source_fetches_once_then_reads_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path, scorer: StabilityScorer
) -> None:
    import mp_api.client

    monkeypatch.setenv("VIGLAS_CACHE", str(tmp_path))
    monkeypatch.setenv("MP_API_KEY", "test-key")
    monkeypatch.setattr(mp_api.client, "MPRester", _CountingRester)
    _CountingRester.calls = []
    glasses = ["LiAlCl2.5O0.75", "LiAlCl3O0.5", "LiCl"]
    fetched = StabilityScorer(source="materials_project").score_formulas(glasses, 298.15)
    assert sorted(_CountingRester.calls) == [["Al", "Cl", "Li", "O"], ["Cl", "Li"]]
    assert cached_chemsys_path(["Li", "Al", "Cl", "O"]).exists()

    monkeypatch.setattr(mp_api.client, "MPRester", _NoNetwork)
    cached = StabilityScorer(source="materials_project").score_formulas(glasses, 298.15)
    assert cached.equals(fetched)
    # Same formation energies on other elemental references: the same hull and windows.
    offline = scorer.score_formulas(glasses, 298.15)
    assert (cached["decomposition"] == offline["decomposition"]).all()
    numeric = ["e_above_hull_eV_atom", "ox_limit_V", "red_limit_V"]
    np.testing.assert_allclose(cached[numeric], offline[numeric], atol=1e-6)


def test_materials_project_cache_placed_by_hand_is_used_without_a_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import mp_api.client

    monkeypatch.setenv("VIGLAS_CACHE", str(tmp_path))
    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.setattr(mp_api.client, "MPRester", _NoNetwork)
    dumpfn(_local_mp_entries(["Li", "Cl"]), cached_chemsys_path(["Li", "Cl"]))
    row = StabilityScorer(source="materials_project").score_formulas(["LiCl"], 298.15).iloc[0]
    assert row.ox_limit_V == pytest.approx(4.23, abs=0.01)
    with pytest.raises(RuntimeError, match="MP_API_KEY is not set"):
        thermo_entries.materials_project_entries(["Na", "Cl"])


def test_unresolved_windows_are_missing_with_a_reason_never_zero_width() -> None:
    result = StabilityScorer(source="experimental").score_formulas(
        ["LiAlCl2.5O0.75", "LiBCl2.5O0.75", "AlCl3"], 298.15)
    laco, boron, no_alkali = result["window_V"]
    assert laco == pytest.approx(result.loc[0, "ox_limit_V"] - result.loc[0, "red_limit_V"])
    assert laco > 2.0 and result.loc[0, "window_note"] == ""
    # no BCl3 in the data: LiCl + Cl2 + B2O3 + B holds at a single potential
    assert np.isnan(boron) and np.isnan(result.loc[1, "ox_limit_V"])
    assert result.loc[1, "window_note"].startswith("unresolved")
    assert np.isnan(no_alkali) and result.loc[2, "window_note"].startswith("no alkali")


def test_no_zero_width_window_anywhere_in_the_demo_grid() -> None:
    from candidates.space import enumerate_space
    from screening.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "runs" / "viglas.toml")
    grid = enumerate_space(spec.space)
    result = StabilityScorer(source="experimental").score_formulas(list(grid["formula"]), 298.15)
    width = result["window_V"]
    assert not (width.abs() < 1e-6).any()
    assert (width.isna() == (result["window_note"] != "")).all()


def test_hull_excess_allows_the_metastability_of_a_glass() -> None:
    result = StabilityScorer(source="experimental").score_formulas(
        ["LiAlCl2.5O0.75", "NaAlCl2.5O0.75", "LiCl"], 298.15)
    assert (result["e_above_hull_eV_atom"][:2] > 0.05).all()  # glasses sit above the hull
    assert (result["hull_excess_eV_atom"] == 0.0).all()  # ... as much as a crystal is allowed
    strict = StabilityScorer(source="experimental", glass_allowance_eV_atom=0.0).score_formulas(
        ["LiAlCl2.5O0.75"], 298.15)
    assert strict.loc[0, "hull_excess_eV_atom"] == pytest.approx(
        strict.loc[0, "e_above_hull_eV_atom"])


def test_a_system_above_the_hull_cap_is_reported_not_built() -> None:
    # 18 elements ran over 11 minutes in Qhull (issue 22 case 7); the cap answers at once
    wide = "HHeLiBeBCNOFNeNaMgAlSiPSClAr"
    row = StabilityScorer(source="experimental").score_formulas([wide, "LiCl"], 298.15)
    assert "18 elements, above the hull cap of 10" in row.loc[0, "window_note"]
    assert np.isnan(row.loc[0, "e_above_hull_eV_atom"]) and row.loc[0, "decomposition"] is None
    assert row.loc[1, "window_note"] == "" and row.loc[1, "ox_limit_V"] > 0


@pytest.mark.parametrize(("option", "value"), [("glass_allowance_eV_atom", float("nan")),
                                                ("glass_allowance_eV_atom", -0.1),
                                                ("max_hull_elements", 40)])
def test_options_outside_their_range_are_refused(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{option} must lie between"):
        StabilityScorer(**{option: value})
