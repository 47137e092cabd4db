"""Run a screen: candidates -> features -> scores -> ranking, partitions executed on Dask.

The candidate table is cut into fixed partitions; each partition is one Dask task that featurizes
and scores it in bulk and returns two small DataFrames, which the client writes as part files.
A partition whose part files exist is never recomputed, so a killed run restarted with the same
spec resumes where it stopped and ends with the same ranked table.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import cloudpickle
import pandas as pd
import pyarrow.parquet as pq
from dask.distributed import Client, LocalCluster, as_completed
from matminer.featurizers.base import BaseFeaturizer
from tqdm.auto import tqdm

from candidates.joins import enumerate_join
from candidates.space import dedupe, enumerate_space, explicit_rows
from featurizers.registry import FeaturizerError, featurize_formulas, load_featurizer
from screening import ranking, store
from screening.scorers import load_scorer
from screening.scorers.base import Scorer
from screening.spec import RunSpec, SpecError

_VERSIONED = ("viglas-screen", "pymatgen", "matminer", "smact", "dask", "distributed", "pandas",
              "scikit-learn", "pyarrow", "duckdb")


class RunError(ValueError):
    """A run that cannot start or continue (e.g. its directory holds a different spec)."""


@dataclass(frozen=True)
class RunResult:
    """What one ``viglas run`` did."""

    out_dir: Path
    n_candidates: int
    n_ranked: int
    n_partitions: int
    n_resumed: int
    seconds: float
    n_duplicates: int = 0


@dataclass(frozen=True)
class Toolkit:
    """The featurizers and scorers a run uses, shipped once to every Dask worker."""

    featurizers: tuple[tuple[str, BaseFeaturizer], ...]
    scorers: tuple[Scorer, ...]


def load_toolkit(spec: RunSpec) -> Toolkit:
    """Instantiate the spec's featurizers and scorers; bad references raise :class:`SpecError`."""
    try:
        featurizers = tuple((ref, load_featurizer(ref)) for ref in spec.featurizers)
    except FeaturizerError as exc:
        raise SpecError(f"{spec.source}: featurizers: {exc}") from exc
    scorers = tuple(load_scorer(ref, spec.scorer_options.get(ref)) for ref in spec.scorers)
    return Toolkit(featurizers, scorers)


def build_candidates(spec: RunSpec) -> tuple[pd.DataFrame, int]:
    """The spec's grid, explicit compositions and joins, deduplicated by reduced formula;
    returns the table and how many duplicates were dropped."""
    frames = []
    if spec.space is not None:
        frames.append(enumerate_space(spec.space))
    if spec.explicit:
        frames.append(explicit_rows([formula for _, formula in spec.explicit], "explicit"))
    frames += [enumerate_join(join) for join in spec.joins]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        raise SpecError(f"{spec.source}: the space holds no valid candidate")
    unique = dedupe(frame)
    return unique, len(frame) - len(unique)


@lru_cache(maxsize=4)
def _unpack(blob: bytes) -> Toolkit:
    # One toolkit object per worker process, so scorers keep their loaded models across tasks.
    return cloudpickle.loads(blob)


