"""Workflows: orchestration overhead of a run, beyond the model's own time.

In-process (ASGI, offline model with no delay), side by side in one run:
- a chat turn (`POST /api/v1/chat`): one agent loop, the baseline;
- a 3-step sequential run (`POST /api/v1/workflows/bench_three/run`, a bench-only spec:
  researcher → code_assistant → researcher);
- the shipped `analysis_parallel` (two concurrent branches, then a synthesis step).

The model's own time is measured inside the model (time spent producing its events), and
subtracted from the request's wall time; what remains is persistence, stream bookkeeping, the
task hand-off and the transport: the orchestration overhead.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from bench.asgi import call
from bench.chat import JSON, _register, offline_app

RUNS = 40


class TimedModel:
    """Wraps the configured model and adds up the time spent inside its streams."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hosted_tools = inner.hosted_tools
        self.seconds = 0.0

    async def stream(self, **kw: Any) -> AsyncIterator[Any]:
        events = self.inner.stream(**kw).__aiter__()
        while True:
            start = time.perf_counter()
            try:
                event = await events.__anext__()
            except StopAsyncIteration:
                self.seconds += time.perf_counter() - start
                return
            self.seconds += time.perf_counter() - start
            yield event


async def _measure(app: Any, model: TimedModel, path: str, body: bytes, auth: dict, n: int) -> tuple[float, float]:
    """Median wall ms and the model's mean ms per request."""
    for _ in range(5):  # warm up
        await call(app, "POST", path, body, auth)
    walls: list[float] = []
    model.seconds = 0.0
    for _ in range(n):
        start = time.perf_counter()
        status, raw = await call(app, "POST", path, body, auth)
        walls.append((time.perf_counter() - start) * 1000)
        assert status == 200, raw
    return sorted(walls)[n // 2], model.seconds / n * 1000


async def run(n: int = RUNS) -> None:
    from agentdeck.domain.catalog import WORKFLOWS, WorkflowSpec, WorkflowStage, WorkflowStep

    WORKFLOWS["bench_three"] = WorkflowSpec(
        "bench_three",
        "Bench: three steps",
        "Three sequential steps.",
        stages=(
            WorkflowStage(
                "stage-1",
                (
                    WorkflowStep("researcher", "one"),
                    WorkflowStep("code_assistant", "two"),
                    WorkflowStep("researcher", "three"),
                ),
            ),
        ),
    )
    app = offline_app()
    async with app.router.lifespan_context(app):
        services = app.state.services
        model = services.llm = TimedModel(services.llm)
        auth = {"authorization": f"Bearer {await _register(app)}", **JSON}
        body = orjson.dumps({"message": "summarise the quarterly numbers"})
        rows = [
            ("chat turn (1 agent loop)", 1, *await _measure(app, model, "/api/v1/chat", body, auth, n)),
            (
                "bench_three (3 sequential steps)",
                3,
                *await _measure(app, model, "/api/v1/workflows/bench_three/run", body, auth, n),
            ),
            (
                "analysis_parallel (2 parallel + 1)",
                3,
                *await _measure(app, model, "/api/v1/workflows/analysis_parallel/run", body, auth, n),
            ),
        ]
    del WORKFLOWS["bench_three"]
    base = rows[0][2] - rows[0][3]
    print(f"\nWorkflow orchestration overhead (offline model, no delay, SQLite, median of {n} runs)")
    print(
        f"{'scenario':<38} {'wall ms':>8} {'model ms':>9} {'overhead ms':>12} {'per step':>9} {'step vs chat turn':>18}"
    )
    for name, steps, wall, model_ms in rows:
        overhead = wall - model_ms
        print(
            f"{name:<38} {wall:>8.1f} {model_ms:>9.2f} {overhead:>12.1f} {overhead / steps:>9.1f} "
            f"{overhead / steps / base:>18.2f}"
        )
