"""The ``viglas`` command: a thin layer that turns domain errors into one-line messages."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click
import pandas as pd
from pyarrow import ArrowException

from candidates.notation import normalise
from featurizers.registry import describe_featurizers
from screening import store
from screening.errors import UserError, one_line
from screening.md import MDError
from screening.query import (
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT_S,
    FORMATS,
    QueryError,
    render,
    run_query,
)
from screening.runs import iter_runs, resolve_run, run_summary
from screening.scorers import known_scorers, load_scorer
from screening.spec import kelvin, load_spec

#: Errors caused by what the user typed or pointed at; shown as one line, exit status 2.
USER_ERRORS = UserError


#: The MD protocol presets (kept in step with screening.md.protocol.PROTOCOLS by a test, so the
#: CLI does not import the physics tier to build its options).
_MD_PROTOCOLS = ["quick", "standard", "rank", "resolve"]


def _results_root() -> Path:
    return Path(os.environ.get("VIGLAS_RESULTS", "results"))


#: Packages whose loggers' warnings are notices for the person at the terminal.
NOTICE_PACKAGES = ("candidates", "featurizers", "screening")


class _Notices(logging.Handler):
    """Shows a warning logged by this package (a lock taken over, a damaged file rebuilt) as one
    line, ``viglas: <message>``, on the stderr of the command being run."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"viglas: {record.getMessage()}", err=True)


def _show_notices() -> None:
    for name in NOTICE_PACKAGES:
        logger = logging.getLogger(name)
        if not any(isinstance(handler, _Notices) for handler in logger.handlers):
            logger.addHandler(_Notices(logging.WARNING))


#: Most LocalCluster workers per core: past that, processes only wait for a core (and each holds
#: its own copy of the models).
WORKERS_PER_CORE = 4


class _Workers(click.ParamType):
    """``--workers``: a whole number from 1 to :data:`WORKERS_PER_CORE` per core, checked before
    anything is started or written (99999999999999999999 ran out of memory after writing)."""

    name = "integer"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        most = WORKERS_PER_CORE * (os.cpu_count() or 1)
        text = str(value).strip()
        number = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0
        if not 1 <= number <= most:
            shown = text if len(text) <= 20 else f"{text[:12]}... ({len(text)} characters)"
            self.fail(f"{shown} is not in the range 1 to {most} (whole workers, "
                      f"{WORKERS_PER_CORE} per core of this machine)", param, ctx)
        return number


def _os_error(exc: OSError, where: Path) -> store.StoreError:
    """An OSError met while a run worked, worded by what went wrong: a full or read-only disk
    is a write, a file gone missing (deleted meanwhile) is neither."""
    name = exc.filename or where
    if isinstance(exc, FileNotFoundError):  # pyarrow's names the path in its message only
        return store.StoreError(f"{exc.filename or one_line(exc)} went missing while the run "
                                f"worked (deleted?); run the same command again to redo it")
    reason = exc.strerror or one_line(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG):
        return store.StoreError(f"cannot write {name}: {reason}")
    return store.StoreError(f"cannot read or write {name}: {reason}")


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
            _fail(one_line(exc))
        except click.ClickException as exc:  # a subcommand's bad option or argument
            _fail(exc.format_message(), exc.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="viglas-screen")
def main() -> None:
    """Screen oxyhalide glass electrolytes: enumerate, featurize, score, rank, query."""
    _show_notices()


@main.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Run directory [results/<name>].")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler (default: a LocalCluster).")
@click.option("--workers", type=_Workers(), help="LocalCluster workers [cores].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(spec_path: Path, out: Path | None, scheduler: str | None, workers: int | None,
        quiet: bool) -> None:
    """Run (or resume) the screen declared in SPEC."""
    from screening.pipeline import run_screen

    spec = load_spec(spec_path)
    out_dir = out or _results_root() / spec.name
    try:
        result = run_screen(spec, out_dir, scheduler=scheduler, workers=workers,
                            progress=not quiet)
    except OSError as exc:  # a full disk, a directory made read-only, a file deleted...
        raise _os_error(exc, out_dir) from exc
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
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="json writes NaN/inf as \"NaN\"/\"Infinity\"/\"-Infinity\", BLOBs as base64.")
@click.option("--memory-limit", default=DEFAULT_MEMORY_LIMIT, show_default=True,
              help="DuckDB's memory cap, e.g. 8GB; beyond it sorts and joins spill to a "
              "temporary directory.")