def score_partition(formulas: Sequence[str], toolkit_blob: bytes,
                    temperature_K: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and scores of one partition (module-level so it pickles to Dask workers).

    The toolkit travels as cloudpickle bytes: Dask tries plain pickle first, which would send
    plug-in classes loaded from a file by reference to a module the workers cannot import.
    """
    toolkit = _unpack(toolkit_blob)
    features = featurize_formulas(toolkit.featurizers, formulas)
    features.insert(0, "formula", list(formulas))
    scores = pd.concat([s.score(formulas, temperature_K) for s in toolkit.scorers], axis=1)
    scores.insert(0, "formula", list(formulas))
    return features, scores


@contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Client]:
    """A client on ``scheduler`` if given, else on a LocalCluster of ``workers`` processes."""
    if scheduler:
        with Client(scheduler, timeout="20s") as client:
            yield client
        return
    n_workers = workers or os.cpu_count() or 1
    with (LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                       dashboard_address=None, silence_logs=logging.ERROR) as cluster,
          Client(cluster) as client):
        yield client


def _versions() -> dict[str, str]:
    return {name: version(name) for name in _VERSIONED}


def _open_run_dir(spec: RunSpec, out_dir: Path) -> None:
    spec_file = out_dir / "spec.toml"
    if spec_file.exists():
        old_hash = store.read_toml(spec_file).get("meta", {}).get("content_hash")
        if old_hash != spec.content_hash:
            raise RunError(f"{out_dir} holds a run of a different spec (hash {old_hash}, this "
                           f"spec {spec.content_hash}); use --out DIR or delete {out_dir}")
        store.remove_stale_temporaries(out_dir)
        return
    (out_dir / store.PARTS_DIR).mkdir(parents=True, exist_ok=True)
    meta = {"content_hash": spec.content_hash, "source": str(spec.source),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "versions": _versions()}
    store.write_toml({**spec.resolved, "meta": meta}, spec_file)


def _part_paths(out_dir: Path, index: int) -> tuple[Path, Path]:
    parts = out_dir / store.PARTS_DIR
    return parts / f"features-{index:06d}.parquet", parts / f"scores-{index:06d}.parquet"


def run_screen(spec: RunSpec, out_dir: Path, scheduler: str | None = None,
               workers: int | None = None, progress: bool = True) -> RunResult:
    """Run (or resume) ``spec`` into ``out_dir``; see the module docstring."""
    start = time.perf_counter()
    toolkit = load_toolkit(spec)
    candidates, n_duplicates = build_candidates(spec)
    _open_run_dir(spec, out_dir)
    n_parts = -(-len(candidates) // spec.partition_size)
    ranked_path = out_dir / "ranked.parquet"
    if ranked_path.exists() and not (out_dir / store.PARTS_DIR).exists():
        return RunResult(out_dir, len(candidates), pq.read_metadata(ranked_path).num_rows,
                         n_parts, n_parts, time.perf_counter() - start, n_duplicates)
    if not (out_dir / "candidates.parquet").exists():
        store.write_parquet(candidates, out_dir / "candidates.parquet")
    todo = [i for i in range(n_parts) if not _part_paths(out_dir, i)[1].exists()]
    if todo:
        blob = cloudpickle.dumps(toolkit)
        if progress:
            print(f"{spec.name}: loading models (fitted and cached on first use, about 20 s)",
                  file=sys.stderr)
        # Fit or load every model once here, before any worker starts: on a fresh machine the
        # workers then read the on-disk model cache instead of each fitting the same model.
        score_partition(candidates["formula"].head(1).tolist(), blob, spec.temperature_K)
        _compute_parts(candidates["formula"].tolist(), todo, blob, spec, out_dir, scheduler,
                       workers, progress)
    n_ranked = _finish(spec, out_dir, n_parts)
    return RunResult(out_dir, len(candidates), n_ranked, n_parts, n_parts - len(todo),
                     time.perf_counter() - start, n_duplicates)


def _compute_parts(formulas: list[str], todo: list[int], toolkit_blob: bytes, spec: RunSpec,
                   out_dir: Path, scheduler: str | None, workers: int | None,
                   progress: bool) -> None:
    size = spec.partition_size
    with dask_client(scheduler, workers) as client:
        [shipped] = client.scatter([toolkit_blob], broadcast=True, hash=False)
        # A bounded window of tasks in flight keeps client memory flat for huge spaces.
        window = 2 * max(1, len(client.scheduler_info()["workers"]))
        queue = iter(todo)
        futures = as_completed()
        index_of = {}

        def submit_next() -> None:
            index = next(queue, None)
            if index is not None:
                chunk = formulas[index * size:(index + 1) * size]
                future = client.submit(score_partition, chunk, shipped, spec.temperature_K,
                                       key=f"viglas-{spec.content_hash}-{index}")
                index_of[future.key] = index
                futures.add(future)

        for _ in range(window):
            submit_next()
        with tqdm(total=len(todo), desc=f"{spec.name}: partitions", unit="part",
                  disable=not progress) as bar:
            for future in futures:
                features, scores = future.result()
                features_path, scores_path = _part_paths(out_dir, index_of.pop(future.key))
                store.write_parquet(features, features_path)
                store.write_parquet(scores, scores_path)
                future.release()
                bar.update()
                submit_next()


def _finish(spec: RunSpec, out_dir: Path, n_parts: int) -> int:
    parts = [_part_paths(out_dir, i) for i in range(n_parts)]
    store.concat_parquet([f for f, _ in parts], out_dir / "features.parquet")
    store.concat_parquet([s for _, s in parts], out_dir / "scores.parquet")
    table = pd.read_parquet(out_dir / "candidates.parquet").merge(
        pd.read_parquet(out_dir / "scores.parquet"), on="formula", how="left", validate="1:1")
    ranked = ranking.rank(table, spec.objectives, spec.filters, spec.pareto,
                          spec.confidence)
    store.write_parquet(ranked, out_dir / "ranked.parquet")
    store.remove_parts(out_dir)
    return len(ranked)
