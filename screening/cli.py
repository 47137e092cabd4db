"""The ``viglas`` command: a thin layer that turns domain errors into one-line messages."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn

import click
import pandas as pd
from pyarrow import ArrowException

from candidates.formula import FormulaError
from candidates.notation import NotationError, normalise
from candidates.space import SpaceError
from featurizers.registry import FeaturizerError, describe_featurizers
from screening import store
from screening.errors import ClusterError, one_line
from screening.md import MDError
from screening.query import FORMATS, QueryError, render, run_query
from screening.scorers import ScorerError, known_scorers, load_scorer
from screening.spec import SpecError, kelvin, load_spec

#: Errors caused by what the user typed or pointed at; shown as one line, exit status 2.
USER_ERRORS = (SpecError, SpaceError, NotationError, FormulaError, FeaturizerError, ScorerError,
               QueryError, store.RunNotFoundError, store.StoreError, MDError, ClusterError)


def _results_root() -> Path:
    return Path(os.environ.get("VIGLAS_RESULTS", "results"))


def _fail(message: str, status: int = 2) -> NoReturn:
    click.echo(f"viglas: error: {message}", err=True)
    sys.exit(status)


class _Group(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise  # plain `viglas` shows the help
        except click.UsageError as exc:  # `viglas --bogus`: one line, not usage + hint
            _fail(exc.format_message(), exc.exit_code)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            _fail(str(exc))
        except click.ClickException as exc:  # a subcommand's bad option or argument
            _fail(exc.format_message(), exc.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="viglas-screen")
def main() -> None:
    """Screen oxyhalide glass electrolytes: enumerate, featurize, score, rank, query."""


@main.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Run directory [results/<name>].")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler (default: a LocalCluster).")
@click.option("--workers", type=click.IntRange(min=1), help="LocalCluster workers [cores].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(spec_path: Path, out: Path | None, scheduler: str | None, workers: int | None,
        quiet: bool) -> None:
    """Run (or resume) the screen declared in SPEC."""
    from screening.pipeline import RunError, run_screen

    spec = load_spec(spec_path)
    out_dir = out or _results_root() / spec.name
    try:
        result = run_screen(spec, out_dir, scheduler=scheduler, workers=workers,
                            progress=not quiet)
    except RunError as exc:
        raise SpecError(str(exc)) from exc
    except OSError as exc:  # a full disk, a directory made read-only meanwhile...
        raise store.StoreError(f"cannot write {exc.filename or out_dir}: {exc.strerror or exc}"
                               ) from exc
    except KeyboardInterrupt:
        click.echo(f"\nviglas: interrupted; finished partitions are saved in {out_dir}. "
                   f"Run the same command again to resume.", err=True)
        sys.exit(130)
    resumed = f", {result.n_resumed} resumed" if result.n_resumed else ""
    dropped = f" ({result.n_duplicates} duplicates dropped)" if result.n_duplicates else ""
    click.echo(f"{spec.name}: {result.n_candidates} candidates{dropped} in "
               f"{result.n_partitions} partitions{resumed}; {result.n_ranked} pass the filters; "
               f"{result.seconds:.1f} s -> {out_dir}")


@main.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--top", type=click.IntRange(min=0), help="Show the best N rows.")
@click.option("--where", help="SQL predicate on ranked, e.g. \"tg_K < 298 AND alkali = 'Na'\".")
@click.option("--sort", help="SQL ORDER BY over ranked [rank], e.g. 'sigma_log10_S_cm DESC'.")
@click.option("--sql", help="A full SELECT over candidates, features, scores, ranked (and "
              "verified, ranked_verified after viglas verify).")
@click.option("--columns", help="Comma-separated columns of ranked to show.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def query(run_ref: str, top: int | None, where: str | None, sort: str | None, sql: str | None,
          columns: str | None, fmt: str) -> None:
    """Query the ranked table of RUN (a run name under results/ or a directory)."""
    if sql and (where or sort or columns):
        raise QueryError("--sql replaces --where/--sort/--columns; use one or the other")
    run_dir = store.resolve_run(run_ref, _results_root())
    wanted = [c.strip() for c in columns.split(",")] if columns else None
    frame = run_query(run_dir, sql=sql, where=where, sort=sort, top=top, columns=wanted)
    if sql and top is not None:
        frame = frame.head(top)
    text = render(frame, fmt)
    click.echo(text, nl=not text.endswith("\n"))


@main.command()
def runs() -> None:
    """List the runs under results/ (or $VIGLAS_RESULTS)."""
    rows = [store.run_summary(d) for d in store.iter_runs(_results_root())]
    click.echo(render(pd.DataFrame(rows), "table") if rows else "no runs yet")


@main.command()
def featurizers() -> None:
    """List available featurizers with their labels and citations."""
    for info in describe_featurizers():
        fast = " (fast path)" if info.get("fast") else ""
        click.echo(f"{info['name']}{fast}: {info['class']}, {info['n_features']} features")
        labels = info["labels"]
        shown = ", ".join(labels[:6]) + (f", ... (+{len(labels) - 6})" if len(labels) > 6 else "")
        click.echo(f"  labels: {shown}")
        for citation in info["citations"]:
            click.echo(f"  cite: {' '.join(str(citation).split())[:160]}")


@main.command()
def scorers() -> None:
    """List available scorers with their output columns and citations."""
    for name in known_scorers():
        info = load_scorer(name).describe()
        click.echo(f"{name}:")
        for column, meaning in info["outputs"].items():
            click.echo(f"  {column}: {meaning}")
        for citation in info["citations"]:
            click.echo(f"  cite: {citation}")


@main.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("--temperature", "temperature_C", type=float, default=25.0, show_default=True,
              help="Operating temperature in degrees C.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input.")
def predict(inputs: tuple[str, ...], temperature_C: float, as_json: bool) -> None:
    """Every proxy for compositions in any accepted notation (e.g. 'LiAlCl4-75%O')."""
    from screening.pipeline import Toolkit

    temperature_K = kelvin(temperature_C, "--temperature")
    formulas = [normalise(text) for text in inputs]
    toolkit = Toolkit.build((), [load_scorer(name) for name in known_scorers()])
    frame = toolkit.score(formulas, temperature_K)[1]
    frame.insert(0, "input", list(inputs))
    if as_json:
        click.echo(json.dumps(json.loads(frame.to_json(orient="records")), indent=2))
    else:
        click.echo(render(frame.set_index("input").T.reset_index(names="proxy"), "table"))


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs"), show_default=True,
              help="Where the report and figures go.")
def validate(out: Path) -> None:
    """Regenerate the validation report (Markdown + parity plots) from the shipped data."""
    from screening.validation import write_report

    click.echo(f"wrote {write_report(out)}")


@main.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--out", type=click.Path(path_type=Path), help="Directory for the PNGs [RUN/plots].")
def plot(run_ref: str, out: Path | None) -> None:
    """Write the run's plots: conductivity and Tg against O content, Pareto front, join maps,
    and an Arrhenius plot per verified candidate."""
    from screening.plots import plot_run

    run_dir = store.resolve_run(run_ref, _results_root())
    if not store.is_complete(run_dir):
        raise store.StoreError(f"{run_dir} is not a finished run, or its files changed since "
                               f"(see `viglas runs`); `viglas run` on its spec finishes or "
                               f"repairs it")
    if out is not None and out.exists() and not out.is_dir():
        raise store.StoreError(f"--out {out} is a file; give a directory for the PNGs")
    try:
        written = plot_run(run_dir, out)
    except (OSError, ArrowException) as exc:
        raise store.StoreError(f"cannot plot {run_dir}: {one_line(exc)}") from exc
    for path in written:
        click.echo(f"wrote {path}")


@main.command()
@click.argument("run_ref", metavar="RUN")
@click.argument("formula_args", metavar="[FORMULA...]", nargs=-1)
@click.option("--top", type=click.IntRange(min=1), help="The best N ranked candidates [5].")
@click.option("--formulas", "by_formula", is_flag=True,
              help="Verify the FORMULAs that follow (any notation) instead of the top N.")
@click.option("--protocol", "protocol_name", type=click.Choice(["quick", "standard"]),
              default="quick", show_default=True, help="MD protocol preset.")
@click.option("--potential", default="chgnet", show_default=True,
              help="Potential: a name, an entry point of viglas.potentials, or module:Class.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True)
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler (default: a LocalCluster).")
@click.option("--workers", type=click.IntRange(min=1), help="LocalCluster workers [cores].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def verify(run_ref: str, formula_args: tuple[str, ...], top: int | None, by_formula: bool,
           protocol_name: str, potential: str, device: str, scheduler: str | None,
           workers: int | None, quiet: bool) -> None:
    """Melt-quench MD of RUN's top candidates (or --formulas F ...): D, Ea and sigma."""
    from screening.md import require_extra

    if formula_args and not by_formula or by_formula and not formula_args:
        raise MDError("name formulas after --formulas, e.g. --formulas LiAlCl4 LiAlCl2.5O0.75")
    if by_formula and top:
        raise MDError("--top and --formulas choose candidates two ways; use one")
    require_extra()
    from screening.md.verify import verify as run_verify

    run_dir = store.resolve_run(run_ref, _results_root())
    try:
        result = run_verify(run_dir, protocol_name, top, formula_args, potential, device,
                            scheduler, workers, progress=not quiet)
    except KeyboardInterrupt:
        click.echo(f"\nviglas: interrupted; finished segments are saved in {run_dir / 'md'}. "
                   "Run the same command again to resume.", err=True)
        sys.exit(130)
    for formula, error in result.failed.items():
        click.echo(f"viglas: {formula} failed: {error}", err=True)
    resumed = f", {result.n_resumed} resumed" if result.n_resumed else ""
    click.echo(f"{run_dir.name}: {result.n_candidates} candidates ({protocol_name}{resumed}), "
               f"{result.ps_simulated:.1f} ps simulated in {result.seconds:.0f} s -> "
               f"{run_dir / 'verified.parquet'}")
    if not result.verified.empty:
        shown = result.verified[result.verified["protocol"] == protocol_name]
        click.echo(render(shown[["formula", "ea_eV", "ea_unc_eV", "sigma_log10_S_cm_md",
                                 "sigma_log10_unc_md", "extrapolation_crosses_tg"]], "table"))
    if result.failed:
        sys.exit(1)
