"""Composition notations of glass papers, parsed into pymatgen ``Composition`` objects.

Accepted forms (nested freely)::

    LiAlCl2.5O0.75  LiV(PO4)F          plain formulas (pymatgen)
    LiAlCl4-75%O    NaAlCl4-60%S       parent + percent O (or S) per centre, 2 halogen out per O in
    0.5Na2O2-TaCl5  Li2S·P2S5          joins with coefficients (missing = 1); separators are
    (LiCl)0.5 (P2O5)0.5                whitespace, ``·``, ``+`` and ``-``
    75Li2S-25P2S5   (Li2O)50 (Al2O3)2 (P2O5)48      mol% joins (coefficients sum to 100)

A ``-`` followed by a number is a join separator only when the first component carries a leading
coefficient too (``75Li2S-25P2S5``); otherwise it is a minus sign (``LiAl-2Cl4``): an error.
A ``+`` or ``-`` needs a component on each side (``Li2O-`` is an error, not ``Li2O``), and every
amount is a finite number above zero: ``Li0Cl``, a 400-digit amount and an amount below what a
formula string keeps (1e-6) are errors, as are parentheses nested deeper than 16 levels.
"""

from __future__ import annotations

import re

from pymatgen.core import Composition, Element

from candidates.chemistry import CHALCOGENS, quiet_missing_electronegativity
from candidates.errors import UserError
from candidates.formula import AMOUNT_DIGITS, format_formula, is_element

# re.ASCII throughout: \d would otherwise read Arabic-Indic and other Unicode digits
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+", re.ASCII)
# an amount and what it belongs to: an element symbol or a closing parenthesis
_AMOUNT = re.compile(r"([A-Z][a-z]*|\))(\d+(?:\.\d+)?|\.\d+)", re.ASCII)
_FORMULA = re.compile(r"[A-Za-z0-9.()]+", re.ASCII)
# possessive: backtracking into runs of digits made a failed match exponential in their length
_FORMULA_TOKENS = re.compile(r"(?:[A-Z][a-z]*+|\d++(?:\.\d++)?+|\.\d++|[()])++",
                             re.ASCII)
_SYMBOL = re.compile(r"[A-Z][a-z]*", re.ASCII)
_BAD_TOKEN = re.compile(r"[^A-Za-z0-9.()\s+\-]+")
_PERCENT = re.compile(
    r"(?P<parent>.+?)\s*[-+]\s*(?P<pct>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*%\s*"
    r"(?P<anion>[A-Z][a-z]?)", re.ASCII
)
# dashes pasted from papers become hyphens, dot-style join marks become spaces, OBELiX's * goes
_TRANSLATION = str.maketrans(
    "\u2010\u2011\u2012\u2013\u2014\u2212\u00b7\u22c5\u2022", "------   ", "*"
)
_SEPARATORS = " +-"
#: Joins whose coefficients add up to this are molar percentages and become fractions.
_PERCENT_TOTAL = 100.0
#: Amounts (and coefficients) above this are refused: they are typing errors, not glasses.
MAX_AMOUNT = 1e6
#: Smallest amount kept: a formula string writes amounts to this resolution and drops the rest.
MIN_AMOUNT = 10.0 ** -AMOUNT_DIGITS
#: Deepest nesting of parentheses read (real notations use three or four levels).
MAX_DEPTH = 16


class NotationError(UserError):
    """A composition string in no notation this module accepts; the message names the bad token."""


def parse_composition(text: str) -> Composition:
    """Parse any accepted notation (see the module docstring) into a ``Composition``.

    Raises :class:`NotationError` naming the input and the bad token for empty input, unknown
    elements, negative amounts, zero totals, unbalanced parentheses or unparseable characters.
    """
    cleaned = " ".join(text.translate(_TRANSLATION).split())
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] and cleaned[0] in "\"'":
        cleaned = cleaned[1:-1].strip()  # CSV cells quoted twice, as in the Liverpool dataset
    if not cleaned:
        raise NotationError(f"empty composition {_short(text)}")
    depth = _depth(cleaned)
    if depth > MAX_DEPTH:
        raise NotationError(f"parentheses nested {depth} deep in {_short(text)}; at most "
                            f"{MAX_DEPTH} levels are read")
    comp = _parse(cleaned, text)
    if comp.num_atoms <= 0:
        raise NotationError(f"zero total amount in {_short(text)}")
    for element, amount in comp.get_el_amt_dict().items():
        if not amount <= MAX_AMOUNT:
            raise NotationError(f"amount {amount:g} of {element} in {_short(text)} is above "
                                f"{MAX_AMOUNT:g}")
        # compared as a formula will write it, so that the formula parses again
        if float(f"{amount:.{AMOUNT_DIGITS}g}") <= MIN_AMOUNT:
            raise NotationError(f"amount {amount:g} of {element} in {_short(text)} is not above "
                                f"{MIN_AMOUNT:g}, the smallest amount a formula keeps")
    return comp


