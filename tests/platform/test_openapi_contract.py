"""What openapi.json declares is what the server does: security, and limits at their boundary."""

from __future__ import annotations

import json
import re
import uuid

from graphql import GraphQLInputObjectType

from agentdeck.rest_compat.names import BACKREF, rest_name
from agentdeck.schema import REST, build_schema
from agentdeck.schema.limits import limit_of
from tests.harness import BOOTSTRAP_SECRET, ROOT, assert_documented
from tests.users import PASSWORD, register

INT32 = (-(2**31), 2**31 - 1)  # GraphQL's Int: the server refuses any other integer

PUBLIC = {
    ("GET", "/health"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/register"),
    ("GET", "/api/v1/billing/plans"),
    ("GET", "/api/v1/status"),
    ("GET", "/api/v1/status/rss"),
}


def _operations(doc: dict):
    for template, item in doc["paths"].items():
        for method, op in item.items():
            yield method.upper(), template, op


def test_bearer_scheme_is_declared_and_public_operations_have_none():
    import json

    doc = json.loads((ROOT / "openapi.json").read_text())
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    security = {(m, p): op.get("security") for m, p, op in _operations(doc)}
    assert all(security[op] is None for op in PUBLIC)
    assert security[("GET", "/api/v1/conversations")] == [{"bearerAuth": []}]
    assert security[("GET", "/api/v1/auth/me")] == [{"bearerAuth": []}]
    assert security[("POST", "/api/v1/status/subscriptions")] == [{}, {"bearerAuth": []}]


def test_declared_security_matches_what_the_server_does_without_a_token(server):
    """Every operation that binds without a body: required bearer → 401, otherwise never 401."""
    doc = server.rest("GET", "/openapi.json").json()
    checked = 0
    for method, template, op in _operations(doc):
        path = re.sub(r"{\w+}", str(uuid.uuid4()), template)
        with server.http.stream(method, path) as r:  # streams: the status line is enough
            status = r.status_code
            r.close()
        if status == 422 or op.get("security") == [{}, {"bearerAuth": []}]:
            continue  # rejected before any credential is looked at; or the token is optional
        required = op.get("security") == [{"bearerAuth": []}]
        assert (status == 401) == required, (method, template, status, op.get("security"))
        checked += 1
    assert checked >= 50


def _fill(template: str, tenant_id: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: tenant_id if m.group(1) == "tenant_id" else str(uuid.uuid4()), template)


def test_declared_query_bounds_hold_at_the_boundary(server):
    """Every integer query parameter with declared bounds: the bound itself passes, one beyond
    it is the legacy 422 naming the parameter."""
    owner = register(server, verified=True)
    doc = server.rest("GET", "/openapi.json").json()
    checked = set()
    for method, template, op in _operations(doc):
        for param in op.get("parameters", []):
            schema = param["schema"]
            if param["in"] != "query" or "maximum" not in schema:
                continue
            path = _fill(template, owner.tenant_id)
            required = {p["name"]: "x" for p in op["parameters"] if p["required"] and p["in"] == "query"}
            for token in (owner.access_token, BOOTSTRAP_SECRET):
                at_max = server.rest(method, path, token=token, params={**required, param["name"]: schema["maximum"]})
                if at_max.status_code not in (401, 403):
                    break
            else:
                continue  # neither caller may use it: bounds are not reached
            assert at_max.status_code != 422, (template, param["name"], at_max.text)
            for value, kind in (
                (schema["maximum"] + 1, "less_than_equal"),
                (schema["minimum"] - 1, "greater_than_equal"),
            ):
                r = server.rest(method, path, token=token, params={**required, param["name"]: value})
                assert r.status_code == 422, (template, param["name"], value, r.text)
                detail = r.json()["details"][0]
                assert detail["loc"] == ["query", param["name"]] and detail["type"] == kind, (template, detail)
            checked.add((template, param["name"]))
    assert len(checked) >= 12, checked
    assert ("/api/v1/conversations/search", "limit") in checked  # a smaller bound than the others


def test_declared_body_bounds_hold_at_the_boundary(server):
    doc = server.rest("GET", "/openapi.json").json()["components"]["schemas"]
    contact = doc["ContactInput"]["properties"]
    longest, shortest = contact["message"]["maxLength"], contact["message"]["minLength"]
    # A filled honeypot is answered without being kept or counted against the rate limits.
    body = {"email": "bound@example.com", "honeypot": "x" * contact["honeypot"]["anyOf"][0]["maxLength"]}
    assert server.rest("POST", "/api/v1/contact", json={**body, "message": "m" * longest}).status_code == 202
    assert server.rest("POST", "/api/v1/contact", json={**body, "message": "m" * shortest}).status_code == 202
    for message, kind in (
        ("m" * (longest + 1), "string_too_long"),
        ("m" * (shortest - 1), "string_too_short"),
        (" " * shortest, "string_too_short"),
    ):
        r = server.rest("POST", "/api/v1/contact", json={**body, "message": message})
        assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "message"], r.text
        assert r.json()["details"][0]["type"] == kind
    assert contact["email"]["format"] == "email"
    r = server.rest("POST", "/api/v1/contact", json={**body, "email": "not-an-email", "message": "m" * shortest})
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "email"]

    owner = register(server, verified=True)
    upload = doc["StoragePresignUploadInput"]["properties"]
    name_max = upload["filename"]["maxLength"]
    request = {"mime_type": "text/plain", "size_bytes": upload["size_bytes"]["minimum"]}
    r = server.rest(
        "POST",
        "/api/v1/storage/objects/upload-url",
        token=owner.access_token,
        json={**request, "filename": "f" * name_max},
    )
    assert r.status_code == 201, r.text
    r = server.rest(
        "POST",
        "/api/v1/storage/objects/upload-url",
        token=owner.access_token,
        json={**request, "filename": "f" * (name_max + 1), "size_bytes": -1},
    )
    assert r.status_code == 422
    assert {tuple(d["loc"]) for d in r.json()["details"]} == {("body", "filename"), ("body", "size_bytes")}
    # GraphQL reports the same bound, as a user error at its input field.
    gql = server.gql(
        "mutation($i: SubmitContactInput!) { submitContact(input: $i) { userErrors { field code } } }",
        {"i": {**body, "message": "m" * (longest + 1)}},
    )
    assert gql["data"]["submitContact"]["userErrors"] == [{"field": ["input", "message"], "code": "INVALID"}]


