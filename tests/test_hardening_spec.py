"""Issue 22, the input cases: specs, CSVs, notations and command-line options. Each case of the
issue that reads input answers with one line and exit status 2 before anything is written, or
with the right result; the test names carry the case numbers."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymatgen.core import Element

from candidates.chemistry import NO_ELECTRONEGATIVITY, element
from candidates.errors import format_count
from candidates.notation import NotationError, normalise
from candidates.space import enumerate_space
from screening import cli
from screening.cli import main
from screening.errors import SpecError
from screening.spec import DEFAULT_VALENCES, load_spec
from tests.conftest import TINY_SPEC, one_line_error, write_spec

HAS_MD = all(importlib.util.find_spec(name) for name in ("torch", "ase", "chgnet"))


def _refused(tmp_path: Path, text: str, *args: str) -> str:
    """The one-line error of ``viglas run`` on a spec of ``text``, after checking that the run
    directory was not created."""
    spec = write_spec(tmp_path, text)
    out = tmp_path / "out"
    error = one_line_error(CliRunner().invoke(main, ["run", str(spec), "--out", str(out),
                                                     "--quiet", *args]))
    assert not out.exists()
    return error


def _spec(old: str, new: str) -> str:
    assert old in TINY_SPEC
    return TINY_SPEC.replace(old, new)


# case 4 -----------------------------------------------------------------------------------------

def test_case4_a_grid_without_centres_takes_the_default_centres_beside_explicit(tmp_path):
    spec = load_spec(write_spec(tmp_path, '[space]\nalkali = ["Li"]\nhalogens = ["Cl"]\n'
                                          'o_per_m = [0.0, 0.5]\nexplicit = ["LiAlCl4-75%O"]\n'))
    assert dict(spec.space.centres) == DEFAULT_VALENCES
    grid = enumerate_space(spec.space)
    # 10 default centres x 2 oxygen contents, each a SMACT-valid class (was: an empty grid)
    assert len(grid) == 20
    assert {"LiAlCl4", "LiAlCl3O0.5", "LiTaCl6", "LiZrCl4O0.5"} <= set(grid["formula"])
    assert spec.explicit == (("LiAlCl4-75%O", "LiAlCl2.5O0.75"),)


# case 6 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mixes, message", [
    ('[["Cl", "Cl"]]', "space: halogen_mixes: ['Cl', 'Cl'] mixes Cl with itself"),
    ('[["Cl", "Br"], ["Br", "Cl"]]', "space: halogen_mixes: ['Br', 'Cl'] is listed twice"),
])
def test_case6_a_halogen_mix_of_one_element_or_listed_twice_is_refused(tmp_path, mixes, message):
    error = _refused(tmp_path, _spec('halogens = ["Cl"]',
                                     f'halogens = ["Cl"]\nhalogen_mixes = {mixes}'))
    assert message in error


# case 9 -----------------------------------------------------------------------------------------

def test_case9_a_device_file_as_csv_is_refused_before_it_is_read(tmp_path):
    # Refused by file type before a byte is read (it read 21.7 GB before the OOM killer came).
    error = _refused(tmp_path, _spec("[space]", '[space]\ncsv = "/dev/zero"'))
    assert "space.csv: cannot read '/dev/zero' (not a regular file" in error


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_case9_a_pipe_as_csv_is_refused_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    error = _refused(tmp_path, _spec("[space]", '[space]\ncsv = "pipe.csv"'))
    assert "pipe.csv' (not a regular file" in error


def test_case9_a_csv_above_its_size_cap_is_refused_with_the_key_to_raise(tmp_path):
    (tmp_path / "big.csv").write_text("composition\n" + "LiAlCl4\n" * 2000)  # 16 kB
    error = _refused(tmp_path, _spec("[space]", '[space]\ncsv = "big.csv"\ncsv_max_MB = 0.01'))
    assert "big.csv is larger than csv_max_MB = 0.01 MB; raise space.csv_max_MB" in error
    spec = load_spec(write_spec(tmp_path, '[space]\ncsv = "big.csv"\ncsv_max_MB = 0.02\n'))
    assert len(spec.explicit) == 2000


def test_case9_csv_rows_count_against_max_candidates(tmp_path):
    (tmp_path / "rows.csv").write_text("composition\nLiCl\nNaCl\nKCl\n")
    error = _refused(tmp_path, '[space]\nexplicit = ["LiAlCl4"]\ncsv = "rows.csv"\n'
                               'max_candidates = 3\n')
    assert "space.max_candidates:" in error and "rows.csv lists more than 2 compositions" in error


# case 10 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    (_spec("[space]", '[space]\ncsv = "a\\u0000b"'),
     "space.csv: cannot read '"),
    ("x = " + "[" * 2000 + "]" * 2000 + "\n" + TINY_SPEC, "arrays or tables nested too deeply"),
    (_spec('featurizers = ["magpie", "oxyhalide_network"]', 'featurizers = ["/etc/passwd:X"]'),
     "featurizers: featurizer '/etc/passwd:X': '/etc/passwd' is not a Python file"),
    (_spec('centres = ["Al", "Ga"]', "centres = { He = 2 }"),
     "space: centres: 'He' forms no cation"),
])
def test_case10_spec_inputs_that_raised_tracebacks_are_one_line(tmp_path, text, message):
    assert message in _refused(tmp_path, text)


def test_case10_a_huge_worker_count_is_refused_before_anything_is_written(tmp_path):
    error = _refused(tmp_path, TINY_SPEC, "--workers", "99999999999999999999")
    most = cli.WORKERS_PER_CORE * (os.cpu_count() or 1)
    assert f"'--workers': 99999999999999999999 is not in the range 1 to {most}" in error
    error = _refused(tmp_path, TINY_SPEC, "--workers", "9" * 400)
    assert "(400 characters) is not in the range" in error and len(error) < 300


def _bare_run(tmp_path: Path) -> Path:
    """A run directory as ``resolve_run`` finds one: what verify reads before it checks its
    arguments is only the spec."""
    run = tmp_path / "results" / "bare"
    run.mkdir(parents=True)
    (run / "spec.toml").write_text('name = "bare"\n')
    return run


@pytest.mark.skipif(not HAS_MD, reason="needs the md extra")
@pytest.mark.parametrize("args, message", [
    (["--scheduler", "tcp://127.0.0.1:1"], "no Dask scheduler answers at 'tcp://127.0.0.1:1'"),
    (["--potential", "nope"], "potential 'nope': unknown; use one of"),  # case 12
])
def test_case10_12_verify_checks_scheduler_and_potential_before_writing(tmp_path, monkeypatch,
                                                                        args, message):
    run = _bare_run(tmp_path)
    monkeypatch.setenv("VIGLAS_RESULTS", str(run.parent))
    # The probe answers before a Client is made (which waited 20 s, then a traceback).
    error = one_line_error(CliRunner().invoke(main, ["verify", "bare", "--top", "1", *args]))
    assert message in error
    assert sorted(p.name for p in run.iterdir()) == ["spec.toml"]  # no lock, no md/meta.json


# case 12 ----------------------------------------------------------------------------------------

@pytest.mark.skipif(not HAS_MD, reason="needs the md extra")
def test_case12_a_claim_that_holds_no_md_does_not_block_a_later_potential(tmp_path):
    from screening.md import verify
    from screening.md.protocol import get_protocol

    quick = get_protocol("quick")
    directory = tmp_path / "md" / "quick" / "LiAlCl4"
    directory.mkdir(parents=True)
    (directory / "meta.json").write_text(json.dumps({"potential": "nope"}))  # an old bad claim
    verify.claim(directory, "LiAlCl4", quick, "chgnet")
    assert json.loads((directory / "meta.json").read_text())["potential"] == "chgnet"
    (directory / "r0").mkdir()  # now it holds MD: another potential must not mix into it
    with pytest.raises(verify.VerifyError, match="holds MD with potential 'chgnet'"):
        verify.claim(directory, "LiAlCl4", quick, "sevennet")


@pytest.mark.skipif(not HAS_MD, reason="needs the md extra")
def test_case12_campaign_refuses_an_unknown_potential_by_name(tmp_path, monkeypatch):
    run = _bare_run(tmp_path)
    monkeypatch.setenv("VIGLAS_RESULTS", str(run.parent))
    error = one_line_error(CliRunner().invoke(main, ["campaign", "bare", "--rounds", "1",
                                                     "--batch", "1", "--potential", "nope"]))
    assert "potential 'nope': unknown; use one of" in error
    assert sorted(p.name for p in run.iterdir()) == ["spec.toml"]


# case 14 ----------------------------------------------------------------------------------------

SECRET = "s3cr3tHASHvalue"


@pytest.mark.parametrize("content, column, message", [
    (f"root:$6${SECRET}:19000:0:99999:7:::\n", "composition",
     "space.csv_column: {csv} has no column 'composition' in its first line"),
    (f"composition\nLiCl\n{SECRET}:x\n", "composition",
     "space.csv: {csv}: line 3: column 'composition' is not a composition in an accepted "
     "notation (cannot parse token)"),
    (f"composition\nLiCl\nLiQqCl4{SECRET}\n", "composition",
     "space.csv: {csv}: line 3: column 'composition' is not a composition in an accepted "
     "notation (cannot parse token)"),
    ("composition\nLiCl\nLiQqCl4\n", "composition",
     "space.csv: {csv}: line 3: column 'composition' is not a composition in an accepted "
     "notation (unknown element)"),
    (b"composition\nLiCl\n\xff" + SECRET.encode() + b"\n", "composition",
     "space.csv: {csv}: line 3 is not UTF-8 text"),
])
def test_case14_csv_errors_give_file_and_line_but_never_its_text(tmp_path, content, column,
                                                                 message):
    csv = tmp_path / "private.csv"
    if isinstance(content, bytes):
        csv.write_bytes(content)
    else:
        csv.write_text(content)
    error = _refused(tmp_path, f'[space]\ncsv = "private.csv"\ncsv_column = "{column}"\n')
    assert message.format(csv=csv) in error
    assert SECRET not in error and "Qq" not in error and "$6$" not in error


# case 15 ----------------------------------------------------------------------------------------

def test_case15_a_byte_order_mark_starts_a_spec_or_a_csv(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeffcomposition\nLiCl\nNaAlCl4-75%O\n".encode())
    path = tmp_path / "bom.toml"
    path.write_bytes('\ufeffname = "bom"\n[space]\ncsv = "bom.csv"\n'.encode())
    spec = load_spec(path)
    assert spec.name == "bom"
    assert [formula for _, formula in spec.explicit] == ["LiCl", "NaAlCl2.5O0.75"]


@pytest.mark.parametrize("text", [
    "LiAlCl4-" + "9" * 400 + "%O",
    "LiAlCl4-0." + "0" * 400 + "1%O",
    "Li" + "0." + "0" * 300 + "1Cl",  # was read as Cl: pymatgen dropped the Li
    "(LiCl)" + "9" * 300,
    "Li" * 5000 + "-",
])
def test_case15_messages_about_huge_inputs_stay_short(text):
    with pytest.raises(NotationError) as info:
        normalise(text)
    message = str(info.value)
    assert len(message) < 240 and not re.search(r"\d{40}", message), message


def test_case15_a_huge_grid_size_is_written_as_a_power_of_ten(tmp_path):
    error = _refused(tmp_path, _spec("o_per_m = [0.0, 0.5, 0.75, 1.0]",
                                     "o_per_m = { start = 0.0, stop = 1.0, step = 1e-300 }"))
    assert "the grid has 4.0e+300 points, above max_candidates = 5,000,000" in error
    error = _refused(tmp_path, '[[joins]]\nend_members = ["LiCl", "AlCl3"]\nstep = 1e-300\n')
    assert "joins[0].step: step 1e-300 gives 1.0e+300 mixtures" in error
    assert format_count(10**16725 + 1) == "1.0e+16725" and format_count(12345) == "12,345"


def test_case15_a_file_deleted_mid_run_is_reported_as_missing_not_as_a_write(tmp_path):
    with pytest.raises(FileNotFoundError) as info:  # what reading a deleted part raises
        pq.read_table(tmp_path / ".parts" / "scores-000000.parquet")
    message = str(cli._os_error(info.value, tmp_path))
    assert "scores-000000.parquet went missing while the run worked" in message
    assert "cannot write" not in message


def test_case15_substituting_a_halogen_names_every_accepted_chalcogen():
    with pytest.raises(NotationError, match=r"\(use O, S, Se or Te\)"):
        normalise("LiAlCl4-75%F")
    assert normalise("LiAlCl4-75%Se") == "LiAlSe0.75Cl2.5"


# case 16 ----------------------------------------------------------------------------------------

def test_case16_pymatgens_electronegativity_warning_is_not_printed():
    Element("He").__dict__.pop("X", None)  # as in a fresh process
    element.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert normalise("LiHe") == "LiHe"
        result = CliRunner().invoke(main, ["predict", "LiHe", "NaXeCl", "--json"])
    assert result.exit_code == 0, result.output
    assert not [w for w in caught if NO_ELECTRONEGATIVITY in str(w.message)]
    assert NO_ELECTRONEGATIVITY not in result.output


# case 17 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["predict", "LiAlCl4", "--temperature", "1e30"],
     "--temperature: 1e+30 C is above 1000 C, where every glass screened here has melted"),
    (["predict", "LiAlCl4", "--temperature", "1000.5"], "from -273.15 C (exclusive) to 1000 C"),
    (["predict", "LiAlCl4-0.0000001%O"], "adds 1e-09 O"),  # was dropped, leaving LiAlCl4
    (["predict", "LiAlCl4-0.00001%O"], "adds 1e-07 O"),
    (["predict", "LiAlCl4-1e-5%O"], "'1e-5%O' adds 1e-07 O"),
    (["predict", "LiAlCl4-1e400%O"], "'1e400%O' replaces inf halogen but the parent has 4"),
])
def test_case17_absurd_temperatures_and_vanishing_amounts_are_refused(args, message):
    assert message in one_line_error(CliRunner().invoke(main, args))


def test_case17_the_smallest_substitution_a_formula_keeps_is_accepted():
    assert normalise("LiAlCl4-0.001%O") == "LiAlCl3.99998O0.00001"


O_PER_M = "o_per_m = [0.0, 0.5, 0.75, 1.0]"


@pytest.mark.parametrize("old, new, message", [
    ("temperature_C = 25.0", "temperature_C = 5000.0", "temperature_C: 5000 C is above 1000 C"),
    (O_PER_M, f"{O_PER_M}\na_per_m = [1e300]",  # wrote 300-digit formulas
     "space: a_per_m: 1e+300 alkali atoms per centre; give 1e-06 to 10"),
    (O_PER_M, f"{O_PER_M}\na_per_m = [0.0]",  # wrote AlCl3 labelled alkali Li
     "space: a_per_m: 0 alkali atoms per centre; give 1e-06 to 10"),
    (O_PER_M, "o_per_m = [0.0, 1e-9]",
     "space: o_per_m: 1e-09 chalcogen atoms per centre; give 0 or 1e-06 to 10"),
    (O_PER_M, "o_per_m = [0.0, 11.0]", "space: o_per_m: 11 chalcogen atoms per centre"),
])
def test_case17_amounts_and_temperatures_outside_a_glass_are_refused(tmp_path, old, new,
                                                                     message):
    assert message in _refused(tmp_path, _spec(old, new))


def test_case17_max_candidates_caps_explicit_rows_too(tmp_path):
    error = _refused(tmp_path, '[space]\nmax_candidates = 1\nexplicit = ["LiCl", "NaCl"]\n')
    assert "space.max_candidates: explicit lists 2 compositions, above max_candidates = 1" in error
    error = _refused(tmp_path, _spec("[space]", "[space]\nmax_candidates = 16"))
    assert "the grid has 16 points and 2 listed compositions, above max_candidates = 16" in error
    spec = load_spec(write_spec(tmp_path, '[space]\nmax_candidates = 2\n'
                                          'explicit = ["LiCl", "NaCl"]\n'))
    assert spec.space is None and len(spec.explicit) == 2


def _fail_in_a_worker(formula: str) -> None:
    raise ValueError(f"cannot featurize {formula}")


@pytest.mark.slow  # a LocalCluster
def test_case16_a_failed_task_is_reported_once_by_the_client_not_dumped_by_the_worker(capfd):
    from screening.cluster import dask_client

    with dask_client(None, 1) as client:
        with pytest.raises(ValueError, match="cannot featurize LiHe"):
            client.submit(_fail_in_a_worker, "LiHe").result()
        client.run(lambda: logging.getLogger("distributed.worker").error("still heard"))
    err = capfd.readouterr().err
    assert "Compute Failed" not in err and "cannot featurize" not in err
    assert "still heard" in err  # the worker's other messages pass


@pytest.mark.parametrize("text, message", [
    ("[space]\ncentres = { Al = " + "9" * 400 + " }\n",
     "space.centres.Al: a valence is a whole number from 1 to 8, got 9999999999...(400 digits)"),
    ("[space]\nmax_candidates = -" + "9" * 400 + "\n",
     "space.max_candidates: must be at least 1, got -1.0e+400"),
    ("[space]\nexplicit = [" + ", ".join(["1"] * 3000) + "]\n",
     "space.explicit: expected a list of strings, got [1, 1, 1"),
])
def test_case15_huge_values_in_a_spec_make_short_messages(tmp_path, text, message):
    error = _refused(tmp_path, text)
    assert message in error and len(error) < 400


CELL = st.text(st.characters(codec="utf-8", exclude_characters=',"\r\n\x00'), min_size=8,
               max_size=40).filter(lambda text: text.strip() == text)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell=CELL)
def test_case14_no_csv_cell_is_ever_echoed(tmp_path, cell):
    (tmp_path / "cells.csv").write_text(f"composition\nLiCl\n{cell}\n", encoding="utf-8")
    try:
        spec = load_spec(write_spec(tmp_path, '[space]\ncsv = "cells.csv"\n'))
    except SpecError as exc:
        assert "cells.csv: line 3: column 'composition'" in str(exc)
        assert cell not in str(exc)
    else:  # the cell is a composition after all
        assert spec.explicit[1][0] == cell


@pytest.mark.parametrize("old, new, key", [
    ('centres = ["Al", "Ga"]', "centres = []", "centres"),
    ('alkali = ["Li", "Na"]', "alkali = []", "alkali"),
    ('halogens = ["Cl"]', "halogens = []", "halogens"),
])
def test_case4_an_empty_grid_axis_is_refused_not_dropped_beside_explicit(tmp_path, old, new, key):
    error = _refused(tmp_path, _spec(old, new))
    assert f"space.{key}: lists nothing, so the grid is empty" in error
