"""A plug-in featurizer's column feeds a plug-in scorer, whose outputs are filtered and ranked:
the worked example of docs/featurizers.md, run end to end on a LocalCluster."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from screening.pipeline import run_screen
from screening.spec import SpecError, load_spec
from tests.conftest import write_spec

TESTS = Path(__file__).parent
SPEC = """
name = "carriers"
partition_size = 2
featurizers = ["magpie"]
scorers = ["tests.plugin_scorer:CarrierExcess", "cost"]

[scorer_options."tests.plugin_scorer:CarrierExcess"]
target_per_anion = 0.25

[space]
explicit = ["LiAlCl4-75%O", "Li3InCl6", "NaAlCl4", "LiAl"]

[rank]
filters = ["carrier_rich = true"]

[rank.objectives]
carrier_excess = { goal = "max", weight = 1.0, low = 0.0, high = 0.5 }
"""


def test_docs_show_the_plugin_scorer_and_its_spec_verbatim():
    docs = (TESTS.parent / "docs" / "featurizers.md").read_text()
    source = (TESTS / "plugin_scorer.py").read_text().split("\n", 2)[2].lstrip("\n")
    assert source in docs
    assert SPEC.strip() in docs


def test_plugin_featurizer_column_feeds_a_plugin_scorer_that_is_filtered_and_ranked(tmp_path):
    out = tmp_path / "carriers"
    run_screen(load_spec(write_spec(tmp_path, SPEC)), out, workers=1, progress=False)
    # The scorer's featurizer is not in the spec: the run added it, and computed it once.
    features = pd.read_parquet(out / "features.parquet").set_index("formula")
    assert features.loc["LiAlCl2.5O0.75", "alkali_per_anion"] == pytest.approx(1 / 3.25)
    scores = pd.read_parquet(out / "scores.parquet").set_index("formula")
    assert scores.loc["Li3InCl6", "carrier_excess"] == pytest.approx(0.25)
    assert scores.loc["NaAlCl4", "carrier_rich"] == False  # noqa: E712 (a bool, not None)
    assert scores.loc["LiAl", "carrier_rich"] is None  # no anion: the featurizer's NaN
    ranked = pd.read_parquet(out / "ranked.parquet")
    assert ranked["formula"].tolist() == ["Li3InCl6", "LiAlCl2.5O0.75"]
    assert ranked["carrier_excess"].tolist() == pytest.approx([0.25, 1 / 3.25 - 0.25])


def test_a_filter_of_the_wrong_kind_is_refused_from_the_declaration_before_any_work(tmp_path):
    spec = load_spec(write_spec(tmp_path, SPEC.replace("carrier_rich = true",
                                                       "carrier_excess = true")))
    with pytest.raises(SpecError, match="carrier_excess holds numbers"):
        run_screen(spec, tmp_path / "never", workers=1, progress=False)
    assert not (tmp_path / "never").exists()
