"""The native workflow graph, in-process (tests/inprocess.py) against `build_schema()`: the
`Workflow` and `WorkflowRun` nodes (`node(id:)` round trips, another tenant's id is null), lookups
(null + NOT_FOUND at the path, the rest of `data` intact), connections (first/after, pageInfo,
totalCount, filters), enums, the mutations' payloads and user errors, permissions, the run
subscription's typed events, and the DataLoaders (a page of runs with their steps and workflow
costs a constant number of SQL statements)."""

from __future__ import annotations

import dataclasses
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from starlette.websockets import WebSocket
from strawberry.relay import to_base64

from agentdeck.domain.catalog.workflows import GUARDS, MAPPERS, REDUCERS, WORKFLOWS
from agentdeck.domain.workflows import runs
from agentdeck.domain.workflows.runs import RUN_STATUSES, STEP_STATUSES
from agentdeck.schema import build_schema
from agentdeck.schema.workflows import (
    WorkflowInputMapper,
    WorkflowRunStatus,
    WorkflowRunStepStatus,
    WorkflowStageMode,
    WorkflowStageReducer,
    WorkflowStepGuard,
)
from tests.inprocess import client, platform, tenant_member

OFFLINE = "[offline model] You said: "
SCHEMA = build_schema()


async def gql(ctx, query: str, variables: dict | None = None) -> dict[str, Any]:
    result = await SCHEMA.execute(query, variable_values=variables, context_value=ctx)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [{"path": e.path, "message": e.message, "extensions": e.extensions} for e in result.errors]
    return out


def wf_id(key: str) -> str:
    return to_base64("Workflow", key)


def run_gid(run_id: uuid.UUID | str) -> str:
    return to_base64("WorkflowRun", str(run_id))


RUN = """mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) {
    run { id databaseId status workflowKey finalOutputText }
    userErrors { field message code } } }"""
START = """mutation($i: StartWorkflowRunInput!) { startWorkflowRun(input: $i) {
    run { id databaseId status } userErrors { field message code } } }"""
CANCEL = """mutation($id: ID!) { cancelWorkflowRun(input: {id: $id}) {
    run { id status endedAt } userErrors { field message code } } }"""


async def run(ctx, key: str, message: str, **extra: Any) -> dict[str, Any]:
    out = await gql(ctx, RUN, {"i": {"workflowId": wf_id(key), "message": message, **extra}})
    assert "errors" not in out, out
    payload = out["data"]["runWorkflow"]
    assert payload["userErrors"] == [], payload
    return payload["run"]


def test_the_enums_are_the_domain_sets():
    assert sorted(m.value for m in WorkflowRunStatus) == sorted(RUN_STATUSES)
    assert sorted(m.value for m in WorkflowRunStepStatus) == sorted(STEP_STATUSES)
    assert sorted(m.value for m in WorkflowStageMode) == ["parallel", "sequential"]
    assert sorted(m.value for m in WorkflowInputMapper) == sorted(MAPPERS)
    assert sorted(m.value for m in WorkflowStepGuard) == sorted(GUARDS)
    assert sorted(m.value for m in WorkflowStageReducer) == sorted(REDUCERS)
    for spec in WORKFLOWS.values():  # every shipped stage's mode is one of them
        assert {WorkflowStageMode(s.mode) for s in spec.stages}