@click.option("--timeout", "timeout_s", type=float, default=DEFAULT_TIMEOUT_S, show_default=True,
              help="Stop the query after this many seconds.")
def query(run_ref: str, top: int | None, where: str | None, sort: str | None, sql: str | None,
          columns: str | None, fmt: str, memory_limit: str, timeout_s: float) -> None:
    """Query the ranked table of RUN (a run name under results/ or a directory)."""
    if sql and (where or sort or columns):
        raise QueryError("--sql replaces --where/--sort/--columns; use one or the other")
    run_dir = resolve_run(run_ref, _results_root())
    wanted = [c.strip() for c in columns.split(",")] if columns else None
    table = run_query(run_dir, sql=sql, where=where, sort=sort, top=top, columns=wanted,
                      memory_limit=memory_limit, timeout_s=timeout_s)
    text = render(table, fmt)
    click.echo(text, nl=not text.endswith("\n"))


@main.command()
def runs() -> None:
    """List the runs under results/ (or $VIGLAS_RESULTS)."""
    rows = [run_summary(d) for d in iter_runs(_results_root())]
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

    try:
        written = write_report(out)
    except OSError as exc:  # --out a file, or under one; a full disk
        raise UserError(f"--out {out}: cannot write the validation report there "
                        f"({exc.strerror or one_line(exc)}: {exc.filename or out})") from exc
    click.echo(f"wrote {written}")


@main.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--out", type=click.Path(path_type=Path), help="Directory for the PNGs [RUN/plots].")
def plot(run_ref: str, out: Path | None) -> None:
    """Write the run's plots: conductivity and Tg against O content, Pareto front, join maps,
    and an Arrhenius plot per verified candidate."""
    from screening.plots import plot_run

    run_dir = resolve_run(run_ref, _results_root())
    store.check_tables(run_dir, ("candidates", "scores", "ranked", "verified"))
    if out is not None and out.exists() and not out.is_dir():
        raise store.StoreError(f"--out {out} is a file; give a directory for the PNGs")
    try:
        written = plot_run(run_dir, out)
    except (OSError, ArrowException) as exc:
        raise store.StoreError(f"cannot plot {run_dir}: {one_line(exc)}") from exc
    for path in written:
        click.echo(f"wrote {path}")


def _interrupted(where: Path) -> NoReturn:
    click.echo(f"\nviglas: interrupted; finished segments are saved in {where}. "
               "Run the same command again to resume.", err=True)
    sys.exit(130)


def _failures(failed: dict[str, str]) -> None:
    for name, error in failed.items():
        click.echo(f"viglas: {name} failed: {error}", err=True)


def _md_cluster_options(command: Callable) -> Callable:
    """The options where ``verify``, ``calibrate`` and ``campaign`` run their MD: device,
    cluster, progress."""
    for option in reversed([
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
                     show_default=True),
        click.option("--scheduler", metavar="ADDRESS",
                     help="Dask scheduler (default: a LocalCluster)."),
        click.option("--workers", type=_Workers(),
                     help="LocalCluster workers [cores]."),
        click.option("--quiet", is_flag=True, help="No progress bar.")]):
        command = option(command)
    return command


@main.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--out", type=click.Path(path_type=Path), help="The HTML file [RUN/report.html].")
@click.option("--top", type=click.IntRange(min=1), default=200, show_default=True,
              help="Rows of the ranked table.")
def report(run_ref: str, out: Path | None, top: int) -> None:
    """Write one self-contained interactive HTML page about RUN (opens offline)."""
    from screening.report import write_report

    run_dir = resolve_run(run_ref, _results_root())
    click.echo(f"wrote {write_report(run_dir, out, top)}")


@main.command()
@click.argument("run_ref", metavar="RUN")
@click.argument("formula_args", metavar="[FORMULA...]", nargs=-1)
@click.option("--top", type=click.IntRange(min=1), help="The best N ranked candidates [5].")
@click.option("--formulas", "by_formula", is_flag=True,
              help="Verify the FORMULAs that follow (any notation) instead of the top N.")
