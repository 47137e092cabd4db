"""Run a screen: candidates -> features -> scores -> ranking, partitions executed on Dask.

The candidate table is cut into fixed partitions; each partition is one Dask task that featurizes
and scores it in bulk and writes two part files (features, scores). A partition whose part files
exist is never recomputed, so a killed run restarted with the same spec resumes where it stopped
and ends with the same ranked table. At the end the score parts are concatenated and ranked and
the feature parts become the ``features.parquet`` dataset as they are.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import cloudpickle
import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dask.distributed import Client, LocalCluster, as_completed
from distributed.utils import get_mp_context
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
    if all(f.empty for f in frames):
        raise SpecError(f"{spec.source}: the space holds no valid candidate")
    # A single frame is used as it is: concatenating would copy a million rows for nothing.
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
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
    formulas = list(formulas)  # scorers and featurizers are promised a plain sequence
    features = featurize_formulas(toolkit.featurizers, formulas)
    features.insert(0, "formula", formulas)
    scores = pd.concat([s.score(formulas, temperature_K) for s in toolkit.scorers], axis=1)
    scores.insert(0, "formula", formulas)
    return features, scores


def score_partition_to_files(formulas: Sequence[str], toolkit_blob: bytes, temperature_K: float,
                             out_dir: Path, index: int) -> int:
    """Score one partition and write its part files from the worker; returns the row count.

    Used on a LocalCluster, whose workers share the client's disk: the client then neither
    receives the feature matrix nor writes it, which on a few cores would make it the bottleneck.
    """
    features, scores = score_partition(formulas, toolkit_blob, temperature_K)
    _write_part(features, scores, out_dir, index)
    return len(features)


def start_client(scheduler: str | None, workers: int | None) -> Client:
    """A client on ``scheduler`` if given, else on a new LocalCluster of ``workers`` processes."""
    if scheduler:
        return Client(scheduler, timeout="20s", set_as_default=False)
    return Client(_local_cluster(workers or os.cpu_count() or 1), set_as_default=False)


def _local_cluster(n_workers: int) -> LocalCluster:
    """A LocalCluster of single-threaded worker processes forked from one server process.

    Spawned workers each import pymatgen, matminer and scikit-learn afresh (2 s apiece, competing
    on a small machine with the client's enumeration); a forkserver imports them once. A forked
    worker would see the environment the server started with, so it is given the client's
    current one, except the variables Dask pins per worker (thread counts, malloc settings).
    """
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        if method == "forkserver":
            get_mp_context().set_forkserver_preload(["distributed", "screening.pipeline"])
        pinned = dask.config.get("distributed.nanny.pre-spawn-environ")
        env = {name: value for name, value in os.environ.items() if name not in pinned}
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR, env=env)


def close_client(starting: Future, own_cluster: bool) -> None:
    """Close the client of ``starting`` (a future of :func:`start_client`), and its cluster if
    this run started it; a client that failed to start is left alone."""
    if starting.exception() is not None:
        return
    client = starting.result()
    cluster = client.cluster if own_cluster else None
    client.close()
    if cluster is not None:
        cluster.close()


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


def _write_part(features: pd.DataFrame, scores: pd.DataFrame, out_dir: Path, index: int) -> None:
    # Scores last: a partition is done when both files exist, so a score part alone (what the
    # tests count) always belongs to a finished partition.
    features_path, scores_path = store.part_paths(out_dir, index)
    features_path.parent.mkdir(parents=True, exist_ok=True)
    store.write_parquet(features, features_path, use_dictionary=False)
    store.write_parquet(scores, scores_path)


def _is_done(out_dir: Path, index: int) -> bool:
    return all(path.exists() for path in store.part_paths(out_dir, index))


def run_screen(spec: RunSpec, out_dir: Path, scheduler: str | None = None,
               workers: int | None = None, progress: bool = True) -> RunResult:
    """Run (or resume) ``spec`` into ``out_dir``; see the module docstring."""
    start = time.perf_counter()
    out_dir = out_dir.resolve()  # workers may not share the client's working directory
    toolkit = load_toolkit(spec)
    ranked_path = out_dir / "ranked.parquet"
    finished = ranked_path.exists() and (out_dir / "features.parquet").exists()
    # Starting a LocalCluster is seconds of waiting for worker processes: it runs in the
    # background while the client enumerates, and closing it runs while the client ranks.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="viglas") as background:
        client = None if finished else background.submit(start_client, scheduler, workers)
        try:
            candidates, n_duplicates = build_candidates(spec)
            _open_run_dir(spec, out_dir)
            n_parts = -(-len(candidates) // spec.partition_size)
            if finished:
                store.remove_parts(out_dir)  # left behind if a run was killed while cleaning up
                return RunResult(out_dir, len(candidates), pq.read_metadata(ranked_path).num_rows,
                                 n_parts, n_parts, time.perf_counter() - start, n_duplicates)
            candidates_path = out_dir / "candidates.parquet"
            # Nothing reads the candidate file before the end, so it is written meanwhile.
            written = (background.submit(store.write_parquet, candidates, candidates_path)
                       if not candidates_path.exists() else None)
            todo = [i for i in range(n_parts) if not _is_done(out_dir, i)]
            if todo:
                blob = cloudpickle.dumps(toolkit)
                if progress:
                    print(f"{spec.name}: loading models (fitted and cached on first use, "
                          "about 20 s)", file=sys.stderr)
                # Fit or load every model once here, before any worker needs one: on a fresh
                # machine the workers then read the on-disk model cache instead of each fitting
                # the same model.
                score_partition(candidates["formula"].head(1).tolist(), blob, spec.temperature_K)
                _compute_parts(candidates["formula"].to_numpy(), todo, blob, spec, out_dir,
                               client.result(), scheduler is None, progress)
            if written is not None:
                written.result()
        finally:
            if client is not None:
                background.submit(close_client, client, scheduler is None)
        n_ranked = _finish(spec, out_dir, candidates)
    return RunResult(out_dir, len(candidates), n_ranked, n_parts, n_parts - len(todo),
                     time.perf_counter() - start, n_duplicates)


def _compute_parts(formulas: np.ndarray, todo: list[int], toolkit_blob: bytes, spec: RunSpec,
                   out_dir: Path, client: Client, shared_disk: bool, progress: bool) -> None:
    """Score the ``todo`` partitions on ``client``'s workers, writing each one's part files.

    With ``shared_disk`` (a LocalCluster) the workers write their part files themselves; a remote
    cluster's workers may not see this disk, so they return the frames and the client writes.
    ``formulas`` is an array, not a list: Dask walks a list argument element by element looking
    for nested tasks, which for a million formulas is a second of the client's time.
    """
    size = spec.partition_size
    [shipped] = client.scatter([toolkit_blob], broadcast=True, hash=False)
    # A bounded window of tasks in flight keeps client memory flat for huge spaces.
    window = 2 * max(1, len(client.scheduler_info()["workers"]))
    queue = iter(todo)
    futures = as_completed(loop=client.loop)
    index_of = {}

    def submit_next() -> None:
        index = next(queue, None)
        if index is None:
            return
        chunk = formulas[index * size:(index + 1) * size]
        key = f"viglas-{spec.content_hash}-{index}"
        if shared_disk:
            future = client.submit(score_partition_to_files, chunk, shipped, spec.temperature_K,
                                   out_dir, index, key=key)
        else:
            future = client.submit(score_partition, chunk, shipped, spec.temperature_K, key=key)
        index_of[future.key] = index
        futures.add(future)

    for _ in range(window):
        submit_next()
    with tqdm(total=len(todo), desc=f"{spec.name}: partitions", unit="part",
              disable=not progress) as bar:
        for future in futures:
            result = future.result()
            index = index_of.pop(future.key)
            if not shared_disk:
                _write_part(*result, out_dir, index)
            future.release()
            bar.update()
            submit_next()


def _finish(spec: RunSpec, out_dir: Path, candidates: pd.DataFrame) -> int:
    """Concatenate the score parts, rank, publish the features and drop the parts; returns the
    ranked row count. Partition i holds candidate rows i * size to (i + 1) * size, so the scores
    line up with ``candidates`` row for row and need no join."""
    n_parts = -(-len(candidates) // spec.partition_size)
    scores = store.concat_parquet([store.part_paths(out_dir, i)[1] for i in range(n_parts)],
                                  out_dir / "scores.parquet")
    formulas = pa.chunked_array([pa.array(candidates["formula"].to_numpy(), pa.string())])
    if not scores.column("formula").equals(formulas):
        raise RunError(f"the partitions in {out_dir / store.PARTS_DIR} do not match the "
                       f"candidates of {spec.source}; delete {out_dir} and run again")
    table = pd.concat([candidates, scores.drop_columns("formula").to_pandas()], axis=1)
    ranked = ranking.rank(table, spec.objectives, spec.filters, spec.pareto, spec.confidence)
    store.write_parquet(ranked, out_dir / "ranked.parquet")
    store.publish_features(out_dir)
    store.remove_parts(out_dir)
    return len(ranked)
