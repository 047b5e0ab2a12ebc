"""Vector stores: ingestion throughput (MB/s of extracted text) and BM25 search latency on a
10k-chunk store, through the domain functions (no HTTP), SQLite and — when it answers — PostgreSQL,
side by side in one run.

The corpus is synthetic: words drawn from a Zipf-like distribution over a 20k-word vocabulary,
ten text files chunked at 100 words (no overlap), so the store holds exactly 10,000 chunks.
Queries are three words of middling frequency (the hard case for an inverted index: long
posting lists, every candidate scored).
"""

from __future__ import annotations

import asyncio
import random
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

FILES, CHUNKS_PER_FILE, WORDS_PER_CHUNK = 10, 1_000, 100
VOCABULARY, QUERIES = 20_000, 200
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def _corpus(seed: int = 7) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    vocab = [f"w{i}{''.join(rng.choices('abcdefghij', k=3))}" for i in range(VOCABULARY)]
    weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
    docs = []
    for _ in range(FILES):
        words = rng.choices(vocab, weights, k=CHUNKS_PER_FILE * WORDS_PER_CHUNK)
        lines = [" ".join(words[i : i + 20]) for i in range(0, len(words), 20)]
        docs.append("\n".join(lines))
    middling = vocab[200:5000]
    queries = [" ".join(rng.sample(middling, 3)) for _ in range(QUERIES)]
    return docs, queries


def _pg_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


async def _measure(url: str, tmp: Path, docs: list[str], queries: list[str]) -> dict[str, float]:
    from agentdeck.context import Context, Principal, Services
    from agentdeck.db.migrate import upgrade
    from agentdeck.domain.files import storage, vector_stores
    from agentdeck.domain.identity import admin
    from agentdeck.settings import Settings

    await asyncio.to_thread(upgrade, url)
    settings = Settings(var_dir=tmp, database_url=url, auto_migrate=False)
    services = Services(settings)
    try:
        async with services.db.platform_session() as s:
            user, _ = await admin.ensure_user(
                s, f"bench-{uuid.uuid4().hex[:6]}@example.com", "Correct-Horse-42-battery", 14
            )
            tenant, _ = await admin.add_tenant(s, "Bench", user)
            await s.commit()
        ctx = Context(services=services, principal=Principal("bench", tenant_id=tenant.id, roles=("owner",)))
        store = await vector_stores.create_store(ctx, "bench", None, None, None)
        chunking = {"type": "static", "static": {"max_chunk_size_tokens": WORDS_PER_CHUNK, "chunk_overlap_tokens": 0}}
        text_bytes, started = 0, time.perf_counter()
        for i, doc in enumerate(docs):
            obj = await storage.store_bytes(ctx, f"doc{i}.txt", "text/plain", doc.encode())
            row = await vector_stores.attach_object(ctx, store.id, obj, None, chunking, True)
            assert row.status == "completed", row.last_error
            text_bytes += row.usage_bytes
        ingest_s = time.perf_counter() - started
        for q in queries[:10]:  # warm caches and the planner
            await vector_stores.search(ctx, store.id, q, None, 10, None)
        latencies = []
        for q in queries:
            t0 = time.perf_counter()
            page = await vector_stores.search(ctx, store.id, q, None, 10, None)
            latencies.append((time.perf_counter() - t0) * 1000)
            assert page.data
        latencies.sort()
        return {
            "mb_s": text_bytes / 1e6 / ingest_s,
            "mb": text_bytes / 1e6,
            "p50": statistics.median(latencies),
            "p95": latencies[int(len(latencies) * 0.95) - 1],
        }
    finally:
        await services.close()


async def run() -> None:
    docs, queries = _corpus()
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-files-") as tmp:
        rows.append(
            ("SQLite FTS5 bm25()", await _measure(f"sqlite+aiosqlite:///{tmp}/bench.db", Path(tmp), docs, queries))
        )
        if _pg_up():
            name = f"agentdeck_bench_{uuid.uuid4().hex[:8]}"
            await asyncio.to_thread(
                subprocess.run, ["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True
            )
            try:
                url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
                rows.append(("PostgreSQL tsvector + SQL BM25", await _measure(url, Path(tmp), docs, queries)))
            finally:
                await asyncio.to_thread(
                    subprocess.run,
                    ["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                    capture_output=True,
                )
    base = rows[0][1]
    print(
        f"\nVector stores: {FILES * CHUNKS_PER_FILE:,} chunks of {WORDS_PER_CHUNK} words "
        f"({base['mb']:.1f} MB of text), {QUERIES} three-word queries, top 10"
    )
    print(f"{'backend':34} {'ingest MB/s':>12} {'search p50 ms':>14} {'p95 ms':>8} {'p50 vs SQLite':>14}")
    for name, r in rows:
        print(f"{name:34} {r['mb_s']:12.2f} {r['p50']:14.2f} {r['p95']:8.2f} {r['p50'] / base['p50']:13.2f}x")


if __name__ == "__main__":
    asyncio.run(run())
