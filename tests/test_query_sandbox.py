"""`viglas query` reads the run's own tables and nothing else: no file outside the run, no
network, no statement but one SELECT, no flag that changes the shape of the query it builds."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from screening import query, store
from tests.conftest import one_line_error

MARKER = "VIGLAS-SECRET-7f3a"  # in the files' contents, never in a path a query names
LISTED = "listed-name-4c1d"  # a file name only a directory listing would show


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Files outside the run, one per format, each holding MARKER where a reader would show it."""
    root = tmp_path_factory.mktemp("outside")
    (root / "secret.txt").write_text(MARKER)
    (root / LISTED).write_text("")
    (root / "secret.csv").write_text(f"{MARKER}\n1\n")  # the marker is the column name
    (root / "secret.json").write_text(f'{{"{MARKER}": "{MARKER}"}}\n')
    pd.DataFrame({MARKER: [MARKER]}).to_parquet(root / "secret.parquet")
    with duckdb.connect(str(root / "secret.duckdb")) as con:
        con.execute(f"CREATE TABLE t AS SELECT '{MARKER}' AS v")
    return {"txt": str(root / "secret.txt"), "csv": str(root / "secret.csv"),
            "json": str(root / "secret.json"), "parquet": str(root / "secret.parquet"),
            "duckdb": str(root / "secret.duckdb"), "dir": str(root)}


#: Every DuckDB table function that opens a file, with a call that reads a secret.
FILE_READERS = {
    "read_text": "read_text('{txt}')",
    "read_blob": "read_blob('{txt}')",
    "read_csv": "read_csv('{csv}')",
    "read_csv_auto": "read_csv_auto('{csv}')",
    "read_single_csv_file": "read_single_csv_file('{csv}')",
    "sniff_csv": "sniff_csv('{csv}')",
    "read_json": "read_json('{json}')",
    "read_json_auto": "read_json_auto('{json}')",
    "read_json_objects": "read_json_objects('{json}')",
    "read_json_objects_auto": "read_json_objects_auto('{json}')",
    "read_ndjson": "read_ndjson('{json}')",
    "read_ndjson_auto": "read_ndjson_auto('{json}')",
    "read_ndjson_objects": "read_ndjson_objects('{json}')",
    "read_single_json_file": "read_single_json_file('{json}')",
    "read_parquet": "read_parquet('{parquet}')",
    "read_single_parquet_file": "read_single_parquet_file('{parquet}')",
    "parquet_scan": "parquet_scan('{parquet}')",
    "parquet_metadata": "parquet_metadata('{parquet}')",
    "parquet_schema": "parquet_schema('{parquet}')",
    "parquet_file_metadata": "parquet_file_metadata('{parquet}')",
    "parquet_kv_metadata": "parquet_kv_metadata('{parquet}')",
    "parquet_full_metadata": "parquet_full_metadata('{parquet}')",
    "parquet_page_index": "parquet_page_index('{parquet}')",
    "parquet_bloom_probe": "parquet_bloom_probe('{parquet}', '" + MARKER + "', 'x')",
    "glob": "glob('{dir}/*')",
    "read_duckdb": "read_duckdb('{duckdb}')",
    "replacement scan of a CSV path": "'{csv}'",
    "replacement scan of a Parquet path": "'{parquet}'",
}
_READER_NAME = ("read_", "parquet_", "sniff_", "glob")


def test_every_file_reading_table_function_of_this_duckdb_is_covered():
    # A DuckDB upgrade that brings a new reader fails here until it is added to FILE_READERS.
    with duckdb.connect() as con:
        names = {row[0] for row in con.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table'"
        ).fetchall()}
    readers = {n for n in names if n.startswith(_READER_NAME) or n.endswith("_scan")}
    in_memory = {n for n in readers if n.startswith(("arrow_", "pandas_", "python_", "seq_"))}
    assert readers - in_memory <= set(FILE_READERS)


@pytest.mark.parametrize("reader", FILE_READERS)
def test_no_table_function_reads_a_file_outside_the_run(viglas, secrets, reader):
    sql = f"SELECT * FROM {FILE_READERS[reader].format(**secrets)}"
    with duckdb.connect() as con:
        try:
            con.execute(sql).fetchall()  # unsandboxed, the same SQL does read the file
        except duckdb.CatalogException:
            pytest.skip(f"no {reader} in DuckDB {duckdb.__version__}")
    error = one_line_error(viglas("query", "tiny", "--sql", sql))
    assert MARKER not in error and LISTED not in error
    assert "Permission Error" in error or "does not exist" in error


@pytest.mark.parametrize("flags", [
    ["--where", "formula IN (SELECT content FROM read_text('{txt}'))"],
    ["--where", "EXISTS (SELECT * FROM read_csv('{csv}'))"],
    ["--sort", "(SELECT content FROM read_text('{txt}'))"],
    ["--sort", "(SELECT count(*) FROM glob('{dir}/*'))"],
    # the file's text would come back inside the conversion error
    ["--where", "CAST((SELECT content FROM read_text('{txt}')) AS INTEGER) = 1"],
    ["--sql", "SELECT CAST(content AS INTEGER) FROM read_text('{txt}')"],
    ["--sql", "SELECT * FROM ranked WHERE formula = (SELECT * FROM read_parquet('{parquet}'))"],
])
def test_flags_and_error_texts_do_not_reach_outside_files(viglas, secrets, flags):
    args = [flags[0], flags[1].format(**secrets)]
    error = one_line_error(viglas("query", "tiny", *args))
    assert MARKER not in error and LISTED not in error and "Permission Error" in error


