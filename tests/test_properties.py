"""Property-based tests: random notations and random spec edits get a value or a one-line error
of the module's own class, never a traceback."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from candidates.formula import parse_plain
from candidates.notation import MAX_AMOUNT, MIN_AMOUNT, NotationError, normalise, parse_composition
from screening.spec import SpecError, load_spec
from tests.conftest import TINY_SPEC

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

ELEMENTS = ["Li", "Na", "K", "Al", "Ga", "B", "P", "Ta", "Cl", "Br", "I", "F", "O", "S", "Xx", "C"]
AMOUNTS = st.one_of(
    st.just(""),
    st.sampled_from(["0", "0.0", "1", "2.5", ".5", "0.0000001", "1e5", "00", "9" * 40]),
    st.decimals(min_value=0, max_value=2_000_000, places=7, allow_nan=False).map(
        lambda amount: format(amount, "f")),
)
SEPARATORS = st.sampled_from([" ", "-", "+", "·", " - ", "--", "+-", "–", ""])


@st.composite
def formulas(draw: st.DrawFn) -> str:
    """A plain formula, sometimes wrapped in a parenthesised group with an amount."""
    text = "".join(draw(st.sampled_from(ELEMENTS)) + draw(AMOUNTS)
                   for _ in range(draw(st.integers(1, 4))))
    if draw(st.booleans()):
        text = "(" * draw(st.integers(1, 3)) + text + ")" * draw(st.integers(0, 3)) + draw(AMOUNTS)
    return text


@st.composite
def notations(draw: st.DrawFn) -> str:
    """Joins of formulas with coefficients and separators, maybe a percent substitution, maybe
    quoted: the shapes papers write, and their near misses."""
    parts = [draw(AMOUNTS) + draw(formulas()) for _ in range(draw(st.integers(1, 3)))]
    text = draw(SEPARATORS).join(parts) if len(parts) > 1 else parts[0]
    if draw(st.booleans()):
        text += draw(SEPARATORS) + draw(AMOUNTS) + "%" + draw(st.sampled_from(["O", "S", "F", ""]))
    if draw(st.integers(0, 4)) == 0:
        text = draw(SEPARATORS) + text + draw(SEPARATORS)
    return text


def _value_or_one_line_error(text: str) -> None:
    try:
        comp = parse_composition(text)
    except NotationError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert all(MIN_AMOUNT < amount <= MAX_AMOUNT for amount in comp.get_el_amt_dict().values())
    formula = normalise(text)
    assert normalise(formula) == formula  # the written formula reads back as itself
    assert parse_plain(formula)  # and the fast plain-formula parser of every stage takes it


@FAST
@given(notations())
def test_notation_shaped_text_parses_or_fails_in_one_line(text: str) -> None:
    _value_or_one_line_error(text)


@FAST
@given(st.text(alphabet="LiAlClONaSPB()0123456789.%-+ ·–*\"'e\n\t", max_size=40))
def test_any_text_parses_or_fails_in_one_line(text: str) -> None:
    _value_or_one_line_error(text)


BASE = tomllib.loads(TINY_SPEC)
#: Where an edit may land: the spec's own keys, keys it could have, and a misspelt one.
PATHS = [
    ("name",), ("temperature_C",), ("partition_size",), ("featurizers",), ("scorers",),
    ("scorer_options",), ("scorer_options", "conductivity"), ("scorer_options", "cost"),
    ("scorer_options", "conductivity", "n_estimators"), ("space",), ("space", "alkali"),
    ("space", "centres"), ("space", "halogens"), ("space", "o_per_m"), ("space", "a_per_m"),
    ("space", "chalcogens"), ("space", "halogen_mixes"), ("space", "halogen_mix_fractions"),
    ("space", "centre_mixes"), ("space", "centre_mix_fractions"), ("space", "explicit"),
    ("space", "csv"), ("space", "max_candidates"), ("space", "o_per_m", "step"),
    ("joins",), ("rank",), ("rank", "filters"), ("rank", "objectives"), ("rank", "pareto"),
    ("rank", "objectives", "tg_K"), ("rank", "objectives", "tg_K", "low"),
    ("rank", "confidence_k"), ("rank", "out_of_domain"), ("rank", "out_of_domain_factor"),
    ("spcae",), ("space", "alkalis"),
]
SCALARS = st.one_of(
    st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=12), st.sampled_from(["Li", "Cl", "O", "Al", "tg_K < 300", "LiAlCl4-75%O",
                                           "alkali = 'Na'", "max", "exclude", "magpie", "tg"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["start", "stop", "step", "low",
                                                             "high", "Al", "x", "goal"]),
                                            inner, max_size=3)),
    max_leaves=6,
)
ANY_KEY = st.text(alphabet=st.sampled_from("ab_.-[] \n\t;é\x00"), min_size=1, max_size=6)
EDITS = st.lists(st.tuples(st.one_of(st.sampled_from(PATHS), ANY_KEY.map(lambda k: (k,)),
                                     ANY_KEY.map(lambda k: ("space", k))),
                           st.one_of(st.none(), VALUES)),
                 min_size=1, max_size=3)


def _edited(edits: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    """BASE with each ``(path, value)`` applied; None deletes the key."""
    spec = copy.deepcopy(BASE)
    for path, value in edits:
        table = spec
        for key in path[:-1]:
            if not isinstance(table.get(key), dict):
                table[key] = {}
            table = table[key]
        if value is None:
            table.pop(path[-1], None)
        else:
            table[path[-1]] = value
    return spec


@FAST
@given(EDITS)
def test_edited_specs_load_or_fail_in_one_line_naming_the_file(tmp_path: Path, edits) -> None:
    path = tmp_path / "edited.toml"
    path.write_text(tomli_w.dumps(_edited(edits)))
    try:
        spec = load_spec(path)
    except SpecError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
        return
    assert spec.temperature_K > 0 and spec.partition_size >= 1
    assert spec.space is None or spec.space.grid_size() <= spec.space.max_candidates


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_as_a_spec_load_or_fail_in_one_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bytes.toml"
    path.write_bytes(data)
    try:
        load_spec(path)
    except SpecError as exc:
        assert "\n" not in str(exc)
