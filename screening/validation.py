"""The validation report: every proxy of this package checked against the shipped measurements.

:func:`write_report` regenerates ``validation.md`` and its PNG parity plots (``figures/``) from
the shipped data: the grouped cross-validation of the conductivity model against its two
baselines, the leave-one-out table of the Tg model, and the known VIGLAS facts predicted against
measured (conductivity, Tg, oxidation onset, cost). ``viglas validate`` calls it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from screening.models.conductivity_model import (  # noqa: E402
    MODEL_NAME,
    ConductivityConfig,
    cross_validate,
    domain_split_metrics,
    tg_model,
)
from screening.models.data import (  # noqa: E402
    CELSIUS_TO_K,
    load_conductivity_data,
    load_facts,
    load_tg_reference,
)
from screening.models.features import parse_amounts  # noqa: E402
from screening.models.tg_model import rigidity_of  # noqa: E402

FIGURES = "figures"
#: Facts rows compared against a scorer: (property in the facts table, scorer, output column).
SCORED_FACTS = (
    ("oxidation_onset", "screening.scorers.stability:StabilityScorer", "ox_limit_V"),
    ("material_cost", "screening.scorers.cost:CostScorer", "cost_usd_kg"),
)
VIGLAS = ("LACO75", "NACO75")


def _markdown(table: pd.DataFrame, floatfmt: str = ".3g") -> str:
    blanked = table.astype(object).where(table.notna(), None)  # tabulate blanks only None
    return blanked.to_markdown(index=False, floatfmt=floatfmt, missingval="")


def _parity(
    ax: plt.Axes, measured: np.ndarray, predicted: np.ndarray, title: str, unit: str
) -> None:
    lo = float(np.nanmin([measured.min(), predicted.min()]))
    hi = float(np.nanmax([measured.max(), predicted.max()]))
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
    ax.scatter(measured, predicted, s=8, alpha=0.5)
    ax.set(title=title, xlabel=f"measured {unit}", ylabel=f"predicted {unit}")


def _conductivity_section(out_dir: Path, config: ConductivityConfig) -> str:
    table = load_conductivity_data()
    cv = cross_validate(config, table)
    predictions = cv.predictions[~cv.predictions["censored"]]
    fig, axes = plt.subplots(1, len(cv.metrics), figsize=(5 * len(cv.metrics), 4.5))
    for ax, (name, group) in zip(axes, predictions.groupby("model", sort=False), strict=True):
        _parity(ax, group["measured"].to_numpy(), group["predicted"].to_numpy(), name,
                "log10 sigma (S/cm)")
    fig.tight_layout()
    fig.savefig(out_dir / FIGURES / "conductivity_grouped_cv_parity.png", dpi=110)
    plt.close(fig)

    ours = predictions[predictions["model"] == MODEL_NAME]
    z = (ours["predicted"] - ours["measured"]) / ours["unc"]
    coverage = float(np.mean(np.abs(z) <= 1.0))
    held_out = ours[ours["family"] == "chloroaluminate"]
    held_out = table.iloc[held_out["row"]].assign(
        predicted=held_out["predicted"].to_numpy(), unc=held_out["unc"].to_numpy()
    )
    metrics = cv.metrics.rename(columns={"mae_log10": "MAE (log10 S/cm)",
                                         "spearman_rho": "Spearman rho", "n": "rows scored"})
    sources = table.groupby("source").agg(rows=("formula", "size"),
                                          censored=("censored", "sum"))
    split = domain_split_metrics(cv.predictions)
    return "\n\n".join([
        "## Ionic conductivity: grouped cross-validation",
        f"Training data: {len(table)} measurements "
        f"({', '.join(f'{s} {r.rows}' for s, r in sources.iterrows())}), "
        f"{table['family'].nunique()} families, {int(table['censored'].sum())} censored "
        "(OBELiX upper bounds `<1E-10`, once `<1E-8`). Censored rows train at their bound "
        "(an upper limit, so they can only pull the model upwards) and are excluded from every "
        "error metric below.",
        f"{config.cv_splits}-fold `GroupKFold`, groups = structural/chemical family (the OBELiX "
        "and Liverpool family labels, harmonised; one family per reduced formula so a compound "
        "never sits on both sides; the VIGLAS chloroaluminates form their own family). All three "
        "models use the same folds.",
        _markdown(metrics),
        "![grouped CV parity](figures/conductivity_grouped_cv_parity.png)",
        f"Calibration of the uncertainty on held-out families: {coverage:.0%} of the "
        "|error| <= 1 sigma (68% expected for a Gaussian).",
        *_domain_paragraphs(split),
        "Held-out prediction of the chloroaluminate family (model trained without any "
        "chloroaluminate):",
        _markdown(held_out.loc[:, ["formula", "temperature_K", "log10_sigma_S_cm", "predicted",
                                   "unc"]]),
        "What the table says: composition descriptors transfer poorly between structural "
        "families. The famous oxide fast conductors (NASICON, garnet, perovskite) look like the "
        "poor oxides of the other families, so the magpie random forest is worse than the "
        "training mean. The model is therefore a median (L1) Arrhenius trend in 1000/T, the "
        "sulfide, halide and Li fractions (the ablation row), plus extra trees on the chemistry "
        "residual (magpie + glass-network descriptors, no temperature, so sigma always rises with "
        "T) that are trusted only near measured compositions: weight exp(-d / "
        f"{config.shrink_length}) with d the nearest-neighbour distance in standardised "
        "chemistry descriptors. That length is the one hyperparameter chosen by looking at these "
        "folds; the trend alone has no tuned parameter. Off the data the prediction is the "
        "trend with a wide uncertainty, which is the honest answer for a new family.",
    ])


def _domain_paragraphs(split: pd.DataFrame) -> list[str]:
    ours = split.set_index("model").loc[MODEL_NAME]
    ratio = ours["mae_out_of_domain"] / ours["mae_in_domain"]
    reading = (
        f"out of domain the held-out error of this model is {ratio:.1f} times the in-domain "
        "error, so `sigma_in_domain = False` marks predictions to trust less"
        if ratio > 1.0 else
        f"out of domain the held-out error of this model is not larger ({ratio:.1f} times the "
        "in-domain error), so the flag does not separate good from bad predictions here"
    )
    table = split.rename(columns={
        "mae_in_domain": "MAE in domain", "n_in_domain": "rows in domain",
        "mae_out_of_domain": "MAE out of domain", "n_out_of_domain": "rows out of domain",
    })
    return [
        "Applicability domain on the same held-out folds: a held-out row is in domain when its "
        "distance to the nearest training-fold row (standardised magpie means + composition "
        "physics, the distance of `sigma_domain_distance`) is at most the 95th percentile of the "
        "training-fold rows' distances to their nearest row of another family; the threshold "
        "is fitted on the training folds only. MAE in log10 S/cm over uncensored rows:",
        _markdown(table),
        f"Reading: {reading}.",
    ]


def _tg_section(out_dir: Path) -> str:
    reference = load_tg_reference()
    model = tg_model()
    loo = np.array(model.loo_predicted_K)
    rigidity = rigidity_of(parse_amounts(reference["formula"]))
    table = reference.assign(rigidity=rigidity, fit_K=model.predict(rigidity), loo_K=loo,
                             loo_error_K=loo - reference["tg_K"])
    fig, ax = plt.subplots(figsize=(5, 4.5))
    _parity(ax, reference["tg_K"].to_numpy(), loo, "Tg leave-one-out", "Tg (K)")
    for name, x, y in zip(reference["name"], reference["tg_K"], loo, strict=True):
        ax.annotate(name, (x, y), fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / FIGURES / "tg_loo_parity.png", dpi=110)
    plt.close(fig)
    errors = table["loo_error_K"].to_numpy()
    return "\n\n".join([
        "## Glass transition: leave-one-out on the reference glasses",
        f"`Tg_K = {model.intercept_K:.1f} + {model.slope_K:.1f} * rigidity` (two parameters, "
        "least squares). rigidity = strength of the bridging former-anion bonds per atom "
        "(z_c z_a / (r_c + r_a), Dietzel formers, bridging anions filled O first) times the "
        "Phillips-Thorpe constraints of the former relative to a tetrahedron.",
        _markdown(table.loc[:, ["name", "formula", "tg_K", "rigidity", "fit_K", "loo_K",
                                "loo_error_K"]], ".4g"),
        f"LOO MAE {np.mean(np.abs(errors)):.0f} K, RMSE {np.sqrt(np.mean(errors**2)):.0f} K "
        f"(= `tg_K_unc`, the same for every prediction). Handbook values carry 5-30 K.",
        "Applicability domain (`tg_domain_distance`, `tg_in_domain`): nearest-neighbour distance "
        "to these nine glasses in standardised network descriptors (rigidity, former "
        "coordination and field strength, bond strength, bridging and modifier fractions); in "
        "domain up to the 95th percentile of their leave-one-out nearest-neighbour distances, "
        f"{model.domain.threshold:.2f}.",
        "![Tg LOO parity](figures/tg_loo_parity.png)",
    ])


def _scorer(ref: str) -> object | None:
    module_name, _, cls = ref.partition(":")
    try:
        return getattr(importlib.import_module(module_name), cls)()
    except (ImportError, AttributeError):
        return None


def _facts_section() -> str:
    from screening.scorers.conductivity import ConductivityScorer
    from screening.scorers.tg import TgScorer

    facts = load_facts()
    facts = facts[facts["name"].isin(VIGLAS)]
    rows = []
    notes = []
    for fact in facts[facts["property"] == "ionic_conductivity"].itertuples():
        temperature_K = float(fact.temperature_C) + CELSIUS_TO_K
        pred = ConductivityScorer().score([fact.composition], temperature_K).iloc[0]
        rows.append([fact.name, f"log10 sigma at {fact.temperature_C} C (S/cm)",
                     np.log10(fact.value), pred["sigma_log10_S_cm"], pred["sigma_log10_unc"]])
    for fact in facts[facts["property"] == "glass_transition"].itertuples():
        pred = TgScorer().score([fact.composition], 298.15).iloc[0]
        rows.append([fact.name, "Tg (K)", fact.value, pred["tg_K"], pred["tg_K_unc"]])
    for prop, ref, column in SCORED_FACTS:
        scorer = _scorer(ref)
        if scorer is None:
            notes.append(f"`{ref}` is not available yet: the {prop} rows are left out.")
            continue
        for fact in facts[facts["property"] == prop].itertuples():
            pred = scorer.score([fact.composition], 298.15).iloc[0]
            rows.append([fact.name, f"{column} ({fact.unit})", fact.value, pred[column], np.nan])
    table = pd.DataFrame(rows, columns=["glass", "quantity", "measured", "predicted", "1-sigma"])
    return "\n\n".join([
        "## Known VIGLAS facts, predicted against measured",
        "The conductivity and Tg facts are also training/calibration rows, so this table checks "
        "that the fitted models reproduce them; the held-out numbers are in the sections above.",
        _markdown(table, ".3g"),
        *notes,
    ])


def write_report(out_dir: Path, config: ConductivityConfig | None = None) -> Path:
    """Regenerate ``out_dir/validation.md`` and ``out_dir/figures/*.png``; return the .md path.

    ``config`` sets the conductivity cross-validation (the default is the shipped model's).
    """
    config = ConductivityConfig() if config is None else config
    out_dir = Path(out_dir)
    (out_dir / FIGURES).mkdir(parents=True, exist_ok=True)
    sections = [
        "# Validation report (generated by `viglas validate`; do not edit by hand)",
        _conductivity_section(out_dir, config),
        _tg_section(out_dir),
        _facts_section(),
    ]
    path = out_dir / "validation.md"
    path.write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    return path
