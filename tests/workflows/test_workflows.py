"""Workflows: the catalog, synchronous and streamed runs, run history, cancel; REST and the native
GraphQL graph.

The shared server runs the offline model, so every step answers deterministically.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from strawberry.relay import to_base64

from agentdeck.db.base import Base
from agentdeck.db.migrate import upgrade
from agentdeck.db.session import Database
from agentdeck.domain.catalog.workflows import WorkflowSpec, WorkflowStage, WorkflowStep, validate
from tests.harness import (
    assert_documented,
    assert_schema,
    fresh_database,
    needs_postgres_redis,
    server_with_openai_stub,
    sse_events,
    start_server,
)
from tests.openai_stub import error_mid_stream, slow, text
from tests.users import register

WF = "/api/v1/workflows"


@pytest.fixture(scope="module")
def owner(server):
    return register(server, verified=True)


def _run(server, token: str, key: str, body: dict):
    return server.rest("POST", f"{WF}/{key}/run", token=token, json=body, timeout=60)


def test_specs_are_validated_at_import():
    bad_agent = WorkflowSpec("broken", "B", "b", (WorkflowStage("s", (WorkflowStep("nobody"),)),))
    with pytest.raises(ValueError, match="'broken'.*unknown agent 'nobody'"):
        validate((bad_agent,))
    with pytest.raises(ValueError, match="'empty'.*no stages"):
        validate((WorkflowSpec("empty", "E", "e", ()),))
    zero = WorkflowSpec("zero", "Z", "z", (WorkflowStage("s", (WorkflowStep("researcher", max_turns=0),)),))
    with pytest.raises(ValueError, match="'zero'.*max_turns 0"):
        validate((zero,))
    with pytest.raises(ValueError, match="'hollow'.*no steps"):
        validate((WorkflowSpec("hollow", "H", "h", (WorkflowStage("s", ()),)),))


async def test_the_migration_matches_the_models(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'agentdeck.db'}"
    await asyncio.to_thread(upgrade, url)  # alembic's env calls asyncio.run
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        await db.dispose()
    assert [d for d in diff if "workflow_run" in repr(d)] == []


def test_catalog_and_descriptors(server, owner):
    t = owner.access_token
    r = server.rest("GET", WF, token=t)
    assert r.status_code == 200, r.text
    assert_documented("GET", WF, r)
    body = r.json()
    assert [w["key"] for w in body["items"]] == ["analysis_code", "analysis_parallel", "research_report_pdf"]
    assert body["total"] == 3 and body["next_cursor"] is None
    assert [w["default"] for w in body["items"]] == [True, False, False]
    assert [w["step_count"] for w in body["items"]] == [2, 3, 2]

    first = server.rest("GET", WF, token=t, params={"limit": 2})
    assert [w["key"] for w in first.json()["items"]] == ["analysis_code", "analysis_parallel"]
    rest = server.rest("GET", WF, token=t, params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert [w["key"] for w in rest.json()["items"]] == ["research_report_pdf"] and rest.json()["next_cursor"] is None
    found = server.rest("GET", WF, token=t, params={"search": "PDF"})
    assert [w["key"] for w in found.json()["items"]] == ["research_report_pdf"] and found.json()["total"] == 1
    assert server.rest("GET", WF, token=t, params={"limit": 0}).status_code == 422
    assert server.rest("GET", WF, token=t, params={"cursor": "%%%"}).status_code == 400

    d = server.rest("GET", f"{WF}/analysis_parallel", token=t)
    assert d.status_code == 200, d.text
    assert_documented("GET", f"{WF}/{{workflow_key}}", d)
    desc = d.json()
    assert [(s["name"], s["mode"], s["reducer"]) for s in desc["stages"]] == [
        ("fanout", "parallel", "concat_outputs"),
        ("synthesis", "sequential", None),
    ]
    assert [(st["name"], st["agent_key"]) for st in desc["stages"][0]["steps"]] == [
        ("analysis", "researcher"),
        ("code", "code_assistant"),
    ]
    assert desc["stages"][0]["steps"][0]["guard_type"] == "function" and desc["allow_handoff_agents"] is False
    code = server.rest("GET", f"{WF}/analysis_code", token=t).json()
    assert code["stages"][0]["name"] == "stage-1" and code["stages"][0]["steps"][1]["input_mapper"] == "passthrough"
    missing = server.rest("GET", f"{WF}/nope", token=t)
    assert missing.status_code == 404
    assert_documented("GET", f"{WF}/{{workflow_key}}", missing)


def test_run_persists_steps_and_conversation(server, owner):
    t = owner.access_token
    r = _run(server, t, "analysis_code", {"message": "build a parser"})
    assert r.status_code == 200, r.text
    assert_documented("POST", f"{WF}/{{workflow_key}}/run", r)
    body = r.json()
    assert [(s["name"], s["agent_key"], s["stage_name"]) for s in body["steps"]] == [
        ("analysis", "researcher", "stage-1"),
        ("code", "code_assistant", "stage-1"),
    ]
    assert body["steps"][0]["response_text"] == "[offline model] You said: build a parser"
    # passthrough: the code step gets the analysis step's output
    assert body["steps"][1]["response_text"] == f"[offline model] You said: {body['steps'][0]['response_text']}"
    assert body["final_output"] == body["steps"][1]["response_text"]
    run_id, cid = body["workflow_run_id"], body["conversation_id"]
    uuid.UUID(run_id), uuid.UUID(cid)

    detail = server.rest("GET", f"{WF}/runs/{run_id}", token=t)
    assert detail.status_code == 200, detail.text
    assert_documented("GET", f"{WF}/runs/{{run_id}}", detail)
    d = detail.json()
    assert d["status"] == "succeeded" and d["request_message"] == "build a parser" and d["conversation_id"] == cid
    assert d["final_output_text"] == body["final_output"] and len(d["steps"]) == 2 and d["ended_at"]

    history = server.rest("GET", f"/api/v1/conversations/{cid}", token=t).json()
    assert [(m["role"], m["content"]) for m in history["messages"]] == [
        ("user", "build a parser"),
        ("assistant", body["final_output"]),
    ]
    # The conversation continues with a second run.
    ledger = server.rest("GET", f"/api/v1/conversations/{cid}/events", token=t, params={"workflow_run_id": run_id})
    assert_documented("GET", "/api/v1/conversations/{conversation_id}/events", ledger)
    assert [(i["run_item_type"], i["role"], i["agent"]) for i in ledger.json()["items"]] == [
        ("message", "user", "researcher"),
        ("message", "assistant", "researcher"),
        ("message", "assistant", "code_assistant"),
    ]
    again = _run(server, t, "research_report_pdf", {"message": "quarterly numbers", "conversation_id": cid})
    assert again.status_code == 200 and again.json()["conversation_id"] == cid
    assert "PDF report" in again.json()["steps"][1]["response_text"]  # to_pdf_prompt mapper


def test_parallel_stage_reduces_branches(server, owner):
    r = _run(server, owner.access_token, "analysis_parallel", {"message": "compare sorts"})
    assert r.status_code == 200, r.text
    steps = r.json()["steps"]
    assert [(s["name"], s["parallel_group"], s["branch_index"]) for s in steps] == [
        ("analysis", "fanout", 0),
        ("code", "fanout", 1),
        ("synthesis", None, None),
    ]
    merged = f"{steps[0]['response_text']}\n\n{steps[1]['response_text']}"
    assert steps[2]["response_text"] == f"[offline model] You said: {merged}"


def test_run_list_filters_and_cursor(server):
    acct = register(server, verified=True)
    t = acct.access_token
    ids = [
        _run(server, t, key, {"message": f"m{i}"}).json()["workflow_run_id"]
        for i, key in enumerate(["analysis_code", "research_report_pdf", "analysis_code"])
    ]
    page = server.rest("GET", f"{WF}/runs", token=t)
    assert page.status_code == 200, page.text
    assert_documented("GET", f"{WF}/runs", page)
    assert [i["workflow_run_id"] for i in page.json()["items"]] == ids[::-1]
    item = page.json()["items"][0]
    assert item["status"] == "succeeded" and item["step_count"] == 2 and item["duration_ms"] >= 0
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        p = server.rest("GET", f"{WF}/runs", token=t, params=params).json()
        seen += [i["workflow_run_id"] for i in p["items"]]
        cursor = p["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    only = server.rest("GET", f"{WF}/runs", token=t, params={"workflow_key": "research_report_pdf"}).json()
    assert [i["workflow_run_id"] for i in only["items"]] == [ids[1]]
    assert server.rest("GET", f"{WF}/runs", token=t, params={"run_status": "failed"}).json()["items"] == []
    assert (
        server.rest("GET", f"{WF}/runs", token=t, params={"started_after": "2999-01-01T00:00:00Z"}).json()["items"]
        == []
    )
    assert server.rest("GET", f"{WF}/runs", token=t, params={"run_status": "bogus"}).status_code == 422
    assert server.rest("GET", f"{WF}/runs", token=t, params={"started_before": "yesterday"}).status_code == 422


def test_other_tenants_get_404(server, owner):
    body = _run(server, owner.access_token, "analysis_code", {"message": "private run"}).json()
    other = register(server, verified=True)
    r = server.rest("GET", f"{WF}/runs/{body['workflow_run_id']}", token=other.access_token)
    assert r.status_code == 404
    assert_documented("GET", f"{WF}/runs/{{run_id}}", r)
    assert server.rest("GET", f"{WF}/runs/not-a-uuid", token=other.access_token).status_code == 404
    assert (
        server.rest("POST", f"{WF}/runs/{body['workflow_run_id']}/cancel", token=other.access_token).status_code == 404
    )
    assert server.rest("GET", f"{WF}/runs", token=other.access_token).json()["items"] == []
    hijack = _run(
        server, other.access_token, "analysis_code", {"message": "hijack", "conversation_id": body["conversation_id"]}
    )
    assert hijack.status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "message"]),
        ({"message": 5}, ["body", "message"]),
        ({"message": "   "}, ["body", "message"]),
        ({"message": "x", "conversation_id": "nope"}, ["body", "conversation_id"]),
    ],
)
def test_invalid_bodies_are_422(server, owner, body, loc):
    for path in (f"{WF}/analysis_code/run", f"{WF}/analysis_code/run-stream"):
        r = server.rest("POST", path, token=owner.access_token, json=body)
        assert r.status_code == 422, (path, r.text)
        assert_documented("POST", path.replace("analysis_code", "{workflow_key}"), r)
        assert any(d["loc"] == loc for d in r.json()["details"]), r.json()


def test_unknown_workflow_run_is_404_and_auth_is_required(server, owner):
    assert _run(server, owner.access_token, "nope", {"message": "x"}).status_code == 404
    assert server.rest("GET", WF).status_code == 401
    unverified = register(server)
    assert _run(server, unverified.access_token, "analysis_code", {"message": "x"}).status_code == 403


def test_run_stream_has_workflow_envelope_and_one_final(server, owner):
    r = server.rest(
        "POST", f"{WF}/analysis_code/run-stream", token=owner.access_token, json={"message": "stream it"}, timeout=60
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/event-stream"
    assert all(
        f.startswith('data: {"schema":"public_sse_v1"') and "\n" not in f for f in r.text.split("\n\n") if f
    )  # NOTES §4.1: data-only frames
    events = [e for _, e in sse_events(r)]
    for event in events:
        assert_schema("StreamingWorkflowEvent", event)
        assert event["stream_id"].startswith("workflow_") and event["workflow"]["workflow_key"] == "analysis_code"
    assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for e in events]
    assert kinds.count("final") == 1 and kinds[-1] == "final" and "error" not in kinds
    steps = [e["workflow"]["step_name"] for e in events if e["kind"] == "lifecycle" and e["status"] == "in_progress"]
    assert steps == ["analysis", "code"]
    final = events[-1]["final"]
    run_id = events[0]["workflow"]["workflow_run_id"]
    detail = server.rest("GET", f"{WF}/runs/{run_id}", token=owner.access_token).json()
    assert final["status"] == "completed" and final["response_text"] == detail["final_output_text"]
    assert final["usage"]["requests"] == 2


def test_cancel_a_finished_run_is_409(server, owner):
    run_id = _run(server, owner.access_token, "analysis_code", {"message": "done"}).json()["workflow_run_id"]
    r = server.rest("POST", f"{WF}/runs/{run_id}/cancel", token=owner.access_token)
    assert r.status_code == 409
    assert_documented("POST", f"{WF}/runs/{{run_id}}/cancel", r)


def wf_id(key: str) -> str:
    return to_base64("Workflow", key)


def run_gid(run_id: str) -> str:
    return to_base64("WorkflowRun", run_id)


def test_graphql_native_flow(server):
    acct = register(server, verified=True)
    t = acct.access_token
    ran = server.gql(
        """mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) {
        run { id databaseId status finalOutputText steps { nodes { name agentKey responseText } } }
        userErrors { field code } } }""",
        {"i": {"workflowId": wf_id("analysis_code"), "message": "graph run"}},
        token=t,
    )
    assert "errors" not in ran, ran
    payload = ran["data"]["runWorkflow"]
    assert payload["userErrors"] == []
    run = payload["run"]
    assert run["status"] == "SUCCEEDED" and [s["name"] for s in run["steps"]["nodes"]] == ["analysis", "code"]
    # REST and GraphQL read the same run.
    rest = server.rest("GET", f"{WF}/runs/{run['databaseId']}", token=t).json()
    assert rest["final_output_text"] == run["finalOutputText"] and rest["status"] == "succeeded"
    data = server.gql(
        """query($r: ID!) {
        workflows(first: 5) { totalCount nodes { id databaseId isDefault stepCount } }
        workflow(key: "analysis_parallel") { stepCount stages { nodes { name mode steps { nodes { name agentKey } } } } }
        workflowRuns(first: 5) { totalCount nodes { id status workflow { databaseId } steps { totalCount } } }
        workflowRun(id: $r) { status finalOutputText steps { nodes { name } } }
        node(id: $r) { ... on WorkflowRun { databaseId } }
    }""",
        {"r": run["id"]},
        token=t,
    )
    assert "errors" not in data, data
    d = data["data"]
    assert d["workflows"]["totalCount"] == 3 and d["workflows"]["nodes"][0]["id"] == wf_id("analysis_code")
    assert d["workflow"]["stages"]["nodes"][0]["mode"] == "PARALLEL"
    assert d["workflowRuns"] == {
        "totalCount": 1,
        "nodes": [
            {
                "id": run["id"],
                "status": "SUCCEEDED",
                "workflow": {"databaseId": "analysis_code"},
                "steps": {"totalCount": 2},
            }
        ],
    }
    assert d["workflowRun"]["finalOutputText"] == run["finalOutputText"]
    assert d["node"] == {"databaseId": run["databaseId"]}
    missing = server.gql('query { workflow(key: "nope") { databaseId } workflows { totalCount } }', token=t)
    assert missing["data"] == {"workflow": None, "workflows": {"totalCount": 3}}
    assert missing["errors"][0]["path"] == ["workflow"] and missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    cancel = server.gql(
        "mutation($r: ID!) { cancelWorkflowRun(input: {id: $r}) { run { id } userErrors { field code } } }",
        {"r": run["id"]},
        token=t,
    )
    assert cancel["data"]["cancelWorkflowRun"] == {"run": None, "userErrors": [{"field": None, "code": "CONFLICT"}]}
    other = register(server, verified=True)
    foreign = server.gql("query($r: ID!) { node(id: $r) { id } }", {"r": run["id"]}, token=other.access_token)
    assert foreign["data"] == {"node": None} and "errors" not in foreign


def test_graphql_subscription_streams_the_run(server, owner):
    query = """subscription($i: RunWorkflowInput!) { workflowRunStream(input: $i) {
        ... on StreamEventBase { eventId workflow { stepName } } ... on LifecycleEvent { kind status }
        ... on FinalEvent { kind final { status } } } }"""
    events = []
    variables = {"i": {"workflowId": wf_id("analysis_code"), "message": "sub run"}}
    with server.subscription(query, variables, token=owner.access_token) as sub:
        while True:
            payload = sub.next(timeout=20)
            assert "errors" not in payload, payload
            events.append(payload["data"]["workflowRunStream"])
            if events[-1].get("kind") == "FINAL":
                break
    assert [e["eventId"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["final"]["status"] == "COMPLETED"


def _wait_for(predicate, timeout: float = 10, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def _running(server, token: str) -> list[dict]:
    return server.rest("GET", f"{WF}/runs", token=token, params={"run_status": "running"}).json()["items"]


def _start(server, token: str, key: str, message: str) -> str:
    """Starts a run; its database id (the REST paths take it)."""
    started = server.gql(
        """mutation($i: StartWorkflowRunInput!) {
        startWorkflowRun(input: $i) { run { databaseId status } userErrors { code } } }""",
        {"i": {"workflowId": wf_id(key), "message": message}},
        token=token,
    )
    assert "errors" not in started and started["data"]["startWorkflowRun"]["userErrors"] == [], started
    return started["data"]["startWorkflowRun"]["run"]["databaseId"]


EVENTS = """subscription($r: ID!, $after: Int!) { workflowRunEvents(workflowRunId: $r, afterEventId: $after) {
    ... on StreamEventBase { eventId workflow { stepName branchIndex } }
    ... on LifecycleEvent { kind status } ... on FinalEvent { kind final { status responseText } }
    ... on ErrorEvent { kind error { code message } } ... on MessageDeltaEvent { kind } } }"""


def _run_events(server, token: str, run_id: str, after: int = 0) -> list[dict]:
    events = []
    with server.subscription(EVENTS, {"r": run_gid(run_id), "after": after}, token=token) as sub:
        while not events or events[-1].get("kind") not in ("FINAL", "ERROR"):
            payload = sub.next(timeout=20)
            assert "errors" not in payload, payload
            events.append(payload["data"]["workflowRunEvents"])
    return events


def test_subscription_joins_a_run_and_resumes_after_a_sequence(server, owner):
    t = owner.access_token
    run_id = _run(server, t, "analysis_code", {"message": "resume me"}).json()["workflow_run_id"]
    events = _run_events(server, t, run_id)
    assert [e["eventId"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["final"]["status"] == "COMPLETED"
    tail = _run_events(server, t, run_id, after=len(events) - 2)
    assert [e["eventId"] for e in tail] == [len(events) - 1, len(events)]
    detail = server.gql("query($r: ID!) { workflowRun(id: $r) { status error } }", {"r": run_gid(run_id)}, token=t)
    assert detail["data"]["workflowRun"] == {"status": "SUCCEEDED", "error": None}
    other = register(server, verified=True)
    with server.subscription(EVENTS, {"r": run_gid(run_id), "after": 0}, token=other.access_token) as sub:
        payload = sub.next(timeout=10)
    assert payload["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_workflow_steps_are_metered(server):
    acct = register(server, verified=True)
    assert _run(server, acct.access_token, "analysis_parallel", {"message": "metered"}).status_code == 200
    totals = server.gql("{ billingUsage { nodes { featureKey quantity } } }", token=acct.access_token)
    assert {"featureKey": "messages", "quantity": 3} in totals["data"]["billingUsage"]["nodes"], totals


def test_cancel_stops_the_step_in_flight(tmp_path):
    srv = start_server(tmp_path, env={"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "100"})
    try:
        acct = register(srv, verified=True)
        t = acct.access_token
        out: list = []

        def stream() -> None:
            r = srv.rest(
                "POST",
                f"{WF}/analysis_code/run-stream",
                token=t,
                timeout=60,
                json={"message": " ".join(f"word{i}" for i in range(60))},
            )  # 6 s a step
            out.append((r, time.monotonic()))

        thread = threading.Thread(target=stream)
        thread.start()
        run_id = _wait_for(lambda: _running(srv, t))[0]["workflow_run_id"]
        time.sleep(0.3)  # well into the first step
        cancelled_at = time.monotonic()
        r = srv.rest("POST", f"{WF}/runs/{run_id}/cancel", token=t)
        assert r.status_code == 202, r.text
        assert_documented("POST", f"{WF}/runs/{{run_id}}/cancel", r)
        assert r.json() == {"workflow_run_id": run_id, "success": True}
        thread.join(30)
        response, ended_at = out[0]
        assert ended_at - cancelled_at < 1.0  # not at the end of the 6-second step
        events = [e for _, e in sse_events(response)]
        for event in events:
            assert_schema("StreamingWorkflowEvent", event)
        assert [e["kind"] for e in events[-2:]] == ["lifecycle", "final"]
        assert events[-2]["status"] == "cancelled" and events[-1]["final"]["status"] == "cancelled"
        assert [e["kind"] for e in events].count("final") == 1
        assert "message.delta" in [e["kind"] for e in events]  # it was interrupted mid-answer
        detail = srv.rest("GET", f"{WF}/runs/{run_id}", token=t).json()
        assert detail["status"] == "cancelled" and detail["steps"] == []
        assert srv.rest("POST", f"{WF}/runs/{run_id}/cancel", token=t).status_code == 409
        feed = srv.rest("GET", "/api/v1/activity", token=t, params={"object_id": run_id}).json()["items"]
        assert [i["action"] for i in feed] == ["workflow.run.cancelled", "workflow.run.started"]  # once
    finally:
        srv.stop()


def test_a_run_orphaned_by_a_killed_server_is_failed_after_restart(tmp_path):
    env = {"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "200", "AGENTDECK_RUN_HEARTBEAT_SECONDS": "0.2"}
    first = start_server(tmp_path, env=env)
    try:
        acct = register(first, verified=True)
        t = acct.access_token
        run_id = _start(first, t, "analysis_code", " ".join(f"word{i}" for i in range(100)))
        _wait_for(lambda: _running(first, t))
        time.sleep(0.5)  # heartbeats are flowing; the run is not mistaken for an orphan
        assert first.rest("GET", f"{WF}/runs/{run_id}", token=t).json()["status"] == "running"
    finally:
        first.process.kill()  # no shutdown handler runs: the row stays "running"
        first.process.wait(10)
    second = start_server(tmp_path, env=env)
    try:
        detail = _wait_for(
            lambda: (d := second.rest("GET", f"{WF}/runs/{run_id}", token=t).json())["status"] != "running" and d,
            timeout=10,
        )
        assert detail["status"] == "failed" and detail["ended_at"]
        error = second.gql("query($r: ID!) { workflowRun(id: $r) { error } }", {"r": run_gid(run_id)}, token=t)
        assert "server running this workflow stopped" in error["data"]["workflowRun"]["error"]
        failed = second.rest("GET", f"{WF}/runs", token=t, params={"run_status": "failed"}).json()["items"]
        assert [i["workflow_run_id"] for i in failed] == [run_id]
        assert second.rest("POST", f"{WF}/runs/{run_id}/cancel", token=t).status_code == 409
        feed = second.rest("GET", "/api/v1/activity", token=t, params={"object_id": run_id}).json()["items"]
        assert [(i["action"], i["status"]) for i in feed] == [
            ("workflow.run.completed", "failure"),  # recorded by the sweep, its runner being gone
            ("workflow.run.started", "pending"),
        ]
        # The restarted server runs workflows as before.
        assert _run(second, t, "analysis_code", {"message": "after the restart"}).status_code == 200
    finally:
        second.stop()


# Two processes sharing PostgreSQL and Redis -----------------------------------------------------


@needs_postgres_redis
def test_runs_are_followed_cancelled_and_recovered_across_processes(tmp_path):
    env = {
        "AGENTDECK_OFFLINE_MODEL_DELAY_MS": "100",
        "AGENTDECK_RUN_HEARTBEAT_SECONDS": "0.2",
        "AGENTDECK_REDIS_PREFIX": f"agentdeck-test-{uuid.uuid4().hex[:8]}:",
    }
    with fresh_database("postgres", tmp_path) as url:
        a = start_server(tmp_path, env=env, backend="postgres", database_url=url)
        b = start_server(tmp_path, env=env, backend="postgres", database_url=url)
        try:
            acct = register(a, verified=True)
            t = acct.access_token
            long = " ".join(f"word{i}" for i in range(100))
            # Started on A, followed and cancelled through B.
            run_id = _start(a, t, "analysis_code", long)
            with b.subscription(EVENTS, {"r": run_gid(run_id), "after": 0}, token=t) as sub:
                first = sub.next(timeout=10)["data"]["workflowRunEvents"]
                assert first["kind"] == "LIFECYCLE" and first["workflow"]["stepName"] == "analysis"
                assert b.rest("POST", f"{WF}/runs/{run_id}/cancel", token=t).status_code == 202
                seen = [first]
                while seen[-1].get("kind") not in ("FINAL", "ERROR"):
                    seen.append(sub.next(timeout=5)["data"]["workflowRunEvents"])
            assert seen[-1]["final"]["status"] == "CANCELLED" and seen[-2]["status"] == "CANCELLED"
            # Started on A, followed on B; A dies: B fails the run and ends the stream.
            run_id = _start(a, t, "analysis_code", long)
            with b.subscription(EVENTS, {"r": run_gid(run_id), "after": 0}, token=t) as sub:
                assert sub.next(timeout=10)["data"]["workflowRunEvents"]["kind"] == "LIFECYCLE"
                a.process.kill()
                last = None
                while last is None or last.get("kind") not in ("FINAL", "ERROR"):
                    last = sub.next(timeout=10)["data"]["workflowRunEvents"]
            assert last["kind"] == "ERROR" and last["error"]["code"] == "interrupted"
            assert b.rest("GET", f"{WF}/runs/{run_id}", token=t).json()["status"] == "failed"
        finally:
            a.stop()
            b.stop()


# The OpenAI path, against a local OpenAI-compatible server --------------------------------------


@pytest.fixture(scope="module", params=["responses", "chat"])
def openai_server(request, tmp_path_factory):
    with server_with_openai_stub(tmp_path_factory.mktemp(f"wf-openai-{request.param}"), request.param) as srv:
        srv.account = register(srv, verified=True)  # type: ignore[attr-defined]
        yield srv


def test_openai_sequential_run_passes_each_output_on(openai_server):
    stub, t = openai_server.stub, openai_server.account.access_token
    stub.reset()
    stub.script(text("Findings: heaps win."), text("def heap(): pass"))
    r = _run(openai_server, t, "analysis_code", {"message": "which sort?"})
    assert r.status_code == 200, r.text
    assert_documented("POST", f"{WF}/{{workflow_key}}/run", r)
    body = r.json()
    assert [s["response_text"] for s in body["steps"]] == ["Findings: heaps win.", "def heap(): pass"]
    assert body["final_output"] == "def heap(): pass"
    assert all(s["response_id"] for s in body["steps"])  # the provider's response ids
    assert len(stub.requests) == 2
    assert "which sort?" in json.dumps(stub.requests[0].body)
    assert "Findings: heaps win." in json.dumps(stub.requests[1].body)  # passthrough


def test_openai_parallel_branches_run_concurrently(openai_server):
    stub, t = openai_server.stub, openai_server.account.access_token
    stub.reset()
    stub.script(slow("alpha beta gamma delta", 0.1), slow("alpha beta gamma delta", 0.1), text("merged answer"))
    r = openai_server.rest(
        "POST", f"{WF}/analysis_parallel/run-stream", token=t, json={"message": "compare"}, timeout=60
    )
    events = [e for _, e in sse_events(r)]
    for event in events:
        assert_schema("StreamingWorkflowEvent", event)
    assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["kind"] == "final" and events[-1]["final"]["response_text"] == "merged answer"
    started = {
        e["workflow"]["branch_index"]: i
        for i, e in enumerate(events)
        if e["kind"] == "lifecycle" and e["status"] == "in_progress" and e["workflow"]["parallel_group"]
    }
    first_done = next(i for i, e in enumerate(events) if e["kind"] == "output_item.done")
    assert set(started) == {0, 1} and max(started.values()) < first_done  # both branches were in flight at once
    deltas = {
        e["workflow"]["branch_index"]
        for e in events
        if e["kind"] == "message.delta" and e["workflow"]["parallel_group"] == "fanout"
    }
    assert deltas == {0, 1}
    synthesis = json.dumps(stub.requests[-1].body)
    assert synthesis.count("alpha beta gamma delta") == 2  # the reducer merged both branches
    run_id = events[0]["workflow"]["workflow_run_id"]
    steps = openai_server.rest("GET", f"{WF}/runs/{run_id}", token=t).json()["steps"]
    assert [(s["name"], s["branch_index"]) for s in steps] == [("analysis", 0), ("code", 1), ("synthesis", None)]


def test_openai_failing_step_fails_the_run(openai_server):
    stub, t = openai_server.stub, openai_server.account.access_token
    stub.reset()
    stub.script(text("analysis done"), error_mid_stream("code that breaks off", after=1))
    r = openai_server.rest("POST", f"{WF}/analysis_code/run-stream", token=t, json={"message": "break"}, timeout=60)
    events = [e for _, e in sse_events(r)]
    kinds = [e["kind"] for e in events]
    assert kinds[-1] == "error" and "final" not in kinds and kinds.count("error") == 1
    assert_schema("StreamingWorkflowEvent", events[-1])
    error = events[-1]["error"]
    assert error["source"] == "provider" and "step 'code'" in error["message"]
    run_id = events[0]["workflow"]["workflow_run_id"]
    detail = openai_server.rest("GET", f"{WF}/runs/{run_id}", token=t).json()
    assert detail["status"] == "failed" and [s["name"] for s in detail["steps"]] == ["analysis"]
    reason = openai_server.gql("query($r: ID!) { workflowRun(id: $r) { error } }", {"r": run_gid(run_id)}, token=t)
    assert "step 'code'" in reason["data"]["workflowRun"]["error"]
    stub.script(error_mid_stream("breaks at once", after=0))
    sync = _run(openai_server, t, "analysis_code", {"message": "break again"})
    assert sync.status_code == 502, sync.text
    assert_documented("POST", f"{WF}/{{workflow_key}}/run", sync)


def test_openai_cancel_closes_the_model_stream_within_a_second(openai_server):
    stub, t = openai_server.stub, openai_server.account.access_token
    stub.reset()
    stub.script(slow(" ".join(f"w{i}" for i in range(50)), 0.1))  # a 5-second answer
    run_id = _start(openai_server, t, "analysis_code", "take your time")
    _wait_for(lambda: stub.first_delta_at, timeout=10)
    time.sleep(0.2)
    cancelled_at = time.monotonic()
    assert openai_server.rest("POST", f"{WF}/runs/{run_id}/cancel", token=t).status_code == 202
    assert stub.disconnected.wait(1.0), "the model stream was not closed"
    assert stub.disconnected_at - cancelled_at < 1.0
    events = _run_events(openai_server, t, run_id)
    assert [e["kind"] for e in events[-2:]] == ["LIFECYCLE", "FINAL"]
    assert events[-2]["status"] == "CANCELLED" and events[-1]["final"]["status"] == "CANCELLED"
    assert len(stub.requests) == 1  # the second step never started
    assert openai_server.rest("GET", f"{WF}/runs/{run_id}", token=t).json()["status"] == "cancelled"
