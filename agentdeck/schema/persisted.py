"""Automatic persisted queries: Apollo's APQ protocol on /graphql, over POST and GET.

A client sends `extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}` with no
`query`. A hash the server knows runs its document; an unknown one is answered
`PersistedQueryNotFound` (`PERSISTED_QUERY_NOT_FOUND`), and the client sends the document with
its hash: the server checks that the hash is the document's SHA-256, runs it, and keeps it once
it has parsed and validated (a document that fails anything is never kept). Over GET the
`extensions` parameter is URL-encoded JSON, so a hash-only request is a short, stable URL.

Where documents are kept: a bounded LRU in the process, and with Redis configured a key per hash
with a TTL, so every process finds what one registered. Redis failing degrades to the process's
own cache (a miss there makes the client send the document again). Every entry is bounded in
size, the LRU in entries, Redis's keys in time.

This is a schema extension, so both HTTP verbs (and anything else that passes the request's
`extensions` to the schema) share one implementation, and the document then takes the path
every document takes: the parser cache, the token, depth, alias and field limits, validation,
error reporting.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from agentdeck.providers.redis_link import FAILURES, RedisLink

VERSION = 1
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
TOO_LARGE = "PERSISTED_QUERY_TOO_LARGE"
BAD_REQUEST = "BAD_REQUEST"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def document_hash(query: str) -> str:
    """What a client sends as `sha256Hash`: the lowercase hex SHA-256 of the document's UTF-8."""
    return hashlib.sha256(query.encode()).hexdigest()


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash a request names (lowercased), None when it uses no persisted query; a malformed
    `persistedQuery` is refused with a message that says what to send."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise _error('extensions.persistedQuery must be an object: {"version": 1, "sha256Hash": "<hex>"}.', BAD_REQUEST)
    version = persisted.get("version")
    if version != VERSION or isinstance(version, bool):
        # Apollo's clients answer this code by sending the full document without the extension.
        raise _error(
            f"PersistedQueryNotSupported: persisted query version {version!r} is not supported; "
            f"this server speaks version {VERSION}.",
            NOT_SUPPORTED,
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
        raise _error(
            "extensions.persistedQuery.sha256Hash must be the 64 hex digits of the SHA-256 of the query.", BAD_REQUEST
        )
    return digest.lower()


class PersistedQueryStore:
    """hash -> document, per process (an LRU of `size` entries) and, given a Redis link, shared
    (`<prefix>apq:<hash>`, kept `ttl_seconds`). Only documents of at most `max_bytes` are kept,
    and text is only ever answered for the hash it has (a stored entry is checked on the way out)."""

    def __init__(self, *, size: int, max_bytes: int, ttl_seconds: int, prefix: str) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix
        self._local: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._local)

    def _key(self, digest: str) -> str:
        return f"{self.prefix}apq:{digest}"

    def _remember(self, digest: str, query: str) -> None:
        self._local[digest] = query
        self._local.move_to_end(digest)
        while len(self._local) > self.size:
            self._local.popitem(last=False)

    def known_locally(self, digest: str) -> bool:
        return digest in self._local

    async def get(self, digest: str, link: RedisLink | None) -> str | None:
        query = self._local.get(digest)
        if query is not None:
            self._local.move_to_end(digest)
            return query
        if link is None or not link.up:
            return None
        try:
            raw = await link.client.get(self._key(digest))
        except FAILURES as exc:
            link.failed("persisted query lookup", exc)
            return None
        if raw is None or len(raw) > self.max_bytes:
            return None
        try:
            query = raw.decode() if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError:
            return None
        if document_hash(query) != digest:  # never run text under a hash that is not its own
            return None
        self._remember(digest, query)
        return query

    async def put(self, digest: str, query: str, link: RedisLink | None) -> None:
        if document_hash(query) != digest or len(query.encode()) > self.max_bytes:
            raise ValueError("only a document under its own hash, within max_bytes, is kept")
        self._remember(digest, query)
        if link is None or not link.up:
            return
        try:
            await link.client.set(self._key(digest), query.encode(), ex=self.ttl_seconds)
        except FAILURES as exc:
            link.failed("persisted query registration", exc)


class PersistedQueries(SchemaExtension):
    """One per request (Strawberry builds it from the factory `persisted_queries` returns), the
    store shared. Must come first in the schema's extensions: a refusal is raised before the
    operation starts, and no other extension has entered its operation hook yet."""

    def __init__(self, store: PersistedQueryStore) -> None:
        self.store = store
        self._register: str | None = None

    def _link(self) -> RedisLink | None:
        services = getattr(self.execution_context.context, "services", None)
        return getattr(services, "redis", None)

    async def on_operation(self) -> AsyncIterator[None]:
        ec = self.execution_context
        digest = requested_hash(ec.operation_extensions)
        if digest is not None:
            if not ec.query:
                query = await self.store.get(digest, self._link())
                if query is None:
                    raise _error("PersistedQueryNotFound", NOT_FOUND)
                ec.query = query
            else:
                size = len(ec.query.encode())
                if size > self.store.max_bytes:
                    raise _error(
                        f"The query is {size} bytes; a persisted query may have at most {self.store.max_bytes}: "
                        "send it without extensions.persistedQuery.",
                        TOO_LARGE,
                    )
                if document_hash(ec.query) != digest:
                    raise _error("provided sha does not match query", HASH_MISMATCH)
                if not self.store.known_locally(digest):
                    self._register = digest  # kept once it has parsed and validated
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        yield
        # Runs after every other extension's validation (hooks exit in reverse order).
        ec = self.execution_context
        if self._register is not None and ec.query and not ec.pre_execution_errors:
            await self.store.put(self._register, ec.query, self._link())


def persisted_queries(store: PersistedQueryStore) -> Callable[[], PersistedQueries]:
    """The extension factory for `Schema(extensions=[...])`: a fresh extension per request."""

    def factory() -> PersistedQueries:
        return PersistedQueries(store)

    return factory
