"""The temperature law: Arrhenius below Tg, WLF/VFT above it, continuous, rising, invertible."""

from __future__ import annotations

import numpy as np
import pytest

from screening.models.data import load_conductivity_data
from screening.models.temperature_law import (
    BOLTZMANN_EV_K,
    EA_MAX_EV,
    EA_MIN_EV,
    LN10,
    REFERENCE_K,
    TemperatureLaw,
    compensation_points,
    fit_temperature_law,
)

LAW = TemperatureLaw(ea0_eV=0.26, ea_slope_eV=-0.057)
LACO_TG_K = 256.35


def test_fitted_compensation_gives_good_conductors_low_barriers() -> None:
    law = fit_temperature_law(load_conductivity_data())
    assert len(compensation_points(load_conductivity_data())) > 50
    assert law.ea_slope_eV < 0
    fast, slow = law.activation_energy_eV(np.array([-2.0, -8.0]))
    assert 0.2 < fast < 0.4 < slow < 0.8


def test_crystal_is_arrhenius_with_its_activation_energy() -> None:
    level = np.full(2, -5.0)
    sigma, ea = LAW.log_sigma(level, np.array([300.0, 400.0]))
    slope_ea = -((sigma[1] + np.log10(400.0)) - (sigma[0] + np.log10(300.0))) / (
        1 / 400.0 - 1 / 300.0) * BOLTZMANN_EV_K * LN10
    assert slope_ea == pytest.approx(ea[0], rel=1e-9)
    assert LAW.log_sigma(np.array([-5.0]), np.array([REFERENCE_K]))[0][0] == pytest.approx(-5.0)


def test_glass_bends_upwards_at_tg_and_stays_continuous() -> None:
    temperatures = np.array([LACO_TG_K - 1e-6, LACO_TG_K + 1e-6])
    sigma, ea = LAW.log_sigma(np.full(2, -4.4), temperatures, np.full(2, LACO_TG_K))
    assert sigma[1] == pytest.approx(sigma[0], abs=1e-6)
    assert ea[1] > 2 * ea[0]  # the structural relaxation takes over above Tg


def test_above_tg_the_glass_approaches_the_molten_salt_limit() -> None:
    temperatures = np.array([300.0, 500.0, 2000.0])
    sigma, ea = LAW.log_sigma(np.full(3, -4.4), temperatures, np.full(3, LACO_TG_K))
    assert np.all(np.diff(sigma) > 0) and np.all(np.diff(ea) < 0)
    assert sigma[-1] < LAW.melt_log10_S_cm


def test_laco_above_tg_activation_energy_is_near_the_measured_one() -> None:
    level = LAW.level_of(np.array([np.log10(1.52e-3)]), np.array([303.15]),
                         np.array([LACO_TG_K]))
    sigma, _ = LAW.log_sigma(np.repeat(level, 2), np.array([303.15, 378.15]),
                             np.full(2, LACO_TG_K))
    ea = -(sigma[1] - sigma[0]) / (1 / 378.15 - 1 / 303.15) * BOLTZMANN_EV_K * LN10
    assert ea == pytest.approx(0.33, abs=0.06)  # Dai et al. 2023: 0.33 eV at 30-105 C


def test_sigma_rises_with_temperature_for_glasses_and_crystals() -> None:
    rng = np.random.default_rng(1)
    level = rng.uniform(-12, -1, 500)
    tg = np.where(rng.random(500) < 0.5, rng.uniform(150, 800, 500), np.nan)
    grid = np.linspace(150, 1200, 60)
    sigma = np.stack([LAW.log_sigma(level, np.full(500, t), tg)[0] for t in grid])
    assert np.all(np.diff(sigma, axis=0) > 0)


def test_level_of_inverts_log_sigma_on_both_branches_and_clips() -> None:
    rng = np.random.default_rng(0)
    level = rng.uniform(-14, 0.5, 2000)  # the ends reach the activation-energy clips
    temperature = rng.uniform(180, 1100, 2000)
    tg = np.where(rng.random(2000) < 0.5, rng.uniform(150, 700, 2000), np.nan)
    sigma, ea = LAW.log_sigma(level, temperature, tg)
    np.testing.assert_allclose(LAW.level_of(sigma, temperature, tg), level, atol=1e-9)
    arrhenius = np.isnan(tg) | (temperature <= tg)
    assert ea[arrhenius].min() >= EA_MIN_EV and ea[arrhenius].max() <= EA_MAX_EV
