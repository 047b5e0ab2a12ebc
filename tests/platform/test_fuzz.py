"""Fuzzers: nothing a client sends yields a 5xx or a masked error.

- REST: schemathesis generates requests (valid and invalid) for every operation of the served
  `openapi.json` and sends them with a valid token.
- GraphQL: hypothesis generates variables for every root field of the committed SDL, from values
  of the right shape to hostile ones (huge integers, NUL, lone surrogates, control characters,
  wrong types, unknown enum values, nulls), and sends them over HTTP.
- Both send cursors and versions that are well formed (base64 JSON as the REST lists write them,
  base64 `cursor:<offset>` as the graph's connections do, quoted ETag versions) around hostile
  values, which random strings almost never are: they get past the decoding to the checks of
  each field's type and range.

Both run against a server of their own per backend (they create a lot of data and spend rate
limits), bounded in examples so that the suite stays fast.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import schemathesis
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    build_schema,
    get_named_type,
    is_composite_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from tests.harness import ROOT, fresh_database, start_server
from tests.users import register

# Operations whose success would end the fuzzer's own session, or streams that never end.
REST_EXCLUDED = (
    "/api/v1/auth/logout",
    "/api/v1/auth/logout/all",
    "/api/v1/billing/stream",
    "/api/v1/notices/stream",
    "/api/v1/conversations/{conversation_id}/stream",
    "/api/v1/activity/stream",
)
GRAPHQL_EXCLUDED = {"logout", "logoutAll", "changePassword"}
REST_EXAMPLES = 4
GRAPHQL_EXAMPLES = 8


@pytest.fixture(scope="module")
def target(backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"fuzz-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(
            tmp,
            backend=backend,
            database_url=url,
            env={"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "0", "AGENTDECK_STRIPE_WEBHOOK_SECRET": "whsec_fuzz"},
        )
        try:
            yield srv, register(srv, verified=True).access_token
        finally:
            srv.stop()


def _no_fault(response_status: int, body: bytes, what: str) -> None:
    assert response_status < 500, f"{what}: {response_status} {body[:500]!r}"


# --- Hostile values ---------------------------------------------------------------------------

HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from(["a", "é", " ", "\x00", "\x01", "\x1b", "\ud800", "\n", "'"]), max_size=12
)
ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=6,
)
# Counts at and past every bound a database or Python has (2**31, 2**63, 2**64, int()'s 4300
# digits), and digits int() reads differently; mostly these, as hypothesis draws small integers.
BOUNDARIES = [
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "99999999999999999999",
    "9" * 5000,
    "-1",
    "+1",
    " 1",
    "1_0",
    "²",
]
COUNTS = st.one_of(st.sampled_from(BOUNDARIES), st.sampled_from(BOUNDARIES), st.integers(-(2**70), 2**70).map(str))
# Every field a REST list's cursor holds (keyset moments and ids, offsets, catalog keys), all in
# each cursor, so that whichever list reads it finds its own fields, with values of another type
# or out of range (or, at times, valid ones).
CURSOR_FIELDS = ("ts", "id", "t", "i", "r", "e", "offset", "agent", "workflow")
CURSOR_VALUES = (
    st.sampled_from([-5, 2**31, 2**63, 2**64 - 1, 1e20, 1.5, True, None, [1], {"a": 1}, "garbage", ""])
    | st.sampled_from(["2024-01-01T00:00:00", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
    | st.integers(-(2**64), 2**64 - 1)
    | st.uuids().map(str)
    | ANY_JSON
)


def _base64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).decode()


# As the REST lists write them (without padding) and the graph's connections (with it).
JSON_CURSORS = st.fixed_dictionaries(dict.fromkeys(CURSOR_FIELDS, CURSOR_VALUES)).map(
    lambda value: _base64(json.dumps(value)).rstrip("=")  # ASCII JSON: a lone surrogate as its escape
)
OFFSET_CURSORS = st.one_of(COUNTS, COUNTS, HOSTILE_TEXT).map(lambda offset: _base64(f"cursor:{offset}"))
CURSORS = JSON_CURSORS | OFFSET_CURSORS
# If-Match: an ETag's quoted version, or a weak one, around a hostile count (latin-1, as headers
# are; the HTTP client sends no value that starts with a blank).
VERSIONS = (
    st.tuples(st.sampled_from(['"{}"', 'W/"{}"', "{}"]), COUNTS)
    .map(lambda t: t[0].format(t[1]))
    .filter(lambda v: not v[:1].isspace())
)


# --- REST -------------------------------------------------------------------------------------
# The committed openapi.json is the served one (test_artifacts checks they are equal); loading it
# at collection time gives one test per operation. Schemathesis is used as a library: its pytest
# plugin does not run under pytest 9.

OPENAPI = schemathesis.openapi.from_dict(json.loads((ROOT / "openapi.json").read_text()))
REST_OPERATIONS = [op.ok() for op in OPENAPI.get_all_operations() if op.ok().path not in REST_EXCLUDED]


# Invalid requests are generated where there is a query or a body to make invalid (a path
# parameter made non-string cannot be put in a URL).
REST_CASES = [(op, GenerationMode.POSITIVE) for op in REST_OPERATIONS] + [
    (op, GenerationMode.NEGATIVE) for op in REST_OPERATIONS if len(op.query) or op.body
]


@pytest.mark.parametrize("operation,mode", REST_CASES, ids=[f"{m} {op.label}" for op, m in REST_CASES])
def test_rest_answers_every_generated_request_without_a_fault(target, operation, mode):
    srv, token = target
    # Where the operation takes a cursor or a version, most requests send a forged one.
    takes_cursor = any(p.name == "cursor" for p in operation.query)
    takes_version = any(p.name == "If-Match" for p in operation.headers)
    forged_cursor = st.one_of(CURSORS, COUNTS, st.none()) if takes_cursor else st.none()
    forged_version = st.one_of(VERSIONS, st.none()) if takes_version else st.none()

    @settings(max_examples=REST_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=mode), cursor=forged_cursor, version=forged_version)
    def check(case, cursor: str | None, version: str | None) -> None:
        if cursor is not None:
            case.query = {**(case.query or {}), "cursor": cursor}
        if version is not None:
            case.headers = {**(case.headers or {}), "If-Match": version}
        response = case.call(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
        sent = f"{case.method} {case.formatted_path} {case.query!r:.300} {case.headers!r:.200} {case.body!r:.300}"
        _no_fault(response.status_code, response.content, sent)
        content_type = "".join(response.headers.get("content-type", []))
        if response.status_code >= 400 and content_type.startswith("application/json"):
            body = response.json()
            # Either the documented envelope or the framework's {"detail": ...} (404/405).
            assert ("success" in body and body["message"]) or "detail" in body, body

    check()


# --- GraphQL ----------------------------------------------------------------------------------

SDL = build_schema((ROOT / "schema.graphql").read_text())
CURSOR_ARGUMENTS = {"after", "before"}


def values_for(t, depth: int = 0) -> st.SearchStrategy:
    """Values for an input type: mostly of the right shape, with hostile leaves, and sometimes
    anything at all."""
    nullable = not isinstance(t, GraphQLNonNull)
    inner = t.of_type if isinstance(t, GraphQLNonNull) else t
    if isinstance(inner, GraphQLList):
        shaped = st.lists(values_for(inner.of_type, depth + 1), max_size=3)
    elif isinstance(inner, GraphQLEnumType):
        shaped = st.sampled_from(list(inner.values)) | HOSTILE_TEXT
    elif isinstance(inner, GraphQLInputObjectType):
        if depth > 3:
            return st.none()
        fields = {name: values_for(f.type, depth + 1) for name, f in inner.fields.items()}
        required = {n: s for n, s in fields.items() if isinstance(inner.fields[n].type, GraphQLNonNull)}
        optional = {n: s for n, s in fields.items() if n not in required}
        shaped = st.fixed_dictionaries(required, optional=optional)
    else:
        assert isinstance(inner, GraphQLScalarType)
        shaped = {
            "Int": st.integers(-(2**40), 2**40) | st.sampled_from([0, 1, 100, 2**31, -(2**31) - 1, 10**20]),
            "Float": st.floats(allow_nan=False, allow_infinity=False),
            "Boolean": st.booleans(),
            "UUID": st.uuids().map(str) | HOSTILE_TEXT,
            "DateTime": st.datetimes().map(lambda d: d.isoformat() + "Z") | HOSTILE_TEXT,
        }.get(inner.name, HOSTILE_TEXT)
    options = [shaped, shaped, ANY_JSON]
    if nullable or depth == 0:
        options.append(st.none())
    return st.one_of(*options)


def operations() -> list[tuple[str, str, dict]]:
    """(name, document, {variable: type}) per root query and mutation field."""
    out = []
    for kind, root in (("query", SDL.query_type), ("mutation", SDL.mutation_type)):
        for name, field in root.fields.items():
            if name in GRAPHQL_EXCLUDED:
                continue
            args = dict(field.args.items())
            defs = ", ".join(f"${a}: {arg.type}" for a, arg in args.items())
            call = ", ".join(f"{a}: ${a}" for a in args)
            selection = "{ __typename }" if is_composite_type(get_named_type(field.type)) else ""
            document = f"{kind} Fuzz{('(' + defs + ')') if defs else ''} {{ {name}{('(' + call + ')') if call else ''} {selection} }}"
            out.append((name, document, {a: arg.type for a, arg in args.items()}))
    return out


OPERATIONS = operations()


@pytest.mark.parametrize("name,document,types", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_graphql_reports_every_error_in_fuzzed_variables(target, name, document, types):
    srv, token = target
    # A connection's `after`/`before` is mostly a forged cursor (the graph's own kind first), and
    # as often sent alone, so that no other argument's mistake is reported before it.
    cursors = st.one_of(OFFSET_CURSORS, OFFSET_CURSORS, JSON_CURSORS)
    strategy = st.fixed_dictionaries(
        {
            v: st.one_of(cursors, cursors, values_for(t)) if v in CURSOR_ARGUMENTS else values_for(t)
            for v, t in types.items()
        }
    )
    if paged := sorted(CURSOR_ARGUMENTS & types.keys()):
        alone = st.sampled_from(paged).flatmap(lambda v: st.fixed_dictionaries({v: cursors}))
        strategy = st.one_of(strategy, alone)
    client = httpx.Client(
        base_url=srv.base_url,
        timeout=15,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )

    @settings(max_examples=GRAPHQL_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(variables=strategy)
    def check(variables: dict) -> None:
        # ensure_ascii keeps lone surrogates as \\ud800 escapes (they cannot be UTF-8 encoded).
        body = json.dumps({"query": document, "variables": variables}, ensure_ascii=True)
        r = client.post("/graphql", content=body)
        _no_fault(r.status_code, r.content, f"{name} {body[:300]}")
        for error in r.json().get("errors") or ():
            code = (error.get("extensions") or {}).get("code")
            assert code and code != "INTERNAL_SERVER_ERROR", f"{name}: {error} for {body[:300]}"

    try:
        check()
    finally:
        client.close()
