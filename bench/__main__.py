"""`make bench`: every benchmark, each reporting ratios measured side by side in one run."""

from __future__ import annotations

import asyncio

from bench import auth, billing, chat, executor, files, health, load, targets, tracing, workflows


async def main() -> None:
    await health.run()
    await executor.run()
    await auth.run()
    await billing.run()
    await chat.run()
    await files.run()
    await workflows.run()
    await tracing.run()
    await load.run()  # PostgreSQL + Redis only; says so otherwise
    await targets.run()  # last: the table of performance bars, each measured beside its raw route


if __name__ == "__main__":
    asyncio.run(main())
