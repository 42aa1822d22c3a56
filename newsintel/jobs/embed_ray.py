"""``newsintel embed --engine ray``: stories lacking a vector, embedded on a Ray cluster.

The driver reads the stories in chunks, hands their texts to a Ray Data actor pool
(``scale.embed``), writes each batch of vectors that comes back as a Parquet file
(article id, model, vector) and loads it into DuckDB: the driver stays the single
writer, and vectors are the same as ``newsintel embed`` gives (same embedder, same
article text; batching moves a cosine by less than 1e-4).
"""

from __future__ import annotations

import time
from pathlib import Path

from newsintel.config import Settings
from newsintel.jobs import EmbedReport, NoProgress, Progress, init_db, make_embedder
from newsintel.jobs.publish import publishes
from newsintel.store import open_db

# Stories read from DuckDB per Arrow table handed to Ray: 10,000 texts are a few MB.
_CHUNK_ROWS = 10_000


@publishes
def embed_ray(
    settings: Settings,
    *,
    model: str | None = None,
    ray_address: str | None = None,
    out_dir: Path | None = None,
    progress: Progress | None = None,
) -> EmbedReport:
    """Embed every story without a vector for the model, on Ray (local if no address)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from newsintel.embed import article_text
    from newsintel.scale.cluster import connect
    from newsintel.scale.embed import embed_tables
    from newsintel.store.embeddings import (
        embedding_count,
        ids_missing_embedding,
        save_embeddings,
        texts_for,
        vector_matrix,
    )

    started = time.monotonic()
    progress = progress or NoProgress()
    ray, _dashboard = connect(ray_address)
    name = make_embedder(settings, model).model_name  # lazy: loads no model here
    init_db(settings)
    with open_db(settings.db) as con:
        missing = ids_missing_embedding(con, name)
        already = embedding_count(con, name)
        tables = []
        for begin in range(0, len(missing), _CHUNK_ROWS):
            rows = texts_for(con, missing[begin : begin + _CHUNK_ROWS])
            tables.append(
                pa.table(
                    {
                        "article_id": pa.array([r[0] for r in rows], pa.string()),
                        "text": pa.array([article_text(r[1], r[2]) for r in rows], pa.string()),
                    }
                )
            )
    if not missing:
        return EmbedReport(name, "n/a", 0, already, time.monotonic() - started)
    out = (out_dir or Path(settings.db).resolve().parent / "embed-shards").resolve()
    out.mkdir(parents=True, exist_ok=True)
    plan, batches = embed_tables(
        ray,
        tables,
        model=model or settings.model,
        backend=settings.embed_backend,
        device=settings.device,
        batch_size=settings.embed_batch_size,
    )
    progress.start(f"embedding with {name} on Ray ({plan.actors} actors)", len(missing))
    embedded = 0
    for number, batch in enumerate(batches):
        if not batch.num_rows:
            continue
        shard = out / f"vectors-{number:06d}.parquet"
        table = batch.append_column("model", pa.array([name] * batch.num_rows, pa.string()))
        pq.write_table(table.select(["article_id", "model", "vector"]), shard)
        loaded = pq.read_table(shard)
        with open_db(settings.db) as con:
            save_embeddings(
                con,
                name,
                loaded.column("article_id").to_pylist(),
                vector_matrix(loaded.column("vector")),
            )
        shard.unlink()
        embedded += batch.num_rows
        progress.advance(batch.num_rows)
    progress.finish()
    return EmbedReport(name, plan.device, embedded, already, time.monotonic() - started)
