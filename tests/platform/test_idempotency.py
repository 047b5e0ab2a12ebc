"""Idempotency keys on every operation that creates something: a retry with the same key gets the
first result and stores nothing twice; other inputs are refused; keys are per caller and
operation, and expire. REST (`Idempotency-Key`) and the GraphQL twins (`idempotencyKey`; the native workflow and
billing mutations take it in their `input`).

Rows are counted in the server's own database (`run_sql`), so "nothing twice" is what is stored,
not what is answered.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from strawberry.relay import to_base64

from agentdeck.db.base import Base
from agentdeck.db.migrate import upgrade
from agentdeck.db.session import Database
from agentdeck.domain.common.idempotency import purge_expired
from tests.harness import assert_documented, fresh_database, sse_events, start_server
from tests.users import register, run_sql

CHAT, STREAM = "/api/v1/chat", "/api/v1/chat/stream"
WF = "/api/v1/workflows"
UPLOAD = "/api/v1/storage/objects/upload-url"
CONTACT = "/api/v1/contact"
USAGE = "/api/v1/billing/tenants/{tenant_id}/usage"
SUBSCRIPTION = "/api/v1/billing/tenants/{tenant_id}/subscription"
LONG_AGO = "2000-01-01 00:00:00"  # a created_at far past any key's lifetime, on both databases


@pytest.fixture(scope="module")
def owner(server):
    return register(server, verified=True)


@pytest.fixture(scope="module")
def stranger(server):
    """Another tenant's owner."""
    return register(server, verified=True, tenant_name="Other Tenant")


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def db_id(server, value: str) -> str:
    # SQLAlchemy's Uuid type stores 32 hex digits on SQLite and a native uuid on PostgreSQL.
    return uuid.UUID(value).hex if server.env["AGENTDECK_DATABASE_URL"].startswith("sqlite") else value


def count(server, sql: str, **params: str) -> int:
    return run_sql(server, sql, params)[0][0]


def turns(server, conversation_id: str) -> tuple[int, int]:
    """(chat runs, messages) of a conversation."""
    cid = db_id(server, conversation_id)
    return (
        count(server, "SELECT count(*) FROM chat_runs WHERE conversation_id = :c", c=cid),
        count(server, "SELECT count(*) FROM conversation_messages WHERE conversation_id = :c", c=cid),
    )


def workflow_runs(server, conversation_id: str) -> int:
    return count(
        server, "SELECT count(*) FROM workflow_runs WHERE conversation_id = :c", c=db_id(server, conversation_id)
    )


def run_conversation(server, account, run_id: str) -> str:
    """The conversation of a workflow run (the native graph's run has no conversation edge yet)."""
    return server.rest("GET", f"{WF}/runs/{run_id}", token=account.access_token).json()["conversation_id"]


def expire(server, key: str) -> None:
    """Move a key's first use back past its lifetime."""
    run_sql(server, f"UPDATE idempotency_keys SET created_at = '{LONG_AGO}' WHERE \"key\" = :k", {"k": key})


def key_rows(server, key: str) -> int:
    return count(server, 'SELECT count(*) FROM idempotency_keys WHERE "key" = :k', k=key)