def _depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    return deepest


def _short(text: str) -> str:
    """``repr(text)``, shortened in the middle when it would not fit on a line."""
    return repr(text) if len(text) <= 60 else repr(f"{text[:28]}...{text[-28:]}")


def _amount(number: str, what: str, written: str, source: str) -> float:
    """The value of ``number``, an amount or coefficient (``what``) written ``written`` in
    ``source``; refused unless finite and above zero."""
    shown = repr(written if len(written) <= 16 else f"{written[:12]}...")
    value = float(number)
    if value == 0:
        raise NotationError(f"zero {what} {shown} in {_short(source)}; leave the component out")
    if not value <= MAX_AMOUNT:
        raise NotationError(f"{what} {shown} in {_short(source)} is above {MAX_AMOUNT:g}")
    # pymatgen drops amounts below its tolerance without a word (Li0.<300 zeros>1Cl became Cl),
    # so they are refused here; larger ones below MIN_AMOUNT are refused with their element
    if value < Composition.amount_tolerance:
        raise NotationError(f"{what} {shown} in {_short(source)} is not above {MIN_AMOUNT:g}, "
                            f"the smallest amount a formula keeps")
    return value


def to_formula(comp: Composition) -> str:
    """Plain formula in pymatgen's electronegativity order, unreduced: ``LiAlCl2.5O0.75``."""
    amounts = comp.get_el_amt_dict()
    with quiet_missing_electronegativity():
        formula = comp.formula
    # pymatgen writes tiny amounts as 1e-07: take the symbol, not "everything but the digits"
    order = [_SYMBOL.match(token).group() for token in formula.split()]
    return format_formula([(symbol, amounts[symbol]) for symbol in order])


def normalise(text: str) -> str:
    """Canonical plain formula of any accepted notation: ``to_formula(parse_composition(text))``."""
    return to_formula(parse_composition(text))


def _parse(text: str, source: str) -> Composition:
    percent = _PERCENT.fullmatch(text) if "%" in text else None
    if percent:
        parent = _parse(percent["parent"], source)
        return _substitute(parent, percent["pct"], percent["anion"], source)
    return _parse_join(text, source)


def _substitute(parent: Composition, percent: str, anion: str, source: str) -> Composition:
    """Put ``percent``/100 divalent anions per centre in place of twice as many halogens."""
    if anion not in CHALCOGENS:
        raise NotationError(f"cannot substitute {anion!r} for halogen in {_short(source)} "
                            f"(use {', '.join(CHALCOGENS[:-1])} or {CHALCOGENS[-1]})")
    written = f"'{percent if len(percent) <= 16 else percent[:12] + '...'}%{anion}'"
    amounts = parent.get_el_amt_dict()
    centres = sum(n for el, n in amounts.items() if _is_centre(Element(el)))
    halogens = {el: n for el, n in amounts.items() if Element(el).is_halogen}
    halogen_total = sum(halogens.values())
    added = float(percent) / 100 * centres
    if centres == 0:
        raise NotationError(f"no centre cation to count {written} against in {_short(source)}")
    if added <= MIN_AMOUNT:  # it would vanish from the formula, leaving the parent unchanged
        raise NotationError(f"{written} adds {added:g} {anion} in {_short(source)}, not "
                            f"above {MIN_AMOUNT:g}, the smallest amount a formula keeps")
    if 2 * added > halogen_total + 1e-9:
        raise NotationError(
            f"{written} replaces {2 * added:g} halogen but the parent has"
            f" {halogen_total:g} in {_short(source)}"
        )
    for el, n in halogens.items():
        amounts[el] = n - 2 * added * n / halogen_total
    amounts[anion] = amounts.get(anion, 0.0) + added
    return Composition({el: n for el, n in amounts.items() if n > 1e-9})


