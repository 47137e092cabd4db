"""The stored model derivation: keyed by what it is derived from, and identical to a fresh one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from screening.models.cache import files_digest, load_or_build
from screening.models.conductivity_model import (
    ConductivityConfig,
    digest_model_key,
    fitted_model,
    model_key,
)
from screening.models.data import load_conductivity_data
from screening.models.features import composition_descriptors, parse_amounts
from screening.models.fitted import (
    Derivation,
    conductivity_model,
    derivation,
    derive,
    glass_forming_model,
    model_inputs,
)

ROOT = Path(__file__).resolve().parents[1]
FORMULAS = ["LiAlCl2.5O0.75", "NaAlCl2.5O0.75", "LiAlCl4", "Li3YCl6", "LiPO3", "KGaBr2O",
            "Li2B4O7"]


@pytest.fixture(scope="module")
def fresh() -> Derivation:
    return derive()


def _tg(derived: Derivation) -> tuple[np.ndarray, ...]:
    prediction = derived.tg.predict(composition_descriptors(parse_amounts(FORMULAS)),
                                    np.full(len(FORMULAS), np.nan))
    return prediction.tg_K, prediction.unc_K, prediction.distance


def _refit() -> Derivation:
    raise AssertionError("the stored derivation was not read back")


def test_stored_derivation_predicts_bit_identically_to_a_fresh_one(fresh, tmp_path,
                                                                   monkeypatch) -> None:
    cached, yardstick = derivation(), glass_forming_model().domain.scaler  # the session's cache
    monkeypatch.setenv("VIGLAS_CACHE", str(tmp_path))
    load_or_build("fitted-models", "k", lambda: fresh)
    stored = load_or_build("fitted-models", "k", _refit)  # read back from the disk
    assert stored is not fresh
    for derived in (cached, stored):
        for mine, theirs in zip(_tg(derived), _tg(fresh), strict=True):
            np.testing.assert_array_equal(mine, theirs)
        assert np.isfinite(_tg(derived)[0]).all()
        np.testing.assert_array_equal(derived.training_tg_K, fresh.training_tg_K)
        assert derived.glass_forming_key == fresh.glass_forming_key
        assert derived.conductivity_table_digest == fresh.conductivity_table_digest
        assert derived.vocabulary == fresh.vocabulary
        assert derived.melting_points_K == fresh.melting_points_K
        # tg_model() hands the Tg domain the glass-forming model's scaler: the same numbers.
        np.testing.assert_array_equal(derived.tg.domain.scaler.mean_, yardstick.mean_)
        np.testing.assert_array_equal(derived.tg.domain.scaler.scale_, yardstick.scale_)


def test_conductivity_model_is_the_one_fitted_on_the_fresh_table_and_tg(fresh) -> None:
    config = ConductivityConfig()
    table = load_conductivity_data()
    assert (digest_model_key(derivation().conductivity_table_digest,
                             derivation().training_tg_K, config)
            == model_key(table, fresh.training_tg_K, config))
    p_glass = np.linspace(0.0, 1.0, len(FORMULAS))
    temperature_K = np.full(len(FORMULAS), 298.15)
    tg_K = _tg(fresh)[0]
    mine = conductivity_model().predict(FORMULAS, temperature_K, p_glass, tg_K)
    theirs = fitted_model(table, fresh.training_tg_K, config).predict(
        FORMULAS, temperature_K, p_glass, tg_K)
    assert np.isfinite(mine.log10_sigma).all()
    for field in ("log10_sigma", "unc", "ea_eV", "distance"):
        np.testing.assert_array_equal(getattr(mine, field), getattr(theirs, field))


def test_files_digest_changes_with_any_byte_name_or_new_file(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x,y\n1,2\n")
    code = tmp_path / "model.py"
    code.write_text("ALPHA = 1.0\n")
    before = files_digest([data, code])
    assert files_digest([data, code]) == before
    code.write_text("ALPHA = 2.0\n")
    assert files_digest([data, code]) != before
    code.write_text("ALPHA = 1.0\n")
    (data / "a.csv").write_text("x,y\n1,3\n")
    assert files_digest([data, code]) != before
    (data / "a.csv").write_text("x,y\n1,2\n")
    assert files_digest([data, code]) == before
    (data / "a.csv").rename(data / "b.csv")
    assert files_digest([data, code]) != before
    (data / "b.csv").rename(data / "a.csv")
    (data / "extra.csv").write_text("")
    assert files_digest([data, code]) != before


def test_model_inputs_hold_every_project_module_the_models_import() -> None:
    # A module outside the digest could change the models without changing the key.
    script = ("import sys, screening.models.fitted\n"
              "for name, module in list(sys.modules.items()):\n"
              "    if name.split('.')[0] in ('candidates', 'featurizers', 'screening'):\n"
              "        print(module.__file__)")
    files = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    roots = [p.resolve() for p in model_inputs()]
    assert any(Path(f).name == "tg_model.py" for f in files)
    outside = [f for f in files
               if not any(Path(f).resolve().is_relative_to(root) for root in roots)]
    assert outside == []
    data = next(p for p in roots if p.name == "data")
    assert (data / "reference" / "glass_tg.csv").is_file()