@click.option("--protocol", "protocol_name", type=click.Choice(_MD_PROTOCOLS),
              default="rank", show_default=True,
              help="MD protocol preset (the README's protocol table).")
@click.option("--potential", help="Potential: a name, an entry point of viglas.potentials, or "
              "module:Class [the one that measured best on the ladder for the protocol].")
@click.option("--density", "densities", metavar="FORMULA=G_CM3", multiple=True,
              help="Hold FORMULA at this density (NVT throughout); repeatable.")
@_md_cluster_options
def verify(run_ref: str, formula_args: tuple[str, ...], top: int | None, by_formula: bool,
           protocol_name: str, potential: str | None, densities: tuple[str, ...], device: str,
           scheduler: str | None, workers: int | None, quiet: bool) -> None:
    """Melt-quench MD of RUN's top candidates (or --formulas F ...): D, Ea and sigma."""
    from screening.md import require_extra

    if formula_args and not by_formula or by_formula and not formula_args:
        raise MDError("name formulas after --formulas, e.g. --formulas LiAlCl4 LiAlCl2.5O0.75")
    if by_formula and top:
        raise MDError("--top and --formulas choose candidates two ways; use one")
    fixed = _densities(densities)
    require_extra()
    from screening.md.calibration import default_potential
    from screening.md.verify import verify as run_verify

    run_dir = resolve_run(run_ref, _results_root())
    try:
        result = run_verify(run_dir, protocol_name, top, formula_args,
                            potential or default_potential(protocol_name), device, scheduler,
                            workers, progress=not quiet, densities=fixed)
    except KeyboardInterrupt:
        _interrupted(run_dir / "md")
    _failures(result.failed)
    resumed = f", {result.n_resumed} resumed" if result.n_resumed else ""
    click.echo(f"{run_dir.name}: {result.n_candidates} candidates ({protocol_name}{resumed}), "
               f"{result.ps_simulated:.1f} ps simulated in {result.seconds:.0f} s -> "
               f"{run_dir / 'verified.parquet'}")
    if not result.verified.empty:
        shown = result.verified[result.verified["protocol"] == protocol_name]
        click.echo(render(shown[["formula", "potential", "status", "D_ref_cm2_s",
                                 "D_ref_unc_cm2_s", "sigma_log10_S_cm_md", "sigma_log10_unc_md",
                                 "sigma_log10_S_cm_cal", "sigma_log10_unc_cal",
                                 "extrapolation_crosses_tg"]], "table"))
    if result.failed:
        sys.exit(1)


def _densities(pairs: tuple[str, ...]) -> dict[str, float]:
    """``--density FORMULA=G_CM3`` options as {normalised formula: g/cm3}."""
    out = {}
    for pair in pairs:
        formula, _, value = pair.partition("=")
        try:
            density = float(value)
        except ValueError:
            density = float("nan")
        if not formula or not density > 0:
            raise MDError(f"--density {pair!r}: write FORMULA=G_CM3 with a positive density, "
                          "e.g. --density LiPO3=2.3")
        out[normalise(formula)] = density
    return out


@main.command()
@click.option("--protocol", "protocol_names", type=click.Choice(_MD_PROTOCOLS), multiple=True,
              help="Protocol(s) to calibrate; repeatable [rank].")
@click.option("--potential", "potentials", multiple=True,
              help="Potential(s) to calibrate, best first; repeatable [chgnet, sevennet].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the ladder's MD lives [$VIGLAS_RESULTS/md-calibration].")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("docs/md_calibration.md"), show_default=True,
              help="The report to write (its parity plot goes to figures/ beside it).")
