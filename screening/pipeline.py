"""Run a screen: candidates -> features -> scores -> ranking, partitions executed on Dask.

The candidate table is cut into fixed partitions; each partition is one Dask task that featurizes
and scores it in bulk and writes two part files (features, scores) and a marker with their
checksums. A partition whose parts match their marker is never recomputed, so a killed run
restarted with the same spec resumes where it stopped and ends with the same ranked table; a part
damaged since (truncated, overwritten) is recomputed with a notice (:mod:`screening.rundir` checks
and repairs the directory first). At the end the score parts are concatenated and ranked, the final
files are recorded in the run's manifest and the feature parts become the ``features.parquet``
dataset as they are.

Each partition is featurized once, by the spec's featurizers plus any a scorer reads that the spec
does not list, and every scorer reads that one feature frame (:class:`Toolkit`).

Everything that can be checked is checked before anything is written: the featurizers and scorers
load, every filter value has the kind its column declares (a feature is a float, a score column
what its scorer declares), the scheduler answers, the candidates enumerate within
``max_candidates``, the run directory is free (it is locked for the run) and holds no other spec,
and every featurizer and scorer works on one candidate.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dask.distributed import Client, as_completed
from matminer.featurizers.base import BaseFeaturizer
from tqdm.auto import tqdm

from candidates.joins import enumerate_join
from candidates.space import dedupe, enumerate_space, explicit_rows
from featurizers.registry import FeaturizerError, featurize_formulas, load_featurizer
from screening import ranking, store
from screening.cluster import ClusterError, LazyClient, check_scheduler, keep_freed_memory
from screening.errors import one_line
from screening.rundir import RunError, prepare_run_dir, write_spec
from screening.runlock import run_lock
from screening.scorers import ScorerError, load_scorer
from screening.scorers.base import OUTPUT_KINDS, Scorer
from screening.spec import RunSpec, SpecError, check_filter_kinds


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

    @classmethod
    def build(cls, featurizer_refs: Sequence[str], scorers: Sequence[Scorer]) -> Toolkit:
        """The featurizers ``featurizer_refs``, then each featurizer a scorer reads
        (``Scorer.features``) that is not among them: one whose labels are all produced already
        is not added again, so every column is computed once."""
        for scorer in scorers:
            odd = [c for c, kind in scorer.output_kinds().items() if kind not in OUTPUT_KINDS]
            if odd:
                raise ScorerError(f"scorer {scorer.name!r}: output {odd[0]!r} declares no kind "
                                  f"of float, bool or str")
        featurizers = [(ref, load_featurizer(ref)) for ref in featurizer_refs]
        for ref in (ref for scorer in scorers for ref in scorer.features):
            produced = {label for _, f in featurizers for label in f.feature_labels()}
            featurizer = load_featurizer(ref)
            if not set(featurizer.feature_labels()) <= produced:
                featurizers.append((ref, featurizer))
        return cls(tuple(featurizers), tuple(scorers))

    def output_kinds(self) -> dict[str, type]:
        """Column -> kind of value of every feature (float) and every declared score column."""
        kinds: dict[str, type] = {label: float for _, featurizer in self.featurizers
                                  for label in featurizer.feature_labels()}
        for scorer in self.scorers:
            kinds |= scorer.output_kinds()
        return kinds

    def score(self, formulas: Sequence[str], temperature_K: float
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Features (``formula`` then every featurizer's columns) and scores (``formula`` then
        every scorer's outputs) of plain formulas; each featurizer runs once and every scorer
        reads the same feature frame."""
        formulas = list(formulas)  # scorers and featurizers are promised a plain sequence
        features = featurize_formulas(self.featurizers, formulas)
        features.insert(0, "formula", formulas)
        scores = pd.DataFrame({"formula": formulas})
        for scorer in self.scorers:
            scores = scores.join(_checked(scorer, scorer.score(features, temperature_K),
                                          len(formulas)))
        return features, scores


