"""Thermodynamics behind the stability proxy: phase-diagram entries, hulls, electrochemical windows.

- :mod:`screening.thermo.entries`: where entries come from (pymatgen's experimental formation
  enthalpies offline, or the Materials Project through mp-api with an on-disk cache).
- :mod:`screening.thermo.formation`: a regression estimating a candidate's own formation enthalpy.
- :mod:`screening.thermo.hull`: one convex hull per chemical system, queried for whole arrays of
  compositions at once (hull energy, decomposition, alkali window).
"""
