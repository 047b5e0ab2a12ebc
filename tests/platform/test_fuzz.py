"""Fuzzers: nothing a client sends yields a 5xx or a masked error.

- REST: schemathesis generates requests (valid and invalid) for every operation of the served
  `openapi.json` and sends them with a valid token.
- GraphQL: hypothesis generates variables for every root field of the committed SDL, from values
  of the right shape to hostile ones (huge integers, NUL, lone surrogates, control characters,
  wrong types, unknown enum values, nulls), and sends them over HTTP.

Both run against a server of their own per backend (they create a lot of data and spend rate
limits), bounded in examples so that the suite stays fast.
"""

from __future__ import annotations

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

    @settings(max_examples=REST_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        response = case.call(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
        _no_fault(response.status_code, response.content, f"{case.method} {case.formatted_path} {case.body!r:.300}")
        content_type = "".join(response.headers.get("content-type", []))
        if response.status_code >= 400 and content_type.startswith("application/json"):
            body = response.json()
            # Either the documented envelope or the framework's {"detail": ...} (404/405).
            assert ("success" in body and body["message"]) or "detail" in body, body

    check()


# --- GraphQL ----------------------------------------------------------------------------------

SDL = build_schema((ROOT / "schema.graphql").read_text())
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
    strategy = st.fixed_dictionaries({v: values_for(t) for v, t in types.items()})
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
