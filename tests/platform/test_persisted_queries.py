"""Automatic persisted queries (Apollo's APQ) on /graphql: a hash the server does not know is
answered PERSISTED_QUERY_NOT_FOUND, the document sent with its hash is checked, run and kept, and
the hash alone then runs it, over POST and over GET; nothing that fails a check is kept."""

from __future__ import annotations

import hashlib
import json
import uuid

import httpx
import pytest
import redis

from agentdeck.providers.redis_link import RedisLink
from agentdeck.schema.persisted import PersistedQueryStore, document_hash
from agentdeck.settings import Settings
from tests.harness import REDIS_URL, Server, fresh_database, needs_postgres_redis, needs_redis, start_server


def _query() -> str:
    """A document no other test has registered (the server lives for the whole run)."""
    return "query Persisted%s { health { status } }" % uuid.uuid4().hex


def _extensions(digest: str, version: object = 1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def _post(server: Server, digest: str, query: str | None = None, version: object = 1) -> httpx.Response:
    body: dict = {"extensions": _extensions(digest, version)}
    if query is not None:
        body["query"] = query
    return server.http.post("/graphql", json=body)


def _get(server: Server, digest: str, query: str | None = None) -> httpx.Response:
    params = {"extensions": json.dumps(_extensions(digest))}
    if query is not None:
        params["query"] = query
    # httpx sends `Accept: */*`, as curl does: still an operation, not a request for GraphiQL.
    return server.http.get("/graphql", params=params)


def _code(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.get("data") is None, body
    [error] = body["errors"]
    return error["extensions"]["code"]


def _status(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]["health"]["status"]


@pytest.mark.parametrize("send", [_post, _get], ids=["POST", "GET"])
def test_miss_register_then_the_hash_alone_runs_the_document(server, send):
    query = _query()
    digest = document_hash(query)
    missed = send(server, digest)
    assert _code(missed) == "PERSISTED_QUERY_NOT_FOUND"
    assert missed.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert _status(send(server, digest, query)) == "HEALTHY"
    assert _status(send(server, digest)) == "HEALTHY"
    # Registered over one verb, found over the other: one store behind both.
    other = _get if send is _post else _post
    assert _status(other(server, digest)) == "HEALTHY"
    # A client may send the hash in capitals; it names the same document.
    assert _status(send(server, digest.upper())) == "HEALTHY"


def test_a_hash_that_is_not_the_documents_is_refused_and_keeps_nothing(server):
    query, other = _query(), _query()
    r = _post(server, document_hash(other), query)
    assert _code(r) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert r.json()["errors"][0]["message"] == "provided sha does not match query"
    # Kept under neither hash: both still miss.
    assert _code(_post(server, document_hash(other))) == "PERSISTED_QUERY_NOT_FOUND"
    assert _code(_post(server, document_hash(query))) == "PERSISTED_QUERY_NOT_FOUND"
    r = _get(server, document_hash(other), query)
    assert _code(r) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert _code(_get(server, document_hash(other))) == "PERSISTED_QUERY_NOT_FOUND"


def test_an_oversized_document_is_refused_and_not_kept(server):
    # Within the body limit and the token limit (a comment is not a token), past 16 KiB.
    query = _query() + "\n# " + "x" * 20_000
    digest = document_hash(query)
    r = _post(server, digest, query)
    assert _code(r) == "PERSISTED_QUERY_TOO_LARGE"
    assert "16384" in r.json()["errors"][0]["message"]
    assert _code(_post(server, digest)) == "PERSISTED_QUERY_NOT_FOUND"
    # The same document without the extension is an ordinary request, and runs.
    assert server.gql(query)["data"]["health"]["status"] == "HEALTHY"


@pytest.mark.parametrize(
    "document, code",
    [
        ("{ health { " + "status " * 2100 + "} }", "GRAPHQL_PARSE_FAILED"),  # past the token limit, under 16 KiB
        ("{ health { nope%s } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ health { status ", "GRAPHQL_PARSE_FAILED"),
    ],
    ids=["too-many-tokens", "invalid", "syntax"],
)
def test_a_document_that_fails_parsing_or_validation_is_not_kept(server, document, code):
    query = document.replace("%s", uuid.uuid4().hex) + ("" if "%s" in document else f"# {uuid.uuid4().hex}")
    digest = document_hash(query)
    r = _post(server, digest, query)
    assert r.status_code == 200 and r.json()["errors"][0]["extensions"]["code"] == code, r.text
    assert _code(_post(server, digest)) == "PERSISTED_QUERY_NOT_FOUND"


def test_a_mutation_sent_over_get_is_neither_run_nor_kept(server):
    query = 'mutation M%s { publishNotice(input: {message: "x"}) { notice { message } } }' % uuid.uuid4().hex
    digest = document_hash(query)
    assert 400 <= _get(server, digest, query).status_code < 500
    assert _code(_post(server, digest)) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extensions, code",
    [
        (_extensions("a" * 64, version=2), "PERSISTED_QUERY_NOT_SUPPORTED"),
        (_extensions("a" * 64, version=True), "PERSISTED_QUERY_NOT_SUPPORTED"),
        (_extensions("a" * 64, version="1"), "PERSISTED_QUERY_NOT_SUPPORTED"),
        ({"persistedQuery": {"version": 1}}, "BAD_REQUEST"),
        (_extensions("not-a-hash"), "BAD_REQUEST"),
        (_extensions("a" * 65), "BAD_REQUEST"),
        (_extensions("\u0000" * 64), "BAD_REQUEST"),
        ({"persistedQuery": "a" * 64}, "BAD_REQUEST"),
        ({"persistedQuery": None}, "BAD_REQUEST"),
    ],
)
def test_a_malformed_persisted_query_gets_a_code_never_a_500(server, extensions, code):
    for body in ({"extensions": extensions}, {"extensions": extensions, "query": "{ health { status } }"}):
        r = server.http.post("/graphql", json=body)
        assert _code(r) == code
    message = server.http.post("/graphql", json={"extensions": extensions}).json()["errors"][0]["message"]
    assert "version 1" in message or "sha256Hash" in message or "persistedQuery" in message


def test_requests_without_the_extension_are_unchanged(server):
    assert server.gql("{ health { status } }")["data"]["health"]["status"] == "HEALTHY"
    r = server.http.post("/graphql", json={"query": "{ health { status } }", "extensions": {"other": 1}})
    assert _status(r) == "HEALTHY"
    page = server.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_each_process_keeps_a_bounded_number_of_documents(tmp_path):
    srv = start_server(tmp_path, env={"AGENTDECK_APQ_CACHE_SIZE": "2"})
    try:
        queries = [_query() for _ in range(3)]
        for query in queries:
            assert _status(_post(srv, document_hash(query), query)) == "HEALTHY"
        # The least recently used went; the two latest stay.
        assert _code(_post(srv, document_hash(queries[0]))) == "PERSISTED_QUERY_NOT_FOUND"
        assert _status(_post(srv, document_hash(queries[2]))) == "HEALTHY"
        assert _status(_post(srv, document_hash(queries[1]))) == "HEALTHY"
    finally:
        srv.stop()


@needs_postgres_redis
def test_a_document_registered_on_one_process_runs_on_another(tmp_path):
    """Two servers on one PostgreSQL and one Redis (prefix): B has never seen the document, and
    runs it from its hash because A kept it in Redis, for AGENTDECK_APQ_TTL_HOURS."""
    prefix = f"apq-{uuid.uuid4().hex[:8]}:"
    env = {"AGENTDECK_REDIS_PREFIX": prefix, "AGENTDECK_APQ_TTL_HOURS": "2"}
    with fresh_database("postgres", tmp_path) as url:
        a = start_server(tmp_path, env=env, backend="postgres", database_url=url)
        b = start_server(tmp_path, env=env, backend="postgres", database_url=url)
        try:
            query = _query()
            digest = document_hash(query)
            assert _code(_get(b, digest)) == "PERSISTED_QUERY_NOT_FOUND"
            assert _status(_post(a, digest, query)) == "HEALTHY"
            assert _status(_get(b, digest)) == "HEALTHY"
            assert _status(_post(b, digest)) == "HEALTHY"
            ttl = redis.Redis.from_url(REDIS_URL).ttl(f"{prefix}apq:{digest}")
            assert 2 * 3600 - 60 < ttl <= 2 * 3600
            # A mismatch on A keeps nothing in Redis either.
            other = _query()
            assert _code(_post(a, document_hash(other), query)) == "PERSISTED_QUERY_HASH_MISMATCH"
            assert _code(_post(b, document_hash(other))) == "PERSISTED_QUERY_NOT_FOUND"
        finally:
            a.stop()
            b.stop()


# The store on its own -----------------------------------------------------------------------------


def _store(prefix: str = "apq-test:", size: int = 8, max_bytes: int = 1024) -> PersistedQueryStore:
    return PersistedQueryStore(size=size, max_bytes=max_bytes, ttl_seconds=60, prefix=prefix)


async def test_redis_down_degrades_to_the_process_cache(tmp_path):
    # Nothing listens on port 1: every command fails at once, as with Redis down.
    link = RedisLink(Settings(var_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", redis_connect_timeout_seconds=0.5))
    store = _store()
    query = _query()
    digest = document_hash(query)
    try:
        assert await store.get(digest, link) is None
        assert not link.up  # the failure was noted: the next second's calls skip Redis
        await store.put(digest, query, link)  # kept here, Redis skipped
        assert await store.get(digest, link) == query
    finally:
        await link.close()


async def test_the_store_keeps_only_a_document_under_its_own_hash_within_its_bound():
    store = _store(max_bytes=64)
    query = _query()
    with pytest.raises(ValueError):
        await store.put(hashlib.sha256(b"other").hexdigest(), query, None)
    big = "{ health { status } }" + " " * 64
    with pytest.raises(ValueError):
        await store.put(document_hash(big), big, None)
    assert len(store) == 0


@needs_redis
async def test_text_in_redis_under_a_hash_that_is_not_its_own_is_never_answered(tmp_path):
    prefix = f"apq-{uuid.uuid4().hex[:8]}:"
    link = RedisLink(Settings(var_dir=tmp_path, redis_url=REDIS_URL))
    store = _store(prefix)
    query = _query()
    digest = document_hash(query)
    try:
        await link.client.set(f"{prefix}apq:{digest}", b"mutation { deleteEverything }", ex=60)
        assert await store.get(digest, link) is None
        await link.client.set(f"{prefix}apq:{digest}", query.encode(), ex=60)
        assert await store.get(digest, link) == query
    finally:
        await link.client.delete(f"{prefix}apq:{digest}")
        await link.close()