def assert_reused(response: httpx.Response, key: str, loc: list) -> None:
    """The documented 422 envelope, naming the key."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["success"] is False and body["error"] == "ValidationError"
    [detail] = body["details"]
    assert detail["loc"] == loc and detail["type"] == "idempotency_key_reused"
    assert f"'{key}'" in detail["msg"] and "different inputs" in detail["msg"]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def gql_code(result: dict) -> str:
    assert result.get("data") is None or not any(result["data"].values()), result
    return result["errors"][0]["extensions"]["code"]


# -- chat -------------------------------------------------------------------------------------------


def test_chat_retry_returns_the_first_answer_and_stores_one_turn(server, owner):
    key, body = new_key(), {"message": "idempotent hello"}
    first = server.rest("POST", CHAT, token=owner.access_token, json=body, headers=keyed(key))
    assert first.status_code == 200, first.text
    assert_documented("POST", CHAT, first)
    again = server.rest("POST", CHAT, token=owner.access_token, json=body, headers=keyed(key))
    assert again.status_code == 200 and again.json() == first.json()
    cid = first.json()["conversation_id"]
    assert turns(server, cid) == (1, 2)

    # The GraphQL twin is the same operation: the REST key's answer, nothing new.
    twin = server.gql(
        "mutation($i: SendMessageInput!) { sendMessage(input: $i) "
        "{ conversation { databaseId } response streamId status usage { inputTokens outputTokens totalTokens "
        "cachedInputTokens reasoningOutputTokens requests } userErrors { message } } }",
        {"i": {**body, "idempotencyKey": key}},
        token=owner.access_token,
    )["data"]["sendMessage"]
    meta = first.json()["metadata"]
    assert twin["userErrors"] == [] and twin["conversation"]["databaseId"] == cid
    assert twin["response"] == first.json()["response"]
    assert (twin["streamId"], twin["status"].lower()) == (meta["stream_id"], meta["status"])
    assert twin["usage"] == {_camel(k): v for k, v in meta["usage"].items()}
    assert turns(server, cid) == (1, 2)

    # Without a key every request is a new turn, as before.
    plain = server.rest("POST", CHAT, token=owner.access_token, json={**body, "conversation_id": cid})
    assert plain.status_code == 200 and turns(server, cid) == (2, 4)


def test_chat_with_other_inputs_is_refused_and_stores_nothing(server, owner):
    key = new_key()
    first = server.rest("POST", CHAT, token=owner.access_token, json={"message": "first body"}, headers=keyed(key))
    cid = first.json()["conversation_id"]
    other = server.rest("POST", CHAT, token=owner.access_token, json={"message": "another body"}, headers=keyed(key))
    assert_reused(other, key, ["header", "Idempotency-Key"])
    assert_documented("POST", CHAT, other)
    gql = server.gql(
        'mutation($k: String) { sendMessage(input: {message: "another body", idempotencyKey: $k}) '
        "{ response userErrors { field message code } } }",
        {"k": key},
        token=owner.access_token,
    )["data"]["sendMessage"]
    [error] = gql["userErrors"]
    assert gql["response"] is None and error["field"] == ["input", "idempotencyKey"] and key in error["message"]
    assert turns(server, cid) == (1, 2)
    assert count(server, "SELECT count(*) FROM conversations WHERE display_name = 'another body'") == 0


@pytest.mark.parametrize("bad", ["", "has space", "k" * 256, "tab\there", "ключ"])
def test_malformed_keys_are_422_before_anything_runs(server, owner, bad):
    before = count(server, "SELECT count(*) FROM chat_runs")
    r = server.rest(
        "POST",
        CHAT,
        token=owner.access_token,
        json={"message": "never runs"},
        headers={"Idempotency-Key": bad.encode()},
    )
    assert r.status_code == 422, r.text
    assert_documented("POST", CHAT, r)
    assert r.json()["details"][0]["loc"] == ["header", "Idempotency-Key"]
    gql = server.gql(
        'mutation($k: String) { sendMessage(input: {message: "never runs", idempotencyKey: $k}) { response } }',
        {"k": bad},
        token=owner.access_token,
    )
    assert gql_code(gql) == "INVALID_INPUT"
    assert count(server, "SELECT count(*) FROM chat_runs") == before


def test_a_key_refused_before_anything_was_created_can_be_used_again(server, owner):
    key = new_key()
    refused = server.rest(
        "POST", CHAT, token=owner.access_token, json={"message": "x", "conversation_id": "nope"}, headers=keyed(key)
    )
    assert refused.status_code == 422, refused.text
    assert key_rows(server, key) == 0  # nothing recorded
    corrected = server.rest("POST", CHAT, token=owner.access_token, json={"message": "corrected"}, headers=keyed(key))
    assert corrected.status_code == 200, corrected.text
    assert turns(server, corrected.json()["conversation_id"]) == (1, 2)


def test_keys_are_per_caller_and_per_operation(server, owner, stranger):
    key, body = new_key(), {"message": "same key, two tenants"}
    mine = server.rest("POST", CHAT, token=owner.access_token, json=body, headers=keyed(key)).json()
    theirs = server.rest("POST", CHAT, token=stranger.access_token, json=body, headers=keyed(key))
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["conversation_id"] != mine["conversation_id"]
    assert turns(server, theirs.json()["conversation_id"]) == (1, 2)
    # Another operation with the same key and body is its own request.
    streamed = sse_events(
        server.rest("POST", STREAM, token=owner.access_token, json=body, headers=keyed(key), timeout=30)
    )
    assert streamed[-1][1]["kind"] == "final" and streamed[0][1]["conversation_id"] != mine["conversation_id"]


def test_an_expired_key_is_a_new_key(server, owner):
    key, body = new_key(), {"message": "expiring"}
    first = server.rest("POST", CHAT, token=owner.access_token, json=body, headers=keyed(key)).json()
    expire(server, key)
    again = server.rest("POST", CHAT, token=owner.access_token, json=body, headers=keyed(key))
    assert again.status_code == 200
    assert again.json()["conversation_id"] != first["conversation_id"]  # a second, new turn
    assert turns(server, again.json()["conversation_id"]) == (1, 2)
    # ...and other inputs are accepted once the key has expired.
    expire(server, key)
    assert (
        server.rest("POST", CHAT, token=owner.access_token, json={"message": "other"}, headers=keyed(key)).status_code
        == 200
    )


def test_chat_stream_retry_replays_the_same_stream(server, owner):
    key, body = new_key(), {"message": "stream me once"}
    first = server.rest("POST", STREAM, token=owner.access_token, json=body, headers=keyed(key), timeout=30)
    assert first.status_code == 200, first.text
    again = server.rest("POST", STREAM, token=owner.access_token, json=body, headers=keyed(key), timeout=30)
    events, replayed = [e for _, e in sse_events(first)], [e for _, e in sse_events(again)]
    assert replayed == events and [e["kind"] for e in events].count("final") == 1
    assert turns(server, events[0]["conversation_id"]) == (1, 2)
    other = server.rest("POST", STREAM, token=owner.access_token, json={"message": "x"}, headers=keyed(key))
    assert_reused(other, key, ["header", "Idempotency-Key"])


def test_graphql_chat_stream_and_start_chat_retries(server, owner):
    key, body = new_key(), {"message": "over the socket"}
    query = (
        "subscription($i: SendMessageInput!) { chatStream(input: $i) "
        "{ ... on StreamEventBase { eventId streamId conversationId } __typename } }"
    )
    runs = []
    for _ in range(2):
        with server.subscription(query, {"i": {**body, "idempotencyKey": key}}, token=owner.access_token) as sub:
            events = []
            while not events or events[-1]["__typename"] not in ("FinalEvent", "ErrorEvent"):
                events.append(sub.next(timeout=10)["data"]["chatStream"])
            runs.append(events)
    assert runs[0] == runs[1] and runs[0][-1]["__typename"] == "FinalEvent"
    assert turns(server, runs[0][0]["conversationId"]) == (1, 2)

    start = (
        "mutation($i: StartChatInput!) { startChat(input: $i) "
        "{ streamId conversation { databaseId } agent { key } userErrors { field } } }"
    )
    skey = new_key()
    first = server.gql(start, {"i": {**body, "idempotencyKey": skey}}, token=owner.access_token)["data"]["startChat"]
    again = server.gql(start, {"i": {**body, "idempotencyKey": skey}}, token=owner.access_token)["data"]["startChat"]
    assert again == first and first["userErrors"] == []
    other = server.gql(start, {"i": {"message": "else", "idempotencyKey": skey}}, token=owner.access_token)
    assert other["data"]["startChat"]["userErrors"] == [{"field": ["input", "idempotencyKey"]}]
    time.sleep(0.5)  # the turn finishes
    assert (
        count(
            server,
            "SELECT count(*) FROM chat_runs WHERE conversation_id = :c",
            c=db_id(server, first["conversation"]["databaseId"]),
        )
        == 1
    )


# -- workflows ---------------------------------------------------------------------------------------


def test_workflow_run_retry_returns_the_first_result_and_stores_one_run(server, owner):
    key, body = new_key(), {"message": "run me once"}
    first = server.rest(
        "POST", f"{WF}/analysis_code/run", token=owner.access_token, json=body, headers=keyed(key), timeout=60
    )
    assert first.status_code == 200, first.text
    assert_documented("POST", f"{WF}/{{workflow_key}}/run", first)
    again = server.rest(
        "POST", f"{WF}/analysis_code/run", token=owner.access_token, json=body, headers=keyed(key), timeout=60
    )
    assert again.status_code == 200 and again.json() == first.json()
    assert workflow_runs(server, first.json()["conversation_id"]) == 1
    # The workflow's key is an input: the same key for another workflow is another request.
    other = server.rest(
        "POST", f"{WF}/research_report_pdf/run", token=owner.access_token, json=body, headers=keyed(key), timeout=60
    )
    assert_reused(other, key, ["header", "Idempotency-Key"])

    twin = "mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { run { databaseId } userErrors { code } } }"
    native = {"workflowId": to_base64("Workflow", "analysis_code"), **body, "idempotencyKey": new_key()}
    a = server.gql(twin, {"i": native}, token=owner.access_token)["data"]["runWorkflow"]
    b = server.gql(twin, {"i": native}, token=owner.access_token)["data"]["runWorkflow"]
    assert a == b and a["userErrors"] == []
    assert workflow_runs(server, run_conversation(server, owner, a["run"]["databaseId"])) == 1


def test_workflow_stream_and_start_retries(server, owner):
    key, body = new_key(), {"message": "stream this run once"}
    path = f"{WF}/analysis_code/run-stream"
    first = server.rest("POST", path, token=owner.access_token, json=body, headers=keyed(key), timeout=60)
    again = server.rest("POST", path, token=owner.access_token, json=body, headers=keyed(key), timeout=60)
    events, replayed = [e for _, e in sse_events(first)], [e for _, e in sse_events(again)]
    assert events and replayed == events and events[-1]["kind"] == "final"
    assert workflow_runs(server, events[0]["conversation_id"]) == 1

    sub = (
        "subscription($i: RunWorkflowInput!) { workflowRunStream(input: $i) { "
        "... on StreamEventBase { eventId streamId } __typename } }"
    )
    native = {"workflowId": to_base64("Workflow", "analysis_code"), **body, "idempotencyKey": new_key()}
    seen = []
    for _ in range(2):
        with server.subscription(sub, {"i": native}, token=owner.access_token) as ws:
            got = []
            while not got or got[-1]["__typename"] not in ("FinalEvent", "ErrorEvent"):
                got.append(ws.next(timeout=20)["data"]["workflowRunStream"])
            seen.append(got)
    assert seen[0] == seen[1]

    start = "mutation($i: StartWorkflowRunInput!) { startWorkflowRun(input: $i) { run { databaseId } } }"
    native = {"workflowId": to_base64("Workflow", "analysis_code"), **body, "idempotencyKey": new_key()}
    a = server.gql(start, {"i": native}, token=owner.access_token)["data"]["startWorkflowRun"]
    b = server.gql(start, {"i": native}, token=owner.access_token)["data"]["startWorkflowRun"]
    assert a == b and workflow_runs(server, run_conversation(server, owner, a["run"]["databaseId"])) == 1


# -- billing -----------------------------------------------------------------------------------------


def test_usage_records_once_per_key_however_the_key_is_sent(server):
    acct = register(server, verified=True)
    url, t = USAGE.format(tenant_id=acct.tenant_id), acct.access_token
    feature = f"f-{uuid.uuid4().hex[:8]}"

    def records() -> int:
        return count(server, "SELECT count(*) FROM usage_records WHERE feature_key = :f", f=feature)

    key, body = new_key(), {"feature_key": feature, "quantity": 5}
    first = server.rest("POST", url, token=t, json=body, headers=keyed(key))
    assert first.status_code == 202, first.text
    assert_documented("POST", USAGE, first)
    # The same key as the header, in the body, or both: one key, one record.
    for retry in (
        {"json": body, "headers": keyed(key)},
        {"json": {**body, "idempotency_key": key}},
        {"json": {**body, "idempotency_key": key}, "headers": keyed(key)},
    ):
        again = server.rest("POST", url, token=t, **retry)
        assert again.status_code == 202 and again.json() == first.json(), again.text
    assert records() == 1
    assert count(server, "SELECT count(*) FROM usage_records WHERE idempotency_key = :k", k=key) == 1

    assert_reused(
        server.rest("POST", url, token=t, json={**body, "quantity": 6}, headers=keyed(key)),
        key,
        ["header", "Idempotency-Key"],
    )
    assert_reused(
        server.rest("POST", url, token=t, json={**body, "quantity": 6, "idempotency_key": key}),
        key,
        ["body", "idempotency_key"],
    )
    differ = server.rest("POST", url, token=t, json={**body, "idempotency_key": "one"}, headers=keyed("two"))
    assert differ.status_code == 422 and differ.json()["details"][0]["loc"] == ["body", "idempotency_key"]
    bad = server.rest("POST", url, token=t, json={**body, "idempotency_key": "has space"})
    assert bad.status_code == 422 and bad.json()["details"][0]["loc"] == ["body", "idempotency_key"]
    assert records() == 1

    # Expired: a new key, but the record keeps its key, so the same usage is still not counted twice.
    expire(server, key)
    assert server.rest("POST", url, token=t, json=body, headers=keyed(key)).status_code == 202
    assert records() == 1

    mutation = (
        "mutation($i: RecordUsageInput!) { recordUsage(input: $i) { usage { featureKey } userErrors { field code } } }"
    )
    gkey = new_key()
    for _ in range(2):
        r = server.gql(mutation, {"i": {"featureKey": feature, "quantity": 1, "idempotencyKey": gkey}}, token=t)
        assert r["data"]["recordUsage"]["userErrors"] == [], r
    assert records() == 2
    r = server.gql(mutation, {"i": {"featureKey": feature, "quantity": 2, "idempotencyKey": gkey}}, token=t)
    assert r["data"]["recordUsage"] == {
        "usage": None,
        "userErrors": [{"field": ["input", "idempotencyKey"], "code": "INVALID"}],
    }, r


def test_subscription_retry_answers_the_first_start_not_409(server):
    acct = register(server, verified=True)
    url, t = SUBSCRIPTION.format(tenant_id=acct.tenant_id), acct.access_token
    key, body = new_key(), {"plan_code": "starter", "billing_email": "pay@example.com"}
    first = server.rest("POST", url, token=t, json=body, headers=keyed(key))
    assert first.status_code == 201, first.text
    assert_documented("POST", SUBSCRIPTION, first)
    # Changed since: the retry still gets what the first request answered.
    assert server.rest("PATCH", url, token=t, json={"seat_count": 3}).status_code == 200
    again = server.rest("POST", url, token=t, json=body, headers=keyed(key))
    assert again.status_code == 201 and again.json() == first.json()
    created = "SELECT count(*) FROM stripe_events WHERE event_type = 'customer.subscription.created' AND tenant_id = :t"
    assert count(server, created, t=db_id(server, acct.tenant_id)) == 1
    assert_reused(
        server.rest("POST", url, token=t, json={**body, "plan_code": "pro"}, headers=keyed(key)),
        key,
        ["header", "Idempotency-Key"],
    )
    # Without the key (or once it has expired) a second start is the documented conflict.
    assert server.rest("POST", url, token=t, json=body).status_code == 409
    expire(server, key)
    assert server.rest("POST", url, token=t, json=body, headers=keyed(key)).status_code == 409

    other = register(server, verified=True)
    plans = server.gql("{ billingPlans { nodes { id code } } }")["data"]["billingPlans"]["nodes"]
    starter = next(p["id"] for p in plans if p["code"] == "starter")
    mutation = (
        "mutation($i: StartSubscriptionInput!) { startSubscription(input: $i) "
        "{ subscription { id plan { code } status startsAt currentPeriodEnd } userErrors { message } } }"
    )
    variables = {"i": {"planId": starter, "idempotencyKey": new_key()}}
    answers = [server.gql(mutation, variables, token=other.access_token) for _ in range(2)]
    assert answers[0]["data"]["startSubscription"]["subscription"] is not None, answers[0]
    assert answers[0]["data"] == answers[1]["data"]  # extensions.cost differs: the budget spent
    assert count(server, created, t=db_id(server, other.tenant_id)) == 1


# -- storage, contact --------------------------------------------------------------------------------


def test_upload_url_retry_is_the_same_object_with_a_fresh_url(server, owner):
    key = new_key()
    name = f"{uuid.uuid4().hex[:8]}.txt"
    body = {"filename": name, "mime_type": "text/plain", "size_bytes": 5}
    first = server.rest("POST", UPLOAD, token=owner.access_token, json=body, headers=keyed(key))
    assert first.status_code == 201, first.text
    assert_documented("POST", UPLOAD, first)
    again = server.rest("POST", UPLOAD, token=owner.access_token, json=body, headers=keyed(key))
    assert again.status_code == 201, again.text
    same = ("object_id", "bucket", "object_key", "method", "headers", "expires_in_seconds")
    assert {k: again.json()[k] for k in same} == {k: first.json()[k] for k in same}
    assert count(server, "SELECT count(*) FROM storage_objects WHERE filename = :f", f=name) == 1
    # The URL the retry got works for the object.
    put = httpx.put(again.json()["upload_url"], content=b"hello", headers=again.json()["headers"])
    assert put.status_code in (200, 201, 204), put.text
    assert_reused(
        server.rest("POST", UPLOAD, token=owner.access_token, json={**body, "size_bytes": 6}, headers=keyed(key)),
        key,
        ["header", "Idempotency-Key"],
    )

    mutation = (
        "mutation($i: CreateStorageUploadInput!, $k: String) { createStorageUpload(input: $i, "
        "idempotencyKey: $k) { storageObject { id objectKey } } }"
    )
    gkey, gname = new_key(), f"{uuid.uuid4().hex[:8]}.txt"
    answers = [
        server.gql(
            mutation,
            {"i": {"filename": gname, "mimeType": "text/plain", "sizeBytes": 1}, "k": gkey},
            token=owner.access_token,
        )["data"]["createStorageUpload"]
        for _ in range(2)
    ]
    assert answers[0] == answers[1]
    assert count(server, "SELECT count(*) FROM storage_objects WHERE filename = :f", f=gname) == 1


def test_contact_retry_is_one_submission(server, owner):
    email = f"idem-{uuid.uuid4().hex[:8]}@example.com"

    def stored() -> int:
        return count(server, "SELECT count(*) FROM contact_submissions WHERE email = :e", e=email)

    key, body = new_key(), {"email": email, "message": "Please call me back."}
    first = server.rest("POST", CONTACT, json=body, headers=keyed(key))
    assert first.status_code == 202, first.text
    assert_documented("POST", CONTACT, first)
    again = server.rest("POST", CONTACT, json=body, headers=keyed(key))
    assert again.status_code == 202 and again.json() == first.json()
    # The native mutation with the same key and input is the same submission.
    native = server.gql(
        "mutation($i: SubmitContactInput!) { submitContact(input: $i) { receipt { referenceId } } }",
        {"i": {**body, "idempotencyKey": key}},
    )
    assert native["data"]["submitContact"]["receipt"]["referenceId"] == first.json()["data"]["reference_id"]
    assert (
        stored() == 1
        and count(
            server,
            "SELECT count(*) FROM mail_outbox WHERE subject LIKE :s",
            s=f"%{first.json()['data']['reference_id'][:8]}%",
        )
        == 1
    )
    # (Rate limits count every request, retries too: 3 an hour per email, so other addresses.)
    assert_reused(
        server.rest("POST", CONTACT, json={**body, "email": f"x-{email}"}, headers=keyed(key)),
        key,
        ["header", "Idempotency-Key"],
    )
    # A signed-in caller's keys are not the anonymous address's.
    signed_in = server.rest("POST", CONTACT, token=owner.access_token, json=body, headers=keyed(key))
    assert signed_in.status_code == 202 and signed_in.json() != first.json()
    assert stored() == 2

    mutation = "mutation($i: SubmitContactInput!) { submitContact(input: $i) { receipt { referenceId } } }"
    gkey = new_key()
    twin = {**body, "email": f"gql-{email}", "idempotencyKey": gkey}
    refs = [server.gql(mutation, {"i": twin})["data"]["submitContact"]["receipt"]["referenceId"] for _ in range(2)]
    assert refs[0] == refs[1]
    assert count(server, "SELECT count(*) FROM contact_submissions WHERE email = :e", e=twin["email"]) == 1


# -- concurrency and in-flight retries ----------------------------------------------------------------


@pytest.fixture(scope="module")
def slow(backend, tmp_path_factory):
    """A server whose offline model takes 60 ms per word, so a turn is in flight for seconds."""
    tmp = tmp_path_factory.mktemp(f"idempotency-slow-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, env={"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "60"}, backend=backend, database_url=url)
        try:
            yield srv
        finally:
            srv.stop()


def _read_stream(
    server, token: str, path: str, body: dict, key: str, out: list, started: threading.Event | None, after: int = 0
) -> None:
    """Read an SSE stream into `out`; set `started` once `after` events have arrived."""
    with httpx.stream(
        "POST",
        server.base_url + path,
        json=body,
        timeout=60,
        headers={"Authorization": f"Bearer {token}", **keyed(key)},
    ) as r:
        assert r.status_code == 200, r.read()
        buffer = ""
        for chunk in r.iter_text():
            buffer += chunk
            while "\n\n" in buffer:
                frame, buffer = buffer.split("\n\n", 1)
                data = [line[6:] for line in frame.split("\n") if line.startswith("data: ")]
                if data:
                    out.append(json.loads(data[0]))
                if started is not None and len(out) >= after:
                    started.set()


LONG = " ".join(f"word{i}" for i in range(40))


def test_a_retry_while_the_turn_is_in_flight_joins_its_stream(slow):
    acct = register(slow, verified=True)
    key, body = new_key(), {"message": LONG}
    first: list[dict] = []
    started = threading.Event()
    reader = threading.Thread(target=_read_stream, args=(slow, acct.access_token, STREAM, body, key, first, started, 3))
    reader.start()
    assert started.wait(15)
    second: list[dict] = []
    _read_stream(slow, acct.access_token, STREAM, body, key, second, None)
    reader.join(60)
    assert not reader.is_alive()
    assert second == first  # the same stream, from its first event
    kinds = [e["kind"] for e in first]
    assert kinds.count("final") == 1 and kinds[-1] == "final" and len({e["stream_id"] for e in first}) == 1
    assert turns(slow, first[0]["conversation_id"]) == (1, 2)


def test_a_sync_retry_while_the_turn_is_in_flight_waits_for_it(slow):
    acct = register(slow, verified=True)
    key, body = new_key(), {"message": LONG}

    def call(delay: float) -> httpx.Response:
        time.sleep(delay)
        return slow.rest("POST", CHAT, token=acct.access_token, json=body, headers=keyed(key), timeout=60)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(call, (0, 0.7))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert second.json() == first.json()
    assert turns(slow, first.json()["conversation_id"]) == (1, 2)


def test_concurrent_first_requests_create_one_turn_and_one_run(slow):
    acct = register(slow, verified=True)
    key, body = new_key(), {"message": "racing requests"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: slow.rest("POST", CHAT, token=acct.access_token, json=body, headers=keyed(key), timeout=60),
                range(4),
            )
        )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert all(a.json() == answers[0].json() for a in answers)
    assert turns(slow, answers[0].json()["conversation_id"]) == (1, 2)

    wkey = new_key()
    with ThreadPoolExecutor(3) as pool:
        runs = list(
            pool.map(
                lambda _: slow.rest(
                    "POST",
                    f"{WF}/analysis_code/run",
                    token=acct.access_token,
                    json=body,
                    headers=keyed(wkey),
                    timeout=60,
                ),
                range(3),
            )
        )
    assert [r.status_code for r in runs] == [200] * 3 and all(r.json() == runs[0].json() for r in runs)
    assert workflow_runs(slow, runs[0].json()["conversation_id"]) == 1


def test_a_workflow_stream_retry_while_the_run_is_in_flight_joins_it(slow):
    acct = register(slow, verified=True)
    key, body = new_key(), {"message": "a run slow enough to join"}
    path = f"{WF}/analysis_code/run-stream"
    first: list[dict] = []
    started = threading.Event()
    reader = threading.Thread(target=_read_stream, args=(slow, acct.access_token, path, body, key, first, started, 2))
    reader.start()
    assert started.wait(15)
    second: list[dict] = []
    _read_stream(slow, acct.access_token, path, body, key, second, None)
    reader.join(60)
    assert second == first and [e["kind"] for e in first].count("final") == 1
    assert workflow_runs(slow, first[0]["conversation_id"]) == 1


def test_expired_keys_are_purged_in_bounded_batches(slow):
    """The sweep (`purge_expired`, each status-monitor round) deletes expired rows, not live ones."""
    acct = register(slow, verified=True)
    live, dead = new_key(), new_key()
    for key in (live, dead):
        assert (
            slow.rest(
                "POST", CHAT, token=acct.access_token, json={"message": key}, headers=keyed(key), timeout=60
            ).status_code
            == 200
        )
    expire(slow, dead)

    async def sweep() -> int:
        db = Database(slow.env["AGENTDECK_DATABASE_URL"])
        try:
            return await purge_expired(db, 24)
        finally:
            await db.dispose()

    assert asyncio.run(sweep()) >= 1
    assert key_rows(slow, dead) == 0 and key_rows(slow, live) == 1


def test_the_migration_matches_the_models(backend, tmp_path):
    async def diff(url: str) -> list:
        await asyncio.to_thread(upgrade, url)  # alembic's env calls asyncio.run
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                return await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        finally:
            await db.dispose()

    with fresh_database(backend, tmp_path) as url:
        found = asyncio.run(diff(url))
    assert [d for d in found if "idempotency_key" in repr(d)] == []