async def test_the_catalog_is_a_connection_of_workflow_nodes(tmp_path):
    async with platform(tmp_path) as services:
        ctx = await tenant_member(services, role="viewer")
        page = """query($after: String, $filter: WorkflowFilter) {
            workflows(first: 2, after: $after, filter: $filter) {
              totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
              edges { cursor node { id databaseId isDefault stepCount } } } }"""
        first = (await gql(ctx, page))["data"]["workflows"]
        assert [e["node"]["databaseId"] for e in first["edges"]] == ["analysis_code", "analysis_parallel"]
        assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
        assert [e["node"]["isDefault"] for e in first["edges"]] == [True, False]
        assert first["edges"][0]["node"]["id"] == wf_id("analysis_code")
        rest = (await gql(ctx, page, {"after": first["pageInfo"]["endCursor"]}))["data"]["workflows"]
        assert [e["node"]["databaseId"] for e in rest["edges"]] == ["research_report_pdf"]
        assert rest["pageInfo"] == {
            "hasNextPage": False,
            "hasPreviousPage": True,
            "endCursor": rest["edges"][0]["cursor"],
        }
        found = (await gql(ctx, page, {"filter": {"search": " pdf "}}))["data"]["workflows"]
        assert [e["node"]["databaseId"] for e in found["edges"]] == ["research_report_pdf"]
        assert found["totalCount"] == 1
        blank = await gql(ctx, page, {"filter": {"search": "  "}})
        assert blank["data"] is None and blank["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        assert blank["errors"][0]["extensions"]["details"][0]["field"] == "filter.search"
        too_many = await gql(ctx, "{ workflows(first: 101) { totalCount } }")
        assert too_many["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        bad_cursor = await gql(ctx, '{ workflows(after: "nope") { totalCount } }')
        assert bad_cursor["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_a_workflow_has_typed_stages_and_steps_and_a_missing_key_is_null(tmp_path):
    async with platform(tmp_path) as services:
        ctx = await tenant_member(services, role="viewer")
        out = await gql(
            ctx,
            """{ workflow(key: "analysis_parallel") { databaseId stepCount allowsHandoffAgents
                  stages { totalCount nodes { name mode reducer
                    steps { totalCount nodes { name agentKey inputMapper guard maxTurns } } } } }
                code: workflow(key: "research_report_pdf") { stages(first: 1) { nodes {
                    steps(first: 1, after: "Y3Vyc29yOjA=") { pageInfo { hasPreviousPage }
                      nodes { name inputMapper } } } } }
                missing: workflow(key: "nope") { databaseId }
                workflows(first: 1) { totalCount } }""",
        )
        assert [e["path"] for e in out["errors"]] == [["missing"]]
        assert out["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        data = out["data"]
        assert data["missing"] is None and data["workflows"] == {"totalCount": 3}  # the rest stands
        wf = data["workflow"]
        assert (wf["databaseId"], wf["stepCount"], wf["allowsHandoffAgents"]) == ("analysis_parallel", 3, False)
        assert wf["stages"]["totalCount"] == 2
        fanout, synthesis = wf["stages"]["nodes"]
        assert (fanout["name"], fanout["mode"], fanout["reducer"]) == ("fanout", "PARALLEL", "CONCAT_OUTPUTS")
        assert (synthesis["mode"], synthesis["reducer"]) == ("SEQUENTIAL", None)
        assert fanout["steps"]["nodes"] == [
            {"name": "analysis", "agentKey": "researcher", "inputMapper": None, "guard": None, "maxTurns": None},
            {"name": "code", "agentKey": "code_assistant", "inputMapper": None, "guard": None, "maxTurns": None},
        ]
        pdf = data["code"]["stages"]["nodes"][0]["steps"]
        assert pdf == {
            "pageInfo": {"hasPreviousPage": True},
            "nodes": [{"name": "pdf_report", "inputMapper": "TO_PDF_PROMPT"}],
        }

        node = await gql(
            ctx,
            """query($a: ID!, $b: ID!) { node(id: $a) { id ... on Workflow { databaseId displayName } }
                nodes(ids: [$b, $a]) { id } }""",
            {"a": wf_id("analysis_code"), "b": wf_id("retired")},
        )
        assert node["data"]["node"] == {
            "id": wf_id("analysis_code"),
            "databaseId": "analysis_code",
            "displayName": "Analysis then Code",
        }
        assert node["data"]["nodes"] == [None, {"id": wf_id("analysis_code")}]


async def test_running_answers_the_finished_run_with_its_steps(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services, role="member")
        done = await run(ctx, "analysis_code", "build a parser")
        assert done["status"] == "SUCCEEDED" and done["workflowKey"] == "analysis_code"
        assert done["id"] == run_gid(done["databaseId"])
        out = await gql(
            ctx,
            """query($id: ID!) { workflowRun(id: $id) {
                status requestMessage startedAt endedAt error finalOutputText
                workflow { databaseId }
                steps { totalCount nodes { position name stageName agentKey status responseText
                    parallelGroup branchIndex } } } }""",
            {"id": done["id"]},
        )
        assert "errors" not in out, out
        detail = out["data"]["workflowRun"]
        assert detail["requestMessage"] == "build a parser" and detail["error"] is None
        assert datetime.fromisoformat(detail["endedAt"]) >= datetime.fromisoformat(detail["startedAt"])
        assert detail["workflow"] == {"databaseId": "analysis_code"}
        steps = detail["steps"]["nodes"]
        assert detail["steps"]["totalCount"] == 2
        assert [(s["position"], s["name"], s["agentKey"], s["status"]) for s in steps] == [
            (1, "analysis", "researcher", "COMPLETED"),
            (2, "code", "code_assistant", "COMPLETED"),
        ]
        assert steps[0]["responseText"] == OFFLINE + "build a parser"
        assert steps[1]["responseText"] == OFFLINE + steps[0]["responseText"]
        assert detail["finalOutputText"] == steps[1]["responseText"] == done["finalOutputText"]

        parallel = await run(ctx, "analysis_parallel", "plan a cache")
        branches = await gql(
            ctx,
            "query($id: ID!) { workflowRun(id: $id) { steps { nodes { name parallelGroup branchIndex } } } }",
            {"id": parallel["id"]},
        )
        assert branches["data"]["workflowRun"]["steps"]["nodes"] == [
            {"name": "analysis", "parallelGroup": "fanout", "branchIndex": 0},
            {"name": "code", "parallelGroup": "fanout", "branchIndex": 1},
            {"name": "synthesis", "parallelGroup": None, "branchIndex": None},
        ]


async def test_runs_are_a_filtered_connection_and_nodes_kept_to_their_tenant(tmp_path):
    # The model takes 10 ms a word: the third run, 30 words long, is still running when it is
    # cancelled (without a delay it could finish first, and the cancel found nothing to cancel).
    async with platform(tmp_path, offline_model_delay_ms=10) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B")
        first = await run(a, "analysis_code", "one")
        second = await run(a, "research_report_pdf", "two")
        long = " ".join(["three"] * 30)
        started = (await gql(a, START, {"i": {"workflowId": wf_id("analysis_code"), "message": long}}))["data"]
        third = started["startWorkflowRun"]["run"]
        assert third["status"] == "RUNNING"
        assert (await gql(a, CANCEL, {"id": third["id"]}))["data"]["cancelWorkflowRun"]["run"]["status"] == "CANCELLED"
        [_ async for _ in runs.run_events(a, third["databaseId"])]  # the runner has ended too

        page = """query($first: Int, $after: String, $filter: WorkflowRunFilter) {
            workflowRuns(first: $first, after: $after, filter: $filter) {
              totalCount pageInfo { hasNextPage endCursor } nodes { id status workflowKey } } }"""

        async def ids(**variables: Any) -> list[str]:
            out = await gql(a, page, variables)
            assert "errors" not in out, out
            return [n["id"] for n in out["data"]["workflowRuns"]["nodes"]]

        newest_first = [third["id"], second["id"], first["id"]]
        assert await ids() == newest_first
        one = (await gql(a, page, {"first": 2}))["data"]["workflowRuns"]
        assert one["totalCount"] == 3 and one["pageInfo"]["hasNextPage"] is True
        assert [n["id"] for n in one["nodes"]] == newest_first[:2]
        assert await ids(first=2, after=one["pageInfo"]["endCursor"]) == newest_first[2:]
        backwards = """query($last: Int, $before: String) { workflowRuns(last: $last, before: $before) {
            pageInfo { hasPreviousPage } nodes { id } } }"""
        oldest = (await gql(a, backwards, {"last": 1}))["data"]["workflowRuns"]
        assert oldest == {"pageInfo": {"hasPreviousPage": True}, "nodes": [{"id": first["id"]}]}
        end = (await gql(a, page, {"first": 3}))["data"]["workflowRuns"]["pageInfo"]["endCursor"]
        last_two = (await gql(a, backwards, {"last": 2, "before": end}))["data"]["workflowRuns"]
        assert last_two == {"pageInfo": {"hasPreviousPage": False}, "nodes": [{"id": i} for i in newest_first[:2]]}
        assert await ids(filter={"status": "CANCELLED"}) == [third["id"]]
        assert await ids(filter={"status": "SUCCEEDED", "workflowKey": "analysis_code"}) == [first["id"]]
        assert await ids(filter={"startedAfter": "2999-01-01T00:00:00Z"}) == []
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert await ids(filter={"startedBefore": tomorrow}) == newest_first
        record = await runs.get_run(a, first["databaseId"])
        conversation = to_base64("Conversation", str(record.run.conversation_id))
        assert await ids(filter={"conversationId": conversation}) == [first["id"]]
        wrong = await gql(a, page, {"filter": {"conversationId": first["id"]}})  # a run's id, not a conversation's
        assert wrong["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        bad_status = await gql(a, page, {"filter": {"status": "DONE"}})
        assert "errors" in bad_status and bad_status["data"] is None

        # A workflow's runs: the same filter, kept to that workflow.
        nested = await gql(
            a,
            """{ workflows { nodes { databaseId runs(filter: {status: SUCCEEDED}) { totalCount nodes { id } } } } }""",
        )
        by_key = {n["databaseId"]: n["runs"] for n in nested["data"]["workflows"]["nodes"]}
        assert by_key["analysis_code"] == {"totalCount": 1, "nodes": [{"id": first["id"]}]}
        assert by_key["research_report_pdf"] == {"totalCount": 1, "nodes": [{"id": second["id"]}]}
        assert by_key["analysis_parallel"] == {"totalCount": 0, "nodes": []}
        paged = await gql(
            a,
            """{ workflow(key: "analysis_code") { runs(first: 1) { totalCount pageInfo { hasNextPage endCursor }
                 nodes { id } } } }""",
        )
        runs_of = paged["data"]["workflow"]["runs"]
        assert runs_of["totalCount"] == 2 and runs_of["nodes"] == [{"id": third["id"]}]
        after = await gql(
            a,
            'query($c: String) { workflow(key: "analysis_code") { runs(first: 1, after: $c) { nodes { id } } } }',
            {"c": runs_of["pageInfo"]["endCursor"]},
        )
        assert after["data"]["workflow"]["runs"]["nodes"] == [{"id": first["id"]}]

        # Nodes: a round trip here; another tenant's id, a missing id, a garbled id: null.
        lookup = """query($id: ID!, $ids: [ID!]!) {
            node(id: $id) { id ... on WorkflowRun { databaseId status } }
            nodes(ids: $ids) { id }
            workflowRun(id: $id) { id }
            workflows(first: 1) { totalCount } }"""
        mine = await gql(a, lookup, {"id": first["id"], "ids": [second["id"], run_gid(uuid.uuid4()), "garbage"]})
        assert mine["data"]["node"] == {"id": first["id"], "databaseId": first["databaseId"], "status": "SUCCEEDED"}
        assert mine["data"]["nodes"] == [{"id": second["id"]}, None, None]
        theirs = await gql(b, lookup, {"id": first["id"], "ids": [first["id"]]})
        assert theirs["data"]["node"] is None and theirs["data"]["nodes"] == [None]
        assert theirs["data"]["workflowRun"] is None and theirs["data"]["workflows"] == {"totalCount": 3}
        assert [(e["path"], e["extensions"]["code"]) for e in theirs["errors"]] == [(["workflowRun"], "NOT_FOUND")]
        for missing in (run_gid(uuid.uuid4()), run_gid("not-a-uuid"), wf_id("analysis_code"), "garbage"):
            out = await gql(a, "query($id: ID!) { workflowRun(id: $id) { id } }", {"id": missing})
            assert out["data"] == {"workflowRun": None}
            assert [(e["path"], e["extensions"]["code"]) for e in out["errors"]] == [(["workflowRun"], "NOT_FOUND")]
        assert (await gql(b, page))["data"]["workflowRuns"]["totalCount"] == 0
        other_nested = await gql(b, '{ workflow(key: "analysis_code") { runs { totalCount } } }')
        assert other_nested["data"]["workflow"]["runs"]["totalCount"] == 0


async def test_mutations_answer_user_errors(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B")

        async def errors(query: str, variables: dict, ctx=a) -> list[tuple[list[str] | None, str]]:
            out = await gql(ctx, query, variables)
            assert "errors" not in out, out
            payload = next(iter(out["data"].values()))
            assert payload["run"] is None
            return [(e["field"], e["code"]) for e in payload["userErrors"]]

        for bad in (wf_id("nope"), to_base64("WorkflowRun", "analysis_code"), "garbage"):
            got = await errors(RUN, {"i": {"workflowId": bad, "message": "x"}})
            assert got == [(["input", "workflowId"], "NOT_FOUND")]
        for message in ("   ", "x" * 40_000):
            got = await errors(START, {"i": {"workflowId": wf_id("analysis_code"), "message": message}})
            assert got == [(["input", "message"], "INVALID")]
        bad_conversation = {"workflowId": wf_id("analysis_code"), "message": "x", "conversationId": "nope"}
        assert await errors(START, {"i": bad_conversation}) == [(["input", "conversationId"], "INVALID")]

        done = await run(a, "analysis_code", "done")
        assert await errors(CANCEL, {"id": done["id"]}) == [(None, "CONFLICT")]
        assert await errors(CANCEL, {"id": done["id"]}, ctx=b) == [(None, "NOT_FOUND")]
        assert await errors(CANCEL, {"id": "garbage"}) == [(["input", "id"], "NOT_FOUND")]
        # Another tenant's conversation is not continued.
        record = await runs.get_run(a, done["databaseId"])
        foreign = {
            "workflowId": wf_id("analysis_code"),
            "message": "hijack",
            "conversationId": to_base64("Conversation", str(record.run.conversation_id)),
        }
        assert await errors(START, {"i": foreign}, ctx=b) == [(None, "NOT_FOUND")]
        assert (await runs.list_runs(b)).runs == []  # refused starts leave no run


async def test_a_retried_start_gets_the_first_run(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        body = {"workflowId": wf_id("analysis_code"), "message": "once", "idempotencyKey": "start-1"}
        first = (await gql(ctx, START, {"i": body}))["data"]["startWorkflowRun"]
        again = (await gql(ctx, START, {"i": body}))["data"]["startWorkflowRun"]
        assert again["run"]["id"] == first["run"]["id"] and again["userErrors"] == []
        reused = (await gql(ctx, START, {"i": {**body, "message": "other"}}))["data"]["startWorkflowRun"]
        assert reused["run"] is None
        assert [(e["field"], e["code"]) for e in reused["userErrors"]] == [(["input", "idempotencyKey"], "INVALID")]
        bad_key = await gql(ctx, START, {"i": {**body, "idempotencyKey": "has space"}})
        assert bad_key["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        [_ async for _ in runs.run_events(ctx, first["run"]["databaseId"])]
        assert len((await runs.list_runs(ctx)).runs) == 1


async def test_permissions(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        owner = await tenant_member(services)
        done = await run(owner, "analysis_code", "private")
        anonymous = client(services)
        for query, variables in (
            ("{ workflows { totalCount } }", {}),
            ("{ workflowRuns { totalCount } }", {}),
            ("query($id: ID!) { node(id: $id) { id } }", {"id": done["id"]}),
            ("query($id: ID!) { node(id: $id) { id } }", {"id": wf_id("analysis_code")}),
            (CANCEL, {"id": done["id"]}),
        ):
            out = await gql(anonymous, query, variables)
            assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (query, out)
        # A token without conversations:read reads no runs, however it reaches them.
        no_read = await tenant_member(services)
        assert no_read.principal is not None
        scopes = frozenset(s for s in no_read.principal.scopes if s != "conversations:read")
        no_read.principal = dataclasses.replace(no_read.principal, scopes=scopes)
        theirs = await run(no_read, "analysis_code", "mine")
        for query in (
            "{ workflowRuns { totalCount } }",
            f'{{ node(id: "{theirs["id"]}") {{ id }} }}',
            f'{{ node(id: "{wf_id("analysis_code")}") {{ id }} }}',
        ):
            out = await gql(no_read, query)
            assert out["errors"][0]["extensions"]["code"] == "FORBIDDEN", (query, out)
        # ...nor through a mutation's payload.
        out = await gql(
            no_read,
            """mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { run { id workflow { runs { totalCount } } } } }""",
            {"i": {"workflowId": wf_id("analysis_code"), "message": "again"}},
        )
        assert out["data"]["runWorkflow"]["run"]["workflow"] is None  # `runs` is non-null
        assert out["errors"][0]["path"] == ["runWorkflow", "run", "workflow", "runs"]
        assert out["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@contextmanager
def counted(services):
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        # Reads only: a run that just finished may still be writing its last rows meanwhile.
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def test_nested_fields_cost_a_constant_number_of_statements(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        query = """{ workflowRuns(first: 20) { nodes { id workflow { databaseId }
                     steps { totalCount nodes { name } } } }
                   workflows { nodes { runs(first: 5) { totalCount nodes { id steps { totalCount } } } } } }"""
        await run(ctx, "analysis_code", "warm up")
        await gql(ctx, query)  # the tenant context is read once per context
        with counted(services) as few:
            await gql(ctx, query)
        for key in ("analysis_code", "analysis_parallel", "research_report_pdf", "analysis_code"):
            await run(ctx, key, f"more {key}")
        with counted(services) as many:
            big = await gql(ctx, query)
        assert "errors" not in big, big
        assert len(big["data"]["workflowRuns"]["nodes"]) == 5
        # Constant, not equal: the two root fields share the steps loader, and whether their loads
        # meet in one batch depends on when each branch's reads return (5 or 6 statements).
        assert len(few) <= 6 and len(many) <= 6, (few, many)


def over_websocket(ctx):
    """The context as a WebSocket connection has it (subscriptions are served only there)."""

    async def never() -> dict:
        raise AssertionError("nothing is read from the socket")

    async def ignore(message: dict) -> None:
        return None

    ctx.request = WebSocket({"type": "websocket", "path": "/graphql", "headers": []}, never, ignore)
    return ctx


async def test_the_run_subscriptions_stream_typed_events(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = over_websocket(await tenant_member(services))
        stream = await SCHEMA.subscribe(
            """subscription($i: RunWorkflowInput!) { workflowRunStream(input: $i) {
                __typename ... on StreamEventBase { eventId workflow { workflowRunId stepName } }
                ... on FinalEvent { final { status responseText } } } }""",
            variable_values={"i": {"workflowId": wf_id("analysis_code"), "message": "streamed"}},
            context_value=ctx,
        )
        events = []
        async for result in stream:  # type: ignore[union-attr]
            assert not result.errors, result.errors
            events.append(result.data["workflowRunStream"])
        assert [e["eventId"] for e in events] == list(range(1, len(events) + 1))
        assert events[-1]["__typename"] == "FinalEvent" and events[-1]["final"]["status"] == "COMPLETED"
        run_id = events[0]["workflow"]["workflowRunId"]

        tail = await SCHEMA.subscribe(
            """subscription($id: ID!, $after: Int!) { workflowRunEvents(workflowRunId: $id, afterEventId: $after) {
                __typename ... on StreamEventBase { eventId } } }""",
            variable_values={"id": run_gid(run_id), "after": len(events) - 2},
            context_value=ctx,
        )
        got = [r.data["workflowRunEvents"] async for r in tail]  # type: ignore[union-attr,index]
        assert [e["eventId"] for e in got] == [len(events) - 1, len(events)]

        other = over_websocket(await tenant_member(services, tenant_name="Other"))
        for who, gid in ((other, run_gid(run_id)), (ctx, "garbage")):
            refused = await SCHEMA.subscribe(
                "subscription($id: ID!) { workflowRunEvents(workflowRunId: $id) { __typename } }",
                variable_values={"id": gid},
                context_value=who,
            )
            results = [r async for r in refused]  # type: ignore[union-attr]
            assert results[0].errors[0].extensions["code"] == "NOT_FOUND"


async def test_a_run_continues_a_conversation_given_by_its_global_id(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        first = await run(ctx, "analysis_code", "first question")
        conversation_id = (await runs.get_run(ctx, first["databaseId"])).run.conversation_id
        conversation = to_base64("Conversation", str(conversation_id))
        second = await run(ctx, "research_report_pdf", "follow-up", conversationId=conversation)
        assert (await runs.get_run(ctx, second["databaseId"])).run.conversation_id == conversation_id
        listed = await gql(
            ctx,
            "query($c: ID!) { workflowRuns(filter: {conversationId: $c}) { nodes { id } } }",
            {"c": conversation},
        )
        assert listed["data"]["workflowRuns"]["nodes"] == [{"id": second["id"]}, {"id": first["id"]}]