def _is_centre(element: Element) -> bool:
    """The network centre M of A M X O: a cation that is not an alkali."""
    return not (element.is_alkali or element.is_halogen or element.is_chalcogen)


def _parse_join(text: str, source: str) -> Composition:
    """Sum the components of a join, turning mol% coefficients into fractions."""
    parts: list[tuple[float, Composition]] = []
    first_has_coefficient = False
    operator = ""  # a '+' or '-' read since the last component, which must be followed by one
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in _SEPARATORS:
            number = _NUMBER.match(text, pos + 1)
            if char == "-" and number and not (parts and first_has_coefficient):
                raise NotationError(f"negative amount {_short('-' + number.group())} in "
                                    f"{_short(source)}")
            if char != " ":
                if not parts or operator:
                    after = f"after {operator!r}" if operator else "with nothing before it"
                    raise NotationError(f"{char!r} {after} in {_short(source)}")
                operator = char
            pos += 1
            continue
        lead = _NUMBER.match(text, pos)
        if lead:
            pos = lead.end()
            if pos == len(text) or not (text[pos] == "(" or text[pos].isupper()):
                raise NotationError(f"coefficient {_short(lead.group())} without a formula in "
                                    f"{_short(source)}")
            first_has_coefficient = first_has_coefficient or not parts
        coefficient, comp, pos = _component(text, pos, source)
        lead_value = _amount(lead.group(), "coefficient", lead.group(), source) if lead else 1.0
        parts.append((coefficient * lead_value, comp))
        operator = ""
    if operator:
        raise NotationError(f"{operator!r} with nothing after it in {_short(source)}")
    if not parts:
        raise NotationError(f"no composition in {_short(source)}")
    total = sum(coefficient for coefficient, _ in parts)
    scale = 1 / _PERCENT_TOTAL if len(parts) > 1 and abs(total - _PERCENT_TOTAL) < 1e-6 else 1.0
    result = Composition()
    for coefficient, comp in parts:
        result += comp * (coefficient * scale)
    return result


def _component(text: str, pos: int, source: str) -> tuple[float, Composition, int]:
    """Read one join component at ``pos``: ``(group)coef`` or a formula; return coef, comp, end."""
    if text.startswith("(", pos):
        close = _matching_paren(text, pos, source)
        trail = _NUMBER.match(text, close + 1)
        end = trail.end() if trail else close + 1
        # a group followed by an element belongs to a formula such as (PO4)2Ca3
        if end == len(text) or text[end] in _SEPARATORS + "(":
            comp = _parse(text[pos + 1 : close].strip(), source)
            amount = _amount(trail.group(), "amount", f"){trail.group()}", source) if trail else 1.0
            return amount, comp, end
    run = _FORMULA.match(text, pos)
    if not run:
        bad = _BAD_TOKEN.match(text, pos)
        token = bad.group() if bad else text[pos]
        raise NotationError(f"cannot parse token {_short(token)} in {_short(source)}")
    return 1.0, _formula(run.group(), source), run.end()


def _matching_paren(text: str, start: int, source: str) -> int:
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise NotationError(f"unbalanced parenthesis '(' in {_short(source)}")


def _formula(formula: str, source: str) -> Composition:
    """Parse one plain or parenthesised formula with pymatgen, after naming-friendly checks."""
    if formula.count("(") != formula.count(")"):
        paren = "(" if formula.count("(") > formula.count(")") else ")"
        raise NotationError(f"unbalanced parenthesis {paren!r} in {_short(source)}")
    if not _FORMULA_TOKENS.fullmatch(formula):
        raise NotationError(f"cannot parse token {_short(formula)} in {_short(source)}")
    for symbol in _SYMBOL.findall(formula):
        if not is_element(symbol):
            raise NotationError(f"unknown element {symbol!r} in {_short(source)}")
    for owner, number in _AMOUNT.findall(formula):
        _amount(number, "amount", owner + number, source)
    try:
        return Composition(formula)
    except ValueError as exc:
        raise NotationError(f"cannot parse token {_short(formula)} in {_short(source)}: "
                            f"{exc}") from exc
