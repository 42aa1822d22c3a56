"""Embedding on a Ray cluster: a Ray Data actor pool, one model per actor.

Texts enter as Arrow tables (article_id, text); each actor loads the same embedder
``newsintel embed`` uses (``make_backend_embedder``) once and encodes the batches it is
given; vectors come back to the driver as Arrow (article_id, model, vector), which
writes them as Parquet for the single DuckDB writer. An actor takes one GPU where the
cluster has GPUs, else CPUs (Ray sets its torch threads to its CPU count).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

# CPUs one CPU actor takes: one model with 4 torch threads encodes about as fast per
# core as more, smaller actors on a node and holds a quarter of the memory.
_CPUS_PER_ACTOR = 4


@dataclass(frozen=True)
class ActorPlan:
    """How many embedding actors, and what each takes."""

    actors: int
    num_cpus: float
    num_gpus: float

    @property
    def device(self) -> str:
        return "cuda" if self.num_gpus else "cpu"


def plan_actors(resources: dict[str, float]) -> ActorPlan:
    """One actor per GPU when the cluster has GPUs; else CPU actors over every CPU."""
    gpus = int(resources.get("GPU", 0))
    cpus = max(int(resources.get("CPU", 1)), 1)
    if gpus:
        return ActorPlan(gpus, 1, 1)
    per_actor = min(_CPUS_PER_ACTOR, cpus)
    return ActorPlan(max(cpus // per_actor, 1), per_actor, 0)


class EmbedActor:
    """Holds one model; called by Ray Data with a batch of (article_id, text)."""

    def __init__(self, model: str, backend: str, device: str, batch_size: int) -> None:
        from newsintel.embed import make_backend_embedder

        self.embedder = make_backend_embedder(model, backend, device=device, batch_size=batch_size)

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        vectors = np.ascontiguousarray(self.embedder.encode(texts), dtype=np.float32)
        dim = vectors.shape[1] if vectors.ndim == 2 and len(vectors) else 0
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        return pa.table(
            {
                "article_id": batch.column("article_id"),
                "vector": pa.FixedSizeListArray.from_arrays(flat, dim)
                if dim
                else pa.array([], pa.list_(pa.float32())),
            }
        )


def embed_tables(
    ray: Any,
    tables: Sequence[pa.Table],
    *,
    model: str,
    backend: str,
    device: str,
    batch_size: int,
) -> tuple[ActorPlan, Iterator[pa.Table]]:
    """(the plan, Arrow batches of article_id and vector) for every row of ``tables``."""
    plan = plan_actors(ray.cluster_resources())
    # Blocks small enough that every actor gets several: one table is one block, and a
    # block goes to one actor, so 10,000 stories on 8 GPUs would otherwise use one.
    total = sum(t.num_rows for t in tables)
    size = max(256, -(-total // (plan.actors * 4)))
    blocks = [t.slice(i, size) for t in tables for i in range(0, t.num_rows, size)]
    dataset = ray.data.from_arrow(blocks or list(tables))
    vectors = dataset.map_batches(
        EmbedActor,
        fn_constructor_kwargs={
            "model": model,
            "backend": backend,
            "device": plan.device if device == "auto" else device,
            "batch_size": batch_size,
        },
        batch_format="pyarrow",
        batch_size=max(batch_size, 256),
        compute=ray.data.ActorPoolStrategy(size=plan.actors),
        num_cpus=plan.num_cpus,
        num_gpus=plan.num_gpus,
    )
    return plan, vectors.iter_batches(batch_format="pyarrow", batch_size=None)
