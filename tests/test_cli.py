"""The viglas command as a user types it: query flags, run listing, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from screening.cli import main
from tests.conftest import TINY_SPEC, write_spec


def test_query_top_prints_the_best_rows_in_rank_order(viglas):
    result = viglas("query", "tiny", "--top", "3")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0].split()[:2] == ["rank", "formula"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]


def test_query_where_sort_and_json(viglas):
    result = viglas("query", "tiny", "--where", "alkali = 'Na'", "--sort",
                    "sigma_log10_S_cm DESC", "--format", "json")
    rows = json.loads(result.output)
    assert rows and {r["alkali"] for r in rows} == {"Na"}
    sigmas = [r["sigma_log10_S_cm"] for r in rows]
    assert sigmas == sorted(sigmas, reverse=True)


def test_query_sql_joins_features_and_writes_csv(viglas):
    result = viglas("query", "tiny", "--format", "csv", "--sql",
                    'SELECT r.formula, f."net_o_per_m" AS o FROM ranked r JOIN features f '
                    "USING (formula) WHERE r.formula = 'LiAlCl2.5O0.75'")
    assert result.output.splitlines() == ["formula,o", "LiAlCl2.5O0.75,0.75"]


def test_query_markdown_and_columns(viglas):
    result = viglas("query", "tiny", "--top", "2", "--columns", "formula,score",
                    "--format", "markdown")
    lines = result.output.strip().splitlines()
    assert lines[0].replace(" ", "") == "|formula|score|" and len(lines) == 4


def test_runs_lists_the_finished_run(viglas):
    header, *rows = viglas("runs").output.splitlines()
    assert header.split() == ["name", "candidates", "ranked", "status", "created_utc",
                              "spec_hash"]
    name, candidates, _, status, *_ = rows[0].split()
    assert (name, candidates, status) == ("tiny", "17", "complete")  # not "incomplete"


@pytest.mark.parametrize("args, message", [
    (["query", "nope"], "no run 'nope'"),
    (["query", "tiny", "--sql", "SELEC formula FROM ranked"], "bad SQL"),
    (["query", "tiny", "--sql", "DROP VIEW ranked"], "only a single SELECT"),
    (["query", "tiny", "--sql", "SELECT 1; SELECT 2"], "only a single SELECT"),
    (["query", "tiny", "--where", "no_such_column > 1"], "query failed"),
    (["query", "tiny", "--columns", "formula,sigma"], "unknown column 'sigma'"),
    (["predict", "LiXxCl4"], "unknown element 'Xx'"),
])
def test_bad_queries_fail_in_one_line_and_change_nothing(viglas, finished_run, args, message):
    before = sorted((p.name, p.stat().st_mtime_ns) for p in finished_run.iterdir())
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert sorted((p.name, p.stat().st_mtime_ns) for p in finished_run.iterdir()) == before


BAD_SPECS = [
    (TINY_SPEC.replace('centres = ["Al", "Ga"]', 'centres = ["Al", "Gx"]'), "'Gx'"),
    (TINY_SPEC.replace('"LiCl"]', '"LiXxCl4"]'), "unknown element 'Xx'"),
    (TINY_SPEC.replace("o_per_m = [0.0,", "o_per_m = [-0.5,"), "negative amount"),
    (TINY_SPEC.replace("halogens =", "halogenz ="), "did you mean 'halogens'"),
    (TINY_SPEC + "[rank.objectives]\nconductivity = { weight = 2 }\n",
     "objectives.conductivity: no scorer produces this column"),
    (TINY_SPEC.replace('filters = ["ox_limit_V >= 1.0"]', 'filters = ["ox_limt_V >= 1.0"]'),
     "unknown column 'ox_limt_V'"),
    (TINY_SPEC.replace("[space]", '[space]\ncsv = "missing.csv"'), "cannot read"),
    (TINY_SPEC.replace('"magpie",', '"magpy",'), "magpy"),
    (TINY_SPEC.replace('"cost"]', '"costs"]'), "scorer 'costs': unknown"),
    ("name = [", "not valid TOML"),
    (TINY_SPEC + "confidence_k = -1.0\n", "rank.confidence_k: must be >= 0"),
    (TINY_SPEC + 'out_of_domain = "drop"\n', "rank.out_of_domain: must be one of"),
]


@pytest.mark.parametrize("text, message", BAD_SPECS)
def test_bad_specs_fail_in_one_line_and_write_nothing(tmp_path: Path, monkeypatch, text, message):
    monkeypatch.setenv("VIGLAS_RESULTS", str(tmp_path / "results"))
    spec = write_spec(tmp_path, text)
    result = CliRunner().invoke(main, ["run", str(spec), "--quiet"])
    assert result.exit_code == 2, result.output
    assert message in result.output and str(spec) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


def test_csv_row_errors_name_the_file_and_line(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("VIGLAS_RESULTS", str(tmp_path / "results"))
    (tmp_path / "extra.csv").write_text("composition\nLiAlCl4\nLiAl-2Cl4\n")
    spec = write_spec(tmp_path, TINY_SPEC.replace("[space]", '[space]\ncsv = "extra.csv"'))
    result = CliRunner().invoke(main, ["run", str(spec), "--quiet"])
    assert result.exit_code == 2
    assert "extra.csv: line 3" in result.output and "negative amount" in result.output


def test_unreadable_spec_file(tmp_path: Path):
    result = CliRunner().invoke(main, ["run", str(tmp_path / "absent.toml")])
    assert result.exit_code == 2 and "cannot read the spec" in result.output


def test_predict_json_has_every_proxy_for_each_notation():
    result = CliRunner().invoke(main, ["predict", "LiAlCl4-75%O", "(LiCl)0.5 (P2O5)0.5",
                                       "--temperature", "30", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    keys = {"input", "formula", "sigma_log10_S_cm", "sigma_log10_unc", "tg_K", "tg_K_unc",
            "viscoelastic", "ox_limit_V", "red_limit_V", "e_above_hull_eV_atom",
            "decomposition", "cost_usd_kg", "hhi", "sigma_domain_distance", "sigma_in_domain",
            "tg_domain_distance", "tg_in_domain", "glass_forming", "p_glass", "window_note",
            "sigma_ea_eV", "hull_excess_eV_atom"}
    assert [r["formula"] for r in rows] == ["LiAlCl2.5O0.75", "Li0.5PCl0.5O2.5"]
    assert all(keys <= set(r) for r in rows)
    assert rows[0]["viscoelastic"] is True and rows[0]["sigma_in_domain"] is True
    assert rows[0]["glass_forming"] is True and 0.5 <= rows[0]["p_glass"] <= 1.0
    assert rows[0]["window_note"] == "" and rows[0]["sigma_ea_eV"] > 0


def test_predict_json_gives_null_tg_for_a_crystal():
    result = CliRunner().invoke(main, ["predict", "LiAlCl4", "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)[0]
    assert row["glass_forming"] is False and row["viscoelastic"] is False
    assert row["tg_K"] is None and row["tg_K_unc"] is None


def _error_classes() -> list[type[Exception]]:
    """Every exception class defined in the package's modules, the physics tier's included."""
    import importlib
    import inspect
    import pkgutil

    found = {}
    for package in ("candidates", "featurizers", "screening"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, Exception) and cls.__module__ == info.name:
                    found[cls.__qualname__] = cls
    return list(found.values())


def test_every_error_class_is_a_user_error_the_command_line_shows_in_one_line():
    from screening.errors import UserError

    classes = _error_classes()
    assert {"SpecError", "StoreError", "QueryError", "FeaturizerError", "NotationError",
            "MDError", "PotentialError", "CellError"} <= {
        cls.__name__ for cls in classes}
    assert [cls.__name__ for cls in classes if not issubclass(cls, UserError)] == []