def _checked(scorer: Scorer, scores: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    """``scores`` if it holds the declared outputs for ``n_rows`` rows, else a ScorerError."""
    if list(scores.columns) != list(scorer.outputs) or len(scores) != n_rows:
        raise ScorerError(f"scorer {scorer.name!r} returned columns {list(scores.columns)} for "
                          f"{len(scores)} rows; it declares {list(scorer.outputs)} for {n_rows}")
    return scores.reset_index(drop=True)


def load_toolkit(spec: RunSpec) -> Toolkit:
    """Instantiate the spec's scorers and featurizers (plus those the scorers read) and check
    every filter against the columns' declared kinds; bad references raise :class:`SpecError`."""
    try:
        scorers = tuple(load_scorer(ref, spec.scorer_options.get(ref)) for ref in spec.scorers)
    except ScorerError as exc:
        raise SpecError(f"{spec.source}: {exc}") from exc
    for scorer in scorers:
        module = sys.modules[type(scorer).__module__]
        if not module.__name__.startswith("screening."):
            # A plug-in travels by value, as plug-in featurizers do: workers need not import it.
            cloudpickle.register_pickle_by_value(module)
    try:
        toolkit = Toolkit.build(spec.featurizers, scorers)
    except FeaturizerError as exc:
        raise SpecError(f"{spec.source}: featurizers: {exc}") from exc
    check_filter_kinds(spec, toolkit.output_kinds())
    return toolkit


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
    keep_freed_memory()  # once per process: a Dask worker's malloc settings fault every array
    return _unpack(toolkit_blob).score(formulas, temperature_K)


def score_partition_to_files(formulas: Sequence[str], toolkit_blob: bytes, temperature_K: float,
                             out_dir: Path, index: int) -> int:
    """Score one partition and write its part files from the worker; returns the row count.

    Used on a LocalCluster, whose workers share the client's disk: the client then neither
    receives the feature matrix nor writes it, which on a few cores would make it the bottleneck.
    """
    features, scores = score_partition(formulas, toolkit_blob, temperature_K)
    store.write_partition(out_dir, index, features, scores)
    return len(features)


def _warm_up(toolkit: Toolkit, spec: RunSpec, formula: str) -> None:
    """Featurize and score ``formula`` here, before anything is written.

    This fits or loads every model once, before any worker needs one (on a fresh machine the
    workers then read the on-disk model cache instead of each fitting the same model), and turns
    a scorer or featurizer that cannot work, e.g. with a bad ``scorer_options`` value, into a
    :class:`SpecError` instead of a failure in every partition after the run has started.
    """
    try:
        features, _ = Toolkit(toolkit.featurizers, ()).score([formula], spec.temperature_K)
    except Exception as exc:  # plug-in code: any failure is reported, with its cause chained
        raise SpecError(f"{spec.source}: featurizers: fail on {formula} "
                        f"({one_line(exc)})") from exc
    for ref, scorer in zip(spec.scorers, toolkit.scorers, strict=True):
        try:
            _checked(scorer, scorer.score(features, spec.temperature_K), 1)
        except Exception as exc:  # as above: a scorer's own error, named with its options
            raise SpecError(f"{spec.source}: scorer {ref!r} with options "
                            f"{spec.scorer_options.get(ref, {})} fails on {formula} "
                            f"({one_line(exc)}); check scorer_options.{ref}") from exc


def _write_candidates(candidates: pd.DataFrame, out_dir: Path) -> store.Digest:
    """Write the candidate table and record it in the (incomplete) manifest, so a resumed run
    can tell an intact candidate file from a damaged one."""
    digest = store.write_parquet(candidates, out_dir / "candidates.parquet")
    store.write_manifest(out_dir, {"candidates.parquet": digest}, complete=False)
    return digest


def run_screen(spec: RunSpec, out_dir: Path, scheduler: str | None = None,
               workers: int | None = None, progress: bool = True) -> RunResult:
    """Run (or resume) ``spec`` into ``out_dir``; see the module docstring."""
    start = time.perf_counter()
    out_dir = out_dir.resolve()  # workers may not share the client's working directory
    toolkit = load_toolkit(spec)
    if scheduler:
        try:
            check_scheduler(scheduler)
        except ClusterError as exc:
            raise RunError(str(exc)) from exc
    # Starting a LocalCluster is seconds of waiting for worker processes: it runs in the
    # background while the client enumerates, and closing it runs while the client ranks.
    with (ThreadPoolExecutor(max_workers=2, thread_name_prefix="viglas") as background,
          run_lock(out_dir)):
        cluster = LazyClient(background, scheduler, workers, preload_modules=[__name__])
        if not (store.read_manifest(out_dir) or (False,))[0]:
            cluster.start()
        try:
            candidates, n_duplicates = build_candidates(spec)
            n_ranked, n_resumed = _resume(spec, out_dir, candidates, toolkit, cluster, progress)
        finally:
            cluster.close()
    n_parts = -(-len(candidates) // spec.partition_size)
    return RunResult(out_dir, len(candidates), n_ranked, n_parts, n_resumed,
                     time.perf_counter() - start, n_duplicates)


def _resume(spec: RunSpec, out_dir: Path, candidates: pd.DataFrame, toolkit: Toolkit,
            cluster: LazyClient, progress: bool) -> tuple[int, int]:
    """Under the run's lock: check and repair the directory (:func:`prepare_run_dir`), compute
    the missing partitions and finish; returns the ranked row count and how many partitions were
    resumed."""
    n_parts = -(-len(candidates) // spec.partition_size)
    state = prepare_run_dir(spec, out_dir, n_parts)
    if state.finished:
        return pq.read_metadata(out_dir / "ranked.parquet").num_rows, n_parts
    todo = state.todo
    blob = cloudpickle.dumps(toolkit)
    if todo:
        cluster.start()
        if progress:
            print(f"{spec.name}: loading models (fitted and cached on first use, about 20 s)",
                  file=sys.stderr)
        _warm_up(toolkit, spec, candidates["formula"].iloc[0])
    write_spec(spec, out_dir)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="viglas-candidates") as writer:
        # Nothing reads the candidate file before the end, so it is written meanwhile.
        kept = state.intact.get("candidates.parquet")
        written = writer.submit(_write_candidates, candidates, out_dir) if kept is None else None
        if todo:
            _compute_parts(candidates["formula"].to_numpy(), todo, blob, spec, out_dir,
                           cluster.client(), cluster.scheduler is None, progress)
        cluster.close()
        digest = kept if written is None else written.result()
    return _finish(spec, out_dir, candidates, digest), n_parts - len(todo)


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
                store.write_partition(out_dir, index, *result)
            future.release()
            bar.update()
            submit_next()


def _finish(spec: RunSpec, out_dir: Path, candidates: pd.DataFrame,
            candidates_digest: store.Digest) -> int:
    """Concatenate the score parts, rank, record every final file in the manifest, publish the
    features and drop the parts; returns the ranked row count. Partition i holds candidate rows
    i * size to (i + 1) * size, so the scores line up with ``candidates`` row for row and need no
    join. The manifest is written before the features move: a run killed in between finds its
    features still in ``.parts`` and rebuilds the final files from them."""
    n_parts = -(-len(candidates) // spec.partition_size)
    scores = store.concat_parts([store.part_paths(out_dir, i)[1] for i in range(n_parts)])
    formulas = pa.chunked_array([pa.array(candidates["formula"].to_numpy(), pa.string())])
    if not scores.column("formula").equals(formulas):
        raise RunError(f"the partitions in {out_dir / store.PARTS_DIR} do not match the "
                       f"candidates of {spec.source}; delete {out_dir} and run again")
    table = pd.concat([candidates, scores.drop_columns("formula").to_pandas()], axis=1)
    ranked = ranking.rank(table, spec.objectives, spec.filters, spec.pareto, spec.confidence)
    files = {"candidates.parquet": candidates_digest,
             "scores.parquet": store.write_parquet(scores, out_dir / "scores.parquet"),
             "ranked.parquet": store.write_parquet(ranked, out_dir / "ranked.parquet")}
    files |= {store.features_part(i): store.partition_digest(out_dir, i) for i in range(n_parts)}
    store.write_manifest(out_dir, files, complete=True)
    store.publish_features(out_dir)
    store.remove_parts(out_dir)
    return len(ranked)
