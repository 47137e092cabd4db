"""Every hostile or careless input of issue 13 answers with one line and exit status 2 (or the
right result) and leaves nothing behind: specs, notations, temperatures, --out, plot, runs."""

from __future__ import annotations

import shutil
import time

import pytest
from click.testing import CliRunner

from screening.cli import main
from tests.conftest import TINY_SPEC, one_line_error, write_spec

FILTER = 'filters = ["ox_limit_V >= 1.0"]'
OPTIONS = "[space]"


def _spec(old: str, new: str) -> str:
    assert old in TINY_SPEC
    return TINY_SPEC.replace(old, new)


BAD_SPECS = {
    "empty": ("", "nothing to screen: give a [space] table or [[joins]]"),
    "only a name": ('name = "x"\n', "nothing to screen"),
    "filter text vs numbers": (_spec(FILTER, "filters = [\"tg_K < 'abc'\"]"),
                               "rank.filters: tg_K holds numbers, but tg_K < 'abc' compares"),
    "filter number vs text": (_spec(FILTER, 'filters = ["alkali < 3"]'),
                              "rank.filters: alkali holds text"),
    "filter order on true/false": (_spec(FILTER, 'filters = ["charge_balanced < 1"]'),
                                   "charge_balanced holds true/false: compare it with =="),
    "filter nan": (_spec(FILTER, 'filters = ["tg_K < nan"]'), "'nan' in 'tg_K < nan' is not a"),
    "scorer option type": (_spec(OPTIONS, '[scorer_options]\nconductivity = { n_estimators = '
                                          '"abc" }\n[space]'),
                           "scorer_options.conductivity.n_estimators: expected int, got 'abc'"),
    "scorer option name": (_spec(OPTIONS, '[scorer_options]\ncost = { price_tabel = "x" }\n'
                                          '[space]'),
                           "takes no option 'price_tabel' (did you mean 'price_table'?)"),
    "scorer option value": (_spec(OPTIONS, "[scorer_options]\nconductivity = { n_estimators = "
                                           "-5 }\n[space]"),
                            "scorer 'conductivity' with options {'n_estimators': -5} fails on"),
    "duplicate scorer": (_spec('"tg", "stability"', '"tg", "tg", "stability"'),
                         "scorers: 'tg' is listed twice"),
    "duplicate featurizer": (_spec('["magpie", "oxyhalide_network"]',
                                   '["magpie", "oxyhalide_network", "magpie"]'),
                             "featurizers: 'magpie' is listed twice"),
    "temperature nan": (_spec("temperature_C = 25.0", "temperature_C = nan"),
                        "temperature_C: must be a finite number, got nan"),
    "temperature inf": (_spec("temperature_C = 25.0", "temperature_C = inf"),
                        "temperature_C: must be a finite number, got inf"),
    "temperature below 0 K": (_spec("temperature_C = 25.0", "temperature_C = -500.0"),
                              "-500.0 C is not a temperature above absolute zero"),
    "bound nan": (TINY_SPEC + "[rank.objectives]\ntg_K = { low = nan, high = 400.0 }\n",
                  "rank.objectives.tg_K.low: must be a finite number, got nan"),
    # was accepted: hull_excess all NaN, its objective silently 0 (issue 22 case 5)
    "allowance nan": (TINY_SPEC + "[scorer_options.stability]\nglass_allowance_eV_atom = nan\n",
                      "glass_allowance_eV_atom must lie between 0 and 1 eV/atom, got nan"),
    "bound inf": (TINY_SPEC + "[rank.objectives]\ntg_K = { low = 200.0, high = inf }\n",
                  "rank.objectives.tg_K.high: must be a finite number, got inf"),
    "halogen as alkali": (_spec('alkali = ["Li", "Na"]', 'alkali = ["Cl"]'),
                          "space: alkali: 'Cl' is not one of Cs, K, Li, Na, Rb"),
    "alkali as centre": (_spec('centres = ["Al", "Ga"]', "centres = { Li = 3 }"),
                         "centres: 'Li' is an alkali, halogen or chalcogen"),
    "trailing minus": (_spec('"LiCl"]', '"Li2O-"]'), "explicit[1]: '-' with nothing after it"),
    "join step 1e-7": ('[[joins]]\nend_members = ["LiCl", "AlCl3"]\nstep = 1e-7\n',
                       "joins[0].step: step 1e-07 gives 10,000,001 mixtures of 2 end members"),
    "join bounds": ('[[joins]]\nend_members = ["LiCl", "AlCl3"]\nbounds = { LiCl = "x" }\n',
                    "joins[0].bounds.LiCl: expected [low, high]"),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_bad_specs_are_refused_in_one_line_before_anything_is_written(tmp_path, case):
    text, message = BAD_SPECS[case]
    spec = write_spec(tmp_path, text)
    out = tmp_path / "out" / "run"
    error = one_line_error(CliRunner().invoke(main, ["run", str(spec), "--out", str(out),
                                                     "--quiet"]))
    assert message in error and str(spec) in error
    assert not (tmp_path / "out").exists()


def test_a_binary_spec_file_is_refused(tmp_path):
    spec = tmp_path / "image.toml"
    spec.write_bytes(bytes(range(256)) * 4)
    error = one_line_error(CliRunner().invoke(main, ["run", str(spec)]))
    assert f"{spec}: not a text file (byte 128 is not UTF-8)" in error


def test_a_huge_grid_is_refused_from_its_arithmetic_without_building_it(tmp_path):
    spec = write_spec(tmp_path, _spec("o_per_m = [0.0, 0.5, 0.75, 1.0]",
                                      "o_per_m = { start = 0.0, stop = 1.0, step = 1e-9 }"))
    start = time.perf_counter()
    error = one_line_error(CliRunner().invoke(main, ["run", str(spec), "--quiet"]))
    assert time.perf_counter() - start < 5  # building the axis alone took 7.45 GiB
    assert "the grid has 4,000,000,004 points, above max_candidates = 5,000,000" in error


def test_an_unreachable_scheduler_is_refused_within_seconds(tmp_path):
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["run", str(spec), "--out", str(out), "--quiet",
                                       "--scheduler", "tcp://127.0.0.1:9"])
    assert time.perf_counter() - start < 15
    assert "no Dask scheduler answers at 'tcp://127.0.0.1:9' within 3 s" in one_line_error(
        result)
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["predict", "(" * 2000 + "LiCl" + ")" * 2000], "parentheses nested 2000 deep"),
    (["predict", "Li" + "9" * 400 + "Cl"], "is above 1e+06"),
    (["predict", "Li2O-"], "'-' with nothing after it in 'Li2O-'"),
    (["predict", "Li2O+"], "'+' with nothing after it in 'Li2O+'"),
    (["predict", "LiAlCl4--75%O"], "'-' with nothing after it in 'LiAlCl4--75%O'"),
    (["predict", "Li0Cl"], "zero amount 'Li0' in 'Li0Cl'"),
    (["predict", "LiAlCl4", "--temperature", "nan"], "--temperature: nan C is not a temperature"),
    (["predict", "LiAlCl4", "--temperature", "inf"], "--temperature: inf C is not a temperature"),
    (["predict", "LiAlCl4", "--temperature", "-500"], "-500.0 C is not a temperature above"),
    (["predict", "LiAlCl4", "--temperature", "warm"], "Invalid value for '--temperature'"),
    (["query"], "Missing argument 'RUN'"),
    (["--bogus"], "No such option '--bogus'"),
    (["nosuch"], "No such command 'nosuch'"),
])
def test_bad_command_lines_fail_in_one_line(args, message):
    assert message in one_line_error(CliRunner().invoke(main, args))