def test_columns_cannot_smuggle_a_table_function(viglas, secrets):
    error = one_line_error(viglas("query", "tiny", "--columns",
                                  f"content FROM read_text('{secrets['txt']}')"))
    assert "unknown column" in error


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x.csv", "https://example.com/x.csv", "s3://bucket/x.parquet",
    "gcs://bucket/x.parquet", "hf://datasets/x/y.parquet",
])
def test_urls_are_refused_without_touching_the_network(viglas, url):
    start = time.perf_counter()
    error = one_line_error(viglas("query", "tiny", "--sql", f"SELECT * FROM read_csv('{url}')"))
    assert time.perf_counter() - start < 10
    assert "Permission Error" in error and "install" not in error


@pytest.mark.parametrize("sql", [
    "COPY ranked TO '{dir}/copy.csv'",
    "COPY (SELECT * FROM ranked) TO '{dir}/copy.parquet' (FORMAT parquet)",
    "ATTACH '{duckdb}' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA enable_profiling",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "EXPORT DATABASE '{dir}/export'",
    "CALL read_text('{txt}')",
    "CREATE TABLE t AS SELECT 1",
    "SELECT 1; SELECT content FROM read_text('{txt}')",
    "SELECT * FROM query('COPY ranked TO ''{dir}/copy2.csv''')",
    "SELECT * FROM enable_profiling(save_location = '{dir}/profile.json')",
])
def test_nothing_but_one_select_runs(viglas, secrets, sql):
    error = one_line_error(viglas("query", "tiny", "--sql", sql.format(**secrets)))
    assert MARKER not in error
    assert not any(Path(secrets["dir"], name).exists()
                   for name in ("copy.csv", "copy.parquet", "export", "copy2.csv", "profile.json"))


@pytest.mark.parametrize("flags, message", [
    (["--where", "1=1 --", "--top", "3"], "--where: SQL comments ('--'"),
    (["--where", "1=1 /* x */", "--top", "3"], "--where: SQL comments ('/*'"),
    (["--sort", "rank --", "--top", "3"], "--sort: SQL comments"),
    (["--where", "1=1) UNION (SELECT 1", "--top", "3"], "--where: unbalanced ')'"),
    (["--where", "(1=1", "--top", "3"], "--where: unbalanced '('"),
    (["--where", "1=1; SELECT 1"], "--where: ';' is not allowed"),
    (["--sort", "rank LIMIT 100", "--top", "3"], "bad SQL"),
    (["--sort", "rank LIMIT 100"], "may not add LIMIT"),
    (["--sort", "rank OFFSET 2"], "may not add LIMIT, OFFSET"),
    (["--sort", "rank OFFSET 2", "--top", "3"], "may not add LIMIT, OFFSET"),
])
def test_flags_cannot_change_the_shape_of_the_query(viglas, flags, message):
    assert message in one_line_error(viglas("query", "tiny", *flags))


def test_a_comment_mark_inside_a_string_is_just_text(viglas):
    result = viglas("query", "tiny", "--where", "formula NOT LIKE '%--%' AND alkali <> '/*'",
                    "--top", "3", "--format", "csv")
    assert result.exit_code == 0 and len(result.output.strip().splitlines()) == 4


def test_top_limits_a_where_with_subqueries_of_the_run_itself(viglas):
    result = viglas("query", "tiny", "--where",
                    "formula IN (SELECT formula FROM features WHERE net_o_per_m > 0)",
                    "--top", "2", "--format", "csv", "--columns", "formula")
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == 3


def test_a_table_file_that_points_outside_the_run_is_refused(viglas, finished_run, secrets,
                                                            tmp_path):
    run = tmp_path / "linked"
    shutil.copytree(finished_run, run)
    (run / "scores.parquet").unlink()
    (run / "scores.parquet").symlink_to(secrets["parquet"])
    error = one_line_error(viglas("query", str(run), "--sql", "SELECT * FROM scores"))
    assert "not a regular file inside the run" in error and MARKER not in error


def test_the_verified_view_is_absent_until_its_file_exists(finished_run, tmp_path):
    run = tmp_path / "with_verified"
    shutil.copytree(finished_run, run)
    assert "verified" in query.VIEWS and "ranked_verified" in query.VIEWS
    with pytest.raises(query.QueryError, match="verified does not exist"):
        query.run_query(run, sql="SELECT * FROM verified")
    store.record_table(run, "verified", pd.DataFrame({"formula": ["LiAlCl2.5O0.75"],
                                                      "sigma_md_log10_S_cm": [-3.1]}))
    table = query.run_query(run, sql="SELECT r.rank, v.sigma_md_log10_S_cm FROM ranked r "
                                     "JOIN verified v USING (formula)")
    assert table.column("sigma_md_log10_S_cm").to_pylist() == [-3.1]
