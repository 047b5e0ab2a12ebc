from __future__ import annotations

import pytest

from tests.harness import fresh_database, postgres_up, redis_up, start_server


def _backends() -> list[str]:
    # SQLite always; PostgreSQL + Redis too when they answer (CI on this machine has both).
    return ["sqlite", "postgres"] if postgres_up() and redis_up() else ["sqlite"]


@pytest.fixture(scope="session", params=_backends())
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