def test_accept_terms_is_declared_required_and_true_where_it_is_enforced(server):
    doc = server.rest("GET", "/openapi.json").json()["components"]["schemas"]
    for name in ("RegisterInput", "SignupRequestInput"):
        assert doc[name]["properties"]["accept_terms"]["const"] is True, name
        assert "accept_terms" in doc[name]["required"], name
    email = f"terms-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "tenant_name": "Terms Co"}
    missing = server.rest("POST", "/api/v1/auth/register", json=body)
    refused = server.rest("POST", "/api/v1/auth/register", json={**body, "accept_terms": False})
    for r, kind in ((missing, "missing"), (refused, "value_error")):
        assert r.status_code == 422, r.text
        assert_documented("POST", "/api/v1/auth/register", r)
        assert [(d["loc"], d["type"]) for d in r.json()["details"]] == [(["body", "accept_terms"], kind)]
    assert "accept_terms: true" in refused.json()["details"][0]["msg"]
    out = server.gql(
        "mutation($i: RegisterInput!) { register(input: $i) { user { id } userErrors { field code } } }",
        {"i": {"email": email, "password": PASSWORD, "tenantName": "Terms Co", "acceptTerms": False}},
    )
    assert out["data"]["register"] == {
        "user": None,
        "userErrors": [{"field": ["input", "acceptTerms"], "code": "INVALID"}],
    }
    assert server.rest("POST", "/api/v1/auth/token", json={"email": email, "password": PASSWORD}).status_code == 401
    r = server.rest("POST", "/api/v1/auth/register", json={**body, "accept_terms": True})
    assert r.status_code == 201, r.text


