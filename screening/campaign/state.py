"""Where a campaign keeps its state, and which of its rounds are complete.

Layout under ``RUN/campaign/``::

    campaign.json      the settings and the digests of the run's tables it started from
    .lock              held while a campaign works on this run
    round-NN/
        picks.parquet    the picks and why: acquisition value, mean, uncertainty
        md.parquet       their MD rows, the estimate read from each, against the prediction
        update.parquet   every MD point the correction has learned from, up to this round
        ranked.parquet   the run's ranked table re-scored with the corrected conductivity
        changes.parquet  the rows whose prediction the round moved, and their ranks
        round.json       written last: the digests of the files above and the round's summary
    report.md          the campaign report

A round is complete when ``round.json`` exists and every file matches its digest; the first
round that is not is recomputed from its picks, which are deterministic.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from screening import store
from screening.atomic import write_text
from screening.campaign import CampaignError
from screening.campaign.learn import LENGTH_SCALE
from screening.campaign.pick import ACQUISITIONS

CAMPAIGN_DIR = "campaign"
SETTINGS = "campaign.json"
MARKER = "round.json"
ROUND_TABLES = ("picks", "md", "update", "ranked", "changes")
#: The ``viglas query`` view of each round table: every complete round, with its ``round``.
VIEWS = {f"campaign_{table}": table for table in ("picks", "md", "ranked", "changes")}


@dataclass(frozen=True)
class Settings:
    """What a campaign does each round; fixed for its life (``rounds`` may grow)."""

    batch: int
    acquisition: str = "ucb"
    kappa: float = 2.0
    protocol: str = "quick"
    potential: str = "chgnet"
    glass_formers_only: bool = True
    length_scale: float = LENGTH_SCALE
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`CampaignError` for a value no campaign can use."""
        if self.batch < 1:
            raise CampaignError(f"--batch must be at least 1, got {self.batch}")
        if self.acquisition not in ACQUISITIONS:
            raise CampaignError(f"--acquisition {self.acquisition!r} is unknown; use one of "
                                f"{', '.join(ACQUISITIONS)}")
        if not (math.isfinite(self.kappa) and self.kappa >= 0):
            raise CampaignError(f"--kappa must be a finite number >= 0, got {self.kappa}")
        if not (math.isfinite(self.length_scale) and self.length_scale > 0):
            raise CampaignError(f"length_scale must be > 0, got {self.length_scale}")


def campaign_dir(run_dir: Path) -> Path:
    """The campaign directory of a run."""
    return run_dir / CAMPAIGN_DIR


def round_dir(run_dir: Path, index: int) -> Path:
    """The directory of round ``index`` (1-based)."""
    return campaign_dir(run_dir) / f"round-{index:02d}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def start(run_dir: Path, settings: Settings) -> None:
    """Record ``settings`` and the run's table digests, or check them against a campaign
    already started here (a changed setting or a re-screened run is refused)."""
    manifest = store.read_manifest(run_dir)
    if manifest is None or not store.is_complete(run_dir):
        raise CampaignError(f"{run_dir} is not a finished run (see `viglas runs`); finish it "
                            "with `viglas run` first")
    tables = {name: manifest[1].get(name) for name in ("scores.parquet", "ranked.parquet")}
    wanted = {"settings": asdict(settings), "run": tables}
    path = campaign_dir(run_dir) / SETTINGS
    found = _read_json(path)
    if found is None:
        write_text(path, json.dumps(wanted, indent=1))
        return
    for key, value in wanted["settings"].items():
        old = found.get("settings", {}).get(key)
        if old != value:
            raise CampaignError(f"the campaign in {campaign_dir(run_dir)} was started with "
                                f"{key} {old!r}, not {value!r}; repeat its settings to continue "
                                "it, or delete that directory to start another")
    if found.get("run") != tables:
        raise CampaignError(f"{run_dir} was screened again after its campaign started; delete "
                            f"{campaign_dir(run_dir)} to start a campaign on the new tables")


def complete_rounds(run_dir: Path) -> list[dict[str, Any]]:
    """The markers of the complete rounds, in order, up to the first that is not."""
    markers = []
    index = 1
    while True:
        directory = round_dir(run_dir, index)
        marker = _read_json(directory / MARKER)
        files = (marker or {}).get("files", {})
        if marker is None or set(files) != {f"{t}.parquet" for t in ROUND_TABLES} or any(
                store.damage(directory / name, digest) for name, digest in files.items()):
            return markers
        markers.append(marker)
        index += 1


def finish_round(run_dir: Path, index: int, files: dict[str, store.Digest],
                 summary: dict[str, Any]) -> None:
    """Write round ``index``'s marker: it is complete from here on."""
    write_text(round_dir(run_dir, index) / MARKER,
               json.dumps({"round": index, "files": files, "summary": summary}, indent=1))


def view_tables(run_dir: Path) -> dict[str, list[str]]:
    """``{view: [table path relative to the run, without .parquet]}`` for the campaign views
    of ``viglas query`` (complete rounds only; empty without a campaign)."""
    n = len(complete_rounds(run_dir)) if campaign_dir(run_dir).is_dir() else 0
    prefix = f"{CAMPAIGN_DIR}/round-"
    return {view: [f"{prefix}{i:02d}/{table}" for i in range(1, n + 1)]
            for view, table in VIEWS.items()} if n else {}
