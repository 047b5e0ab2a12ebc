"""Deleting a workflow run through both faces of a real server: a finished run answers 204 and is
gone with its steps and ledger items; a running one answers 409 (GraphQL: a CONFLICT user error);
another tenant's is 404 (NOT_FOUND); members may not; bad parameters are 422."""

from __future__ import annotations

import uuid

import pytest
from strawberry.relay import to_base64

from tests.harness import assert_documented
from tests.users import register, run_sql

RUN = "/api/v1/workflows/runs/{run_id}"
DELETE = """mutation($i: DeleteWorkflowRunInput!) { deleteWorkflowRun(input: $i) {
    deletedWorkflowRunId userErrors { field message code } } }"""


@pytest.fixture(scope="module")
def owner(server):
    return register(server, verified=True)


def _finished_run(server, token: str) -> tuple[str, str]:
    """A finished run's id and its (unique) request message."""
    message = f"delete test {uuid.uuid4().hex}"
    r = server.rest("POST", "/api/v1/workflows/analysis_code/run", token=token, json={"message": message}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["workflow_run_id"], message


def _set_status(server, message: str, status: str) -> None:
    run_sql(server, "UPDATE workflow_runs SET status = :s WHERE request_message = :m", {"s": status, "m": message})


def test_a_finished_run_is_deleted_with_its_history(server, owner):
    run_id, _ = _finished_run(server, owner.access_token)
    r = server.rest("GET", f"/api/v1/workflows/runs/{run_id}", token=owner.access_token)
    cid = r.json()["conversation_id"]
    before = server.rest("GET", f"/api/v1/conversations/{cid}/events", token=owner.access_token).json()["items"]
    assert any(i["workflow_run_id"] == run_id for i in before)

    r = server.rest("DELETE", RUN.format(run_id=run_id), token=owner.access_token, params={"reason": "tidy up"})
    assert r.status_code == 204, r.text
    assert_documented("DELETE", RUN, r, extended=True)
    gone = server.rest("GET", f"/api/v1/workflows/runs/{run_id}", token=owner.access_token)
    assert gone.status_code == 404
    after = server.rest("GET", f"/api/v1/conversations/{cid}/events", token=owner.access_token).json()["items"]
    assert not any(i["workflow_run_id"] == run_id for i in after)
    assert server.rest("GET", f"/api/v1/conversations/{cid}", token=owner.access_token).status_code == 200
    again = server.rest("DELETE", RUN.format(run_id=run_id), token=owner.access_token, params={"hard": "true"})
    assert again.status_code == 404
    assert_documented("DELETE", RUN, again, extended=True)


def test_a_running_run_is_a_conflict_on_both_faces(server, owner):
    run_id, message = _finished_run(server, owner.access_token)
    _set_status(server, message, "running")  # as if still running: the rule, without a race
    try:
        r = server.rest("DELETE", RUN.format(run_id=run_id), token=owner.access_token)
        assert r.status_code == 409, r.text
        assert_documented("DELETE", RUN, r, extended=True)
        answer = server.gql(DELETE, {"i": {"id": to_base64("WorkflowRun", run_id)}}, owner.access_token)
        errors = answer["data"]["deleteWorkflowRun"]["userErrors"]
        assert [(e["field"], e["code"]) for e in errors] == [(["input", "id"], "CONFLICT")]
    finally:
        _set_status(server, message, "succeeded")
    assert server.rest("GET", f"/api/v1/workflows/runs/{run_id}", token=owner.access_token).status_code == 200


def test_other_tenants_members_and_bad_parameters_delete_nothing(server, owner):
    run_id, _ = _finished_run(server, owner.access_token)
    stranger = register(server, verified=True, tenant_name="Elsewhere")
    path = RUN.format(run_id=run_id)
    for token, headers, params, status in (
        (stranger.access_token, {}, {}, 404),
        (owner.access_token, {"X-Tenant-Role": "member"}, {}, 403),
        (owner.access_token, {}, {"hard": "perhaps"}, 422),
        (owner.access_token, {}, {"reason": "x" * 513}, 422),
        (None, {}, {}, 401),
    ):
        r = server.rest("DELETE", path, token=token, headers=headers, params=params)
        assert r.status_code == status, (status, r.text)
        assert_documented("DELETE", RUN, r, extended=True)
    for bad in ("not-a-uuid", str(uuid.uuid4())):
        assert server.rest("DELETE", RUN.format(run_id=bad), token=owner.access_token).status_code == 404
    foreign = server.gql(DELETE, {"i": {"id": to_base64("WorkflowRun", run_id)}}, stranger.access_token)
    errors = foreign["data"]["deleteWorkflowRun"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "id"], "NOT_FOUND")]
    assert server.rest("GET", f"/api/v1/workflows/runs/{run_id}", token=owner.access_token).status_code == 200

    gid = to_base64("WorkflowRun", run_id)
    deleted = server.gql(DELETE, {"i": {"id": gid, "reason": "done with it"}}, owner.access_token)
    assert deleted["data"]["deleteWorkflowRun"] == {"deletedWorkflowRunId": gid, "userErrors": []}
    lookup = server.gql("query($id: ID!) { workflowRun(id: $id) { id } }", {"id": gid}, owner.access_token)
    assert lookup["data"]["workflowRun"] is None