@click.option("--offsets", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the fitted offsets [the shipped md_calibration.csv that "
              "verify reads].")
@click.option("--report-only", is_flag=True,
              help="Simulate nothing; rewrite the report and offsets from what has finished.")
@click.option("--fixed-density", is_flag=True,
              help="Hold rows with a measured density at it (NVT throughout).")
@_md_cluster_options
def calibrate(protocol_names: tuple[str, ...], potentials: tuple[str, ...],
              out_dir: Path | None, report: Path, offsets: Path | None, report_only: bool,
              fixed_density: bool, device: str, scheduler: str | None, workers: int | None,
              quiet: bool) -> None:
    """Run the calibration ladder through the physics tier; write docs/md_calibration.md."""
    from screening.md import require_extra

    require_extra()
    from screening.md.calibration import CALIBRATION_PATH
    from screening.md.calibration_report import calibrate as run_calibration
    from screening.md.potentials import load_potential_class

    potentials = potentials or ("chgnet", "sevennet")
    for ref in potentials:
        load_potential_class(ref)  # an unknown name fails here, before any MD
    if not report.parent.is_dir():
        raise MDError(f"--report {report}: no directory {report.parent}")
    out_dir = out_dir or _results_root() / "md-calibration"
    protocol_names = protocol_names or ("rank",)
    command = " ".join(["viglas calibrate", *(f"--protocol {p}" for p in protocol_names),
                        *(f"--potential {p}" for p in potentials), f"--out {out_dir}",
                        *(["--fixed-density"] if fixed_density else [])])
    try:
        result = run_calibration(out_dir, protocol_names, potentials, report,
                                 command, simulate=not report_only, device=device,
                                 scheduler=scheduler, workers=workers,
                                 fixed_density=fixed_density, progress=not quiet,
                                 calibration_path=offsets or CALIBRATION_PATH)
    except KeyboardInterrupt:
        _interrupted(out_dir)
    _failures(result.failed)
    for m in result.metrics:
        click.echo(f"{m.protocol} / {m.potential}: {m.n_rows} rows, Spearman {m.spearman:.2f}, "
                   f"LOO MAE {m.mae_loo:.2f} decades, offset {m.offset:+.2f} +- {m.spread:.2f}")
    click.echo(f"{result.ps_simulated:.1f} ps simulated -> {result.report}")
    if result.failed:
        sys.exit(1)


@main.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--rounds", type=click.IntRange(min=1), required=True,
              help="Rounds to reach (a finished campaign is extended, a killed one resumed).")
@click.option("--batch", type=click.IntRange(min=1), required=True,
              help="Candidates simulated per round.")
@click.option("--acquisition", type=click.Choice(["ucb", "ei", "greedy", "random"]),
              default="ucb", show_default=True, help="How picks are chosen.")
@click.option("--kappa", type=click.FloatRange(min=0.0), default=2.0, show_default=True,
              help="UCB weight of the uncertainty: mean + kappa x sd.")
@click.option("--all-rows", is_flag=True, help="Pick among every ranked row, not only glass "
              "formers.")
@click.option("--protocol", "protocol_name", default="quick", show_default=True,
              help="MD protocol preset.")
@click.option("--potential", default="chgnet", show_default=True,
              help="Potential: a name, an entry point of viglas.potentials, or module:Class.")
@_md_cluster_options
def campaign(run_ref: str, rounds: int, batch: int, acquisition: str, kappa: float,
             all_rows: bool, protocol_name: str, potential: str, device: str,
             scheduler: str | None, workers: int | None, quiet: bool) -> None:
    """Rounds of pick -> MD -> learn -> re-rank over RUN; writes RUN/campaign/."""
    from screening.md import require_extra

    require_extra()
    from screening.campaign.rounds import run_campaign
    from screening.campaign.state import Settings
    from screening.cluster import check_scheduler
    from screening.md.potentials import load_potential_class
    from screening.md.protocol import get_protocol

    settings = Settings(batch, acquisition, kappa, protocol_name, potential,
                        glass_formers_only=not all_rows)
    settings.check()
    run_dir = resolve_run(run_ref, _results_root())
    get_protocol(protocol_name)
    load_potential_class(potential)  # the name only: constructing it loads the weights
    if scheduler:
        check_scheduler(scheduler)
    try:
        result = run_campaign(run_dir, rounds, settings, device, scheduler, workers,
                              progress=not quiet)
    except KeyboardInterrupt:
        click.echo(f"\nviglas: interrupted; finished rounds and MD segments are saved in "
                   f"{run_dir}. Run the same command again to resume.", err=True)
        sys.exit(130)
    _failures(result.failed)
    resumed = f" ({result.resumed_rounds} already done)" if result.resumed_rounds else ""
    click.echo(f"{run_dir.name}: {result.rounds} rounds{resumed} in {result.seconds:.0f} s -> "
               f"{result.report}")