def test_predict_takes_a_tiny_but_real_amount():
    result = CliRunner().invoke(main, ["predict", "LiAlCl4O0.00001", "--json"])
    assert result.exit_code == 0, result.output
    assert '"formula": "LiAlCl4O0.00001"' in result.output


def test_plot_refuses_an_unfinished_run_and_a_file_as_out(viglas, finished_run, tmp_path):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(finished_run, unfinished)
    (unfinished / "ranked.parquet").unlink()
    assert "is corrupt: ranked.parquet missing" in one_line_error(viglas("plot", str(unfinished)))
    (unfinished / "manifest.json").unlink()
    assert "is not a finished run" in one_line_error(viglas("plot", str(unfinished)))
    (tmp_path / "plots.png").write_text("")
    error = one_line_error(viglas("plot", "tiny", "--out", str(tmp_path / "plots.png")))
    assert "is a file; give a directory" in error


def test_runs_lists_corrupt_runs_beside_good_ones(finished_run, tmp_path, monkeypatch):
    root = tmp_path / "results"
    shutil.copytree(finished_run, root / "tiny")
    (root / "bad-toml").mkdir()
    (root / "bad-toml" / "spec.toml").write_text("name = [\n")
    shutil.copytree(finished_run, root / "bad-ranked")
    (root / "bad-ranked" / "ranked.parquet").write_text("garbage")
    shutil.copytree(finished_run, root / "cut-features")
    part = root / "cut-features" / "features.parquet" / "part-000000.parquet"
    part.write_bytes(part.read_bytes()[:500])
    monkeypatch.setenv("VIGLAS_RESULTS", str(root))
    result = CliRunner().invoke(main, ["runs"])
    assert result.exit_code == 0, result.output
    status = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "corrupt: spec.toml unreadable" in status["bad-toml"]
    assert "corrupt: ranked.parquet 7 bytes, expected" in status["bad-ranked"]
    assert "corrupt: features.parquet/part-000000.parquet 500 bytes" in status["cut-features"]
    assert status["tiny"].split()[3] == "complete"  # the whole word: not "incomplete"
    error = one_line_error(CliRunner().invoke(main, ["query", "cut-features", "--sql",
                                                     "SELECT count(*) FROM features"]))
    assert "part-000000.parquet" in error
