"""The executor: 50 objects × 10 plain fields, built as dicts by hand, through graphql-core's own
field path (Strawberry's stock execution context) and through `FastExecutor`, in-process, on one
parsed and validated document (what the REST layer's stored operations do)."""

from __future__ import annotations

import enum
import time
import uuid
from datetime import UTC, datetime

import strawberry
from graphql import execute, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from agentdeck.schema.executor import FastExecutor

ITEMS = 50


@strawberry.enum
class Status(enum.Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"


@strawberry.type
class Row:
    id: uuid.UUID
    name: str
    agent: str
    active_agent: str | None
    topic: str | None
    status: Status
    message_count: int
    preview: str | None
    created_at: datetime
    updated_at: datetime


ROWS = [
    Row(
        id=uuid.uuid4(),
        name=f"row {i}",
        agent="triage",
        active_agent="researcher",
        topic=None,
        status=Status.ACTIVE,
        message_count=i,
        preview="last message " * 5,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    for i in range(ITEMS)
]


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return ROWS


DOCUMENT = parse("{ rows { id name agent activeAgent topic status messageCount preview createdAt updatedAt } }")


def _by_hand() -> dict:
    return {
        "rows": [
            {
                "id": str(r.id),
                "name": r.name,
                "agent": r.agent,
                "activeAgent": r.active_agent,
                "topic": r.topic,
                "status": r.status.name,
                "messageCount": r.message_count,
                "preview": r.preview,
                "createdAt": r.created_at.isoformat(),
                "updatedAt": r.updated_at.isoformat(),
            }
            for r in ROWS
        ]
    }


def _us(fn, n: int = 300) -> float:
    for _ in range(50):
        fn()
    best = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - start) / n * 1e6)
    return sorted(best)[1]


async def run() -> None:
    schema = strawberry.Schema(Query)._schema

    def through(executor: type) -> dict:
        result = execute(schema, DOCUMENT, executor_class=executor)
        assert not result.errors, result.errors
        return result.data

    assert through(FastExecutor) == through(StrawberryGraphQLCoreExecutionContext)
    rows = [
        ("dicts by hand", _us(_by_hand)),
        ("graphql-core field path (stock)", _us(lambda: through(StrawberryGraphQLCoreExecutionContext))),
        ("FastExecutor", _us(lambda: through(FastExecutor))),
    ]
    base = rows[1][1]
    print(f"\nExecutor: {ITEMS} objects × 10 plain fields, parsed and validated once")
    print(f"{'scenario':<36} {'µs/op':>9} {'µs/field':>9} {'speed vs stock':>15}")
    for name, us in rows:
        print(f"{name:<36} {us:>9.1f} {us / (ITEMS * 10):>9.2f} {base / us:>15.2f}")
