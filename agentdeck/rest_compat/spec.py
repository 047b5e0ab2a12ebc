"""The vocabulary of the route table."""

from __future__ import annotations

# `field` under another name: `Op.field` (the GraphQL root field) shadows it in Op's class body.
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Literal

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class SSE:
    """How a stream route frames the subscription's payloads as Server-Sent Events."""

    heartbeat: str = ": heartbeat {ts}"  # comment line; {ts} = UTC ISO time with Z
    heartbeat_seconds: float = 15.0
    id_field: str | None = None  # payload field written as `id:` (resume with Last-Event-ID)
    resume_arg: str | None = None  # subscription argument that receives Last-Event-ID
    media_type: str = "text/event-stream"
    compact: bool = True  # False = Python's default `", "`/`": "` separators
    headers: dict[str, str] = dataclass_field(default_factory=dict)
    # How long the answer waits for the first event before sending its headers, so that an error
    # raised while the stream starts (authorisation, limits, a busy server) is a JSON error
    # response: a stream that begins with an event (a chat turn) can wait for it; one that may
    # stay quiet (billing, notices) answers at once.
    first_event_seconds: float = 0.25


@dataclass(frozen=True)
class Op:
    """One REST operation executed as one GraphQL root field.

    `path`, `query` and `header` map a request parameter to the GraphQL argument that receives
    it (path parameters default to the argument of the same Python name); `body` names the
    argument that receives the whole JSON body. `stream` makes it a subscription served as SSE.
    """

    method: Method
    path: str
    field: str
    status: int = 200
    # A field answering a union: the status of the members that answer other than `status`, by
    # GraphQL type name (sign-in answers 202 with an MFA challenge instead of 200 with tokens).
    status_by_type: dict[str, int] = dataclass_field(default_factory=dict)
    path_args: dict[str, str] = dataclass_field(default_factory=dict)
    query: dict[str, str] = dataclass_field(default_factory=dict)
    header: dict[str, str] = dataclass_field(default_factory=dict)
    body: str | None = None
    stream: SSE | None = None
    envelope: bool = False  # wrap as {success: true, message, data} (payload has message, data)
    etag: str | None = None  # result field sent as `ETag: "<value>"` (optimistic concurrency)
    # Serve a String field's value as the raw body with this Content-Type (a feed, a document)
    # instead of JSON, e.g. "application/rss+xml; charset=utf-8".
    media_type: str | None = None
    # The answer carries a credential (a token, a secret, a signed URL) or answers one sent in
    # the request: sent with `Cache-Control: no-store` so that no browser or proxy keeps it.
    no_store: bool = False
    tags: tuple[str, ...] = ()
    summary: str | None = None
    documented: bool = True  # False = an agentdeck extension beyond the legacy contract


@dataclass(frozen=True)
class RawOp:
    """A route that is bytes, not GraphQL (a signed webhook, a streamed download): served by its
    own Starlette endpoint (`rest_compat/raw.py`), listed here so that openapi.json documents it
    with the rest."""

    method: Method
    path: str
    summary: str
    status: int
    request_media_type: str | None  # None: no request body
    response: dict  # the JSON Schema of the success body
    tags: tuple[str, ...] = ()
    description: str = "Reads the raw request body (signature verification), then runs the resolver."
    response_media_type: str = "application/json"
    response_headers: tuple[str, ...] = ()  # headers the success answer carries
    parameters: tuple[dict, ...] = ()  # OpenAPI parameter objects
    bearer: bool = False  # needs a bearer token
    billing: bool = False  # served only when billing is enabled
