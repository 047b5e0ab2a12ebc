from __future__ import annotations

import os

import pytest

from tests.harness import BACKEND_SKIP, fresh_database, missing_backends, start_server

# Decided once, at collection: SQLite always; PostgreSQL + Redis too when both answer (CI on this
# machine has both). The summary at the end says which ran and, if one did not, why.
PG_REDIS_MISSING = missing_backends()
BACKENDS = ["sqlite"] if PG_REDIS_MISSING else ["sqlite", "postgres"]
BACKEND_NAMES = {"sqlite": "SQLite (in-process bus)", "postgres": "PostgreSQL + Redis"}


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def server(backend, tmp_path_factory):
    """One real server per backend for the whole run, on a fresh database."""
    tmp = tmp_path_factory.mktemp(f"server-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, backend=backend, database_url=url)
        yield srv
        srv.stop()


# A test is end-to-end when it talks to a real server: it takes the `backend` (or `server`)
# fixture, or its module starts servers itself. Everything else runs in-process, first.
SERVER_STARTERS = ("start_server", "server_with_openai_stub")


def pytest_configure(config) -> None:
    # The in-process layer must stay in-process: a server started there is a misfiled test
    # (tests/harness.py refuses to start one), not a slow surprise in the serial phase.
    if (config.option.markexpr or "").replace(" ", "") == "note2e":
        os.environ["AGENTDECK_TESTS_IN_PROCESS"] = "1"


def _on_postgres_needlessly(item: pytest.Item) -> bool:
    """A module whose behaviour sits above the database (headers, metrics, the browser tools)
    says `ONE_BACKEND = True`: its server tests run on SQLite only, since the PostgreSQL + Redis
    runs would repeat them."""
    callspec = getattr(item, "callspec", None)
    return (
        getattr(item.module, "ONE_BACKEND", False)
        and callspec is not None
        and callspec.params.get("backend") == "postgres"
    )


def pytest_collection_modifyitems(config, items) -> None:
    repeated = [item for item in items if _on_postgres_needlessly(item)]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [item for item in items if item not in repeated]
    for item in items:
        if {"backend", "server"} & set(item.fixturenames) or any(
            hasattr(item.module, name) for name in SERVER_STARTERS
        ):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)  # stable


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say plainly what ran where, and what was skipped and why. Skips for a backend that did not
    answer are expected on a machine without PostgreSQL or Redis; any other skip is a test that
    did not run for a reason nobody planned, so it is shown as such."""
    if config.option.collectonly:
        return
    tr = terminalreporter
    tr.section("backends")
    tr.write_line("server tests run on: " + ", ".join(BACKEND_NAMES[b] for b in BACKENDS))
    if PG_REDIS_MISSING:
        tr.write_line(
            f"PostgreSQL + Redis runs skipped: {PG_REDIS_MISSING} "
            "(start both on 127.0.0.1 to run every server test on them too)",
            yellow=True,
        )
    skipped = tr.stats.get("skipped", [])
    expected = [r for r in skipped if _skip_reason(r).startswith(BACKEND_SKIP)]
    unexpected = [r for r in skipped if r not in expected]
    if expected:
        tr.write_line(f"{len(expected)} test(s) skipped because a backend did not answer:", yellow=True)
        for reason in sorted({_skip_reason(r).removeprefix(BACKEND_SKIP) for r in expected}):
            tr.write_line(f"  {reason}")
    if unexpected:
        tr.write_line(f"UNEXPECTED: {len(unexpected)} test(s) skipped for another reason:", red=True, bold=True)
        for r in unexpected:
            tr.write_line(f"  {r.nodeid}: {_skip_reason(r)}", red=True)