def test_bounds_are_checked_after_permissions(server):
    """A caller without access learns nothing about the input: 401 before any 422."""
    r = server.rest("GET", "/api/v1/conversations", params={"limit": 500})
    assert r.status_code == 401
    gql = server.gql("{ conversations(first: 500) { totalCount } }")
    assert gql["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def _request_values(doc: dict):
    """(where, schema) of every value a request sends, parameters and bodies ($refs followed)."""
    components = doc["components"]["schemas"]

    def walk(schema: dict, where: str, seen: frozenset):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                yield from walk(components[name], f"{where}<{name}>", seen | {name})
            return
        yield where, schema
        for branch in schema.get("anyOf", ()):
            yield from walk(branch, where, seen)
        if "items" in schema:
            yield from walk(schema["items"], f"{where}[]", seen)
        for key, value in schema.get("properties", {}).items():
            yield from walk(value, f"{where}.{key}", seen)

    for method, template, op in _operations(doc):
        for param in op.get("parameters", []):
            yield from walk(param["schema"], f"{method} {template} {param['in']}:{param['name']}", frozenset())
        for media in op.get("requestBody", {}).get("content", {}).values():
            yield from walk(media["schema"], f"{method} {template} body", frozenset())


def _declares(schema: dict, expected: dict) -> bool:
    """`schema` (or its non-null branch) carries every keyword of `expected`."""
    branch = schema["anyOf"][0] if "anyOf" in schema else schema
    return all(branch.get(k) == v for k, v in expected.items())


def test_every_bound_the_server_enforces_on_a_request_is_declared():
    """openapi.json names every limit a request meets: an integer's range (offsets, headers and
    body integers had none, though anything past 32 bits is refused), the `Limit` of every input
    field, and the strings the domain checks (a webhook URL's length and format, a UUID)."""
    doc = json.loads((ROOT / "openapi.json").read_text())
    values = list(_request_values(doc))
    integers = [(where, s) for where, s in values if s.get("type") == "integer"]
    assert len(integers) >= 40
    undeclared = [
        where for where, s in integers if "maximum" not in s or ("minimum" not in s and "exclusiveMinimum" not in s)
    ]
    assert undeclared == []
    for where, s in integers:
        assert INT32[0] <= s.get("minimum", s.get("exclusiveMinimum")) < s["maximum"] <= INT32[1], where
    # Every input field the REST face bounds (a `Limit`, checked before the resolver runs).
    schema, components = build_schema(face=REST)._schema, doc["components"]["schemas"]
    checked = 0
    for name, component in components.items():
        t = schema.get_type(name)
        if not isinstance(t, GraphQLInputObjectType):
            continue
        for field_name, field in t.fields.items():
            limit = limit_of((field.extensions or {}).get(BACKREF))
            if limit is not None:
                declared = component["properties"][rest_name(field_name, field)]
                is_list = (declared["anyOf"][0] if "anyOf" in declared else declared).get("type") == "array"
                assert _declares(declared, limit.json_schema(is_list=is_list)), (name, field_name, declared)
                checked += 1
    assert checked >= 30
    strings = {where: s for where, s in values if s.get("type") == "string"}
    webhook = {"maxLength": 2048, "format": "uri"}
    assert _declares(strings["PUT /api/v1/tenants/settings body<TenantSettingsInput>.billing_webhook_url"], webhook)
    assert _declares(strings["GET /api/v1/activity/stream header:Last-Event-ID"], {"format": "uuid"})


def test_a_webhook_url_is_bounded_as_declared(server):
    declared = server.rest("GET", "/openapi.json").json()["components"]["schemas"]["TenantSettingsInput"]
    longest = declared["properties"]["billing_webhook_url"]["anyOf"][0]["maxLength"]
    owner = register(server, verified=True)
    base = "https://93.184.215.14/"  # a public address literal: the SSRF guard resolves host names
    body = {"billing_contacts": [], "plan_metadata": {}, "flags": {}}
    for version, (url, status) in enumerate(
        [(base + "a" * (longest - len(base)), 200), (base + "a" * (longest + 1 - len(base)), 422), ("ftp://x", 422)]
    ):
        r = server.rest(
            "PUT",
            "/api/v1/tenants/settings",
            token=owner.access_token,
            json={**body, "billing_webhook_url": url},
            headers={"If-Match": f'"{min(version, 1)}"'},
        )
        assert r.status_code == status, r.text
        if status == 422:
            [detail] = r.json()["details"]
            assert detail["loc"] == ["body", "billing_webhook_url"], detail
            assert detail["type"] == ("string_too_long" if url.startswith("https") else "url_parsing"), detail
