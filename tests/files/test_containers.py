"""Containers: local records by default, OpenAI containers through the SDK when configured (a
local stub of the containers API), agent binding, tenancy, validation, GraphQL twins."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.files.test_storage import sqlite_server
from tests.harness import assert_documented
from tests.users import register

# Most tests here start servers of their own (quotas, the OpenAI stub, the CLI).
pytestmark = pytest.mark.e2e

CONTAINERS = "/api/v1/containers"
CONTAINER = "/api/v1/containers/{container_id}"
BIND = "/api/v1/containers/agents/{agent_key}/container"


@pytest.fixture
def owner(server):
    return register(server, verified=True)


def call(server, token, method, template, expect, headers=None, **kw):
    params = {k: kw.pop(k) for k in ("container_id", "agent_key") if k in kw}
    r = server.rest(method, template.format(**params), token=token, headers=headers or {}, **kw)
    assert r.status_code == expect, r.text
    assert_documented(method, template, r)
    return r.json() if r.content else None


def agent_container(server, token, agent_key):
    """The agent's container as REST names it ({id, openaiId}), through the native lookup."""
    q = "query($k: String!) { agentContainer(agentKey: $k) { databaseId providerId } }"
    found = server.gql(q, {"k": agent_key}, token=token)["data"]["agentContainer"]
    return found and {"id": found["databaseId"], "openaiId": found["providerId"]}


def test_lifecycle_and_binding(server, owner):
    t = owner.access_token
    c = call(server, t, "POST", CONTAINERS, 201, json={"name": "sandbox", "metadata": {"team": "data"}})
    assert c["openai_id"].startswith("cntr_local_") and c["memory_limit"] == "1g" and c["status"] == "running"
    assert (
        c["tenant_id"] == owner.tenant_id and c["owner_user_id"] == owner.user_id and c["metadata"] == {"team": "data"}
    )
    big = call(
        server,
        t,
        "POST",
        CONTAINERS,
        201,
        json={"name": "big", "memory_limit": "4g", "expires_after": {"anchor": "last_active_at", "minutes": 20}},
    )
    assert big["memory_limit"] == "4g" and big["expires_after"] == {"anchor": "last_active_at", "minutes": 20}
    listed = call(server, t, "GET", CONTAINERS, 200, params={"limit": 1})
    assert listed["total"] == 2 and len(listed["items"]) == 1
    assert call(server, t, "GET", CONTAINER, 200, container_id=c["id"])["name"] == "sandbox"

    assert agent_container(server, t, "code_assistant") is None
    call(server, t, "POST", BIND, 204, agent_key="code_assistant", json={"container_id": c["id"]})
    assert agent_container(server, t, "code_assistant") == {"id": c["id"], "openaiId": c["openai_id"]}
    call(
        server, t, "POST", BIND, 204, agent_key="code_assistant", json={"container_id": big["id"]}
    )  # rebinding moves it
    assert agent_container(server, t, "code_assistant")["id"] == big["id"]
    call(server, t, "DELETE", BIND, 204, agent_key="code_assistant")
    assert agent_container(server, t, "code_assistant") is None
    call(server, t, "DELETE", BIND, 204, agent_key="code_assistant")  # idempotent

    call(server, t, "POST", BIND, 204, agent_key="pdf_designer", json={"container_id": c["id"]})
    call(server, t, "DELETE", CONTAINER, 204, container_id=c["id"])
    assert agent_container(server, t, "pdf_designer") is None  # the binding went with the container
    call(server, t, "GET", CONTAINER, 404, container_id=c["id"])
    call(server, t, "DELETE", CONTAINER, 404, container_id=c["id"])
    call(server, t, "POST", BIND, 404, agent_key="pdf_designer", json={"container_id": c["id"]})


def test_code_interpreter_configuration_follows_the_binding(server, owner):
    """What the chat runner will call: the agent's code-interpreter tool configuration."""
    import asyncio

    from agentdeck.context import Context, Principal, Services
    from agentdeck.domain.files.containers import code_interpreter_tool
    from agentdeck.settings import Settings

    t = owner.access_token
    c = call(server, t, "POST", CONTAINERS, 201, json={"name": "ci"})
    call(server, t, "POST", BIND, 204, agent_key="code_assistant", json={"container_id": c["id"]})

    async def tools() -> tuple[dict, dict]:
        services = Services(
            Settings(database_url=server.env["AGENTDECK_DATABASE_URL"], var_dir=server.env["AGENTDECK_VAR_DIR"])
        )
        try:
            ctx = Context(services=services, principal=Principal("user:x", tenant_id=uuid.UUID(owner.tenant_id)))
            return await code_interpreter_tool(ctx, "code_assistant"), await code_interpreter_tool(ctx, "researcher")
        finally:
            await services.db.dispose()

    bound, unbound = asyncio.run(tools())
    assert bound == {"type": "code_interpreter", "container": c["openai_id"]}
    assert unbound == {"type": "code_interpreter", "container": {"type": "auto"}}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 129}, ["body", "name"]),
        ({"name": "a", "memory_limit": "2g"}, ["body", "memory_limit"]),
        ({"name": "a", "expires_after": {"minutes": 5}}, ["body", "expires_after"]),
        ({"name": "a", "file_ids": [""]}, ["body", "file_ids"]),
        ({"name": "a", "extra": 1}, ["body", "extra"]),
    ],
)
def test_invalid_create_is_422(server, owner, body, loc):
    r = call(server, owner.access_token, "POST", CONTAINERS, 422, json=body)
    assert any(d["loc"] == loc for d in r["details"]), r["details"]


def test_invalid_ids_and_bodies(server, owner):
    t = owner.access_token
    call(server, t, "GET", CONTAINER, 422, container_id="nope")
    call(server, t, "POST", BIND, 422, agent_key="code_assistant", json={})
    call(server, t, "POST", BIND, 422, agent_key="code_assistant", json={"container_id": "x"})
    c = call(server, t, "POST", CONTAINERS, 201, json={"name": "v"})
    r = call(server, t, "POST", BIND, 422, agent_key="bad key!", json={"container_id": c["id"]})
    assert r["details"][0]["loc"] == ["path", "agent_key"]
    r = call(server, t, "POST", BIND, 404, agent_key="no_such_agent", json={"container_id": c["id"]})
    assert r["message"] == "Agent 'no_such_agent' not found"
    call(server, t, "GET", CONTAINERS, 422, params={"limit": 101})


def test_other_tenants_get_404_and_viewers_cannot_write(server, owner):
    t = owner.access_token
    c = call(server, t, "POST", CONTAINERS, 201, json={"name": "mine"})
    other = register(server, verified=True).access_token
    call(server, other, "GET", CONTAINER, 404, container_id=c["id"])
    call(server, other, "DELETE", CONTAINER, 404, container_id=c["id"])
    call(server, other, "POST", BIND, 404, agent_key="code_assistant", json={"container_id": c["id"]})
    assert call(server, other, "GET", CONTAINERS, 200) == {"items": [], "total": 0}
    viewer = {"X-Tenant-Role": "viewer"}
    call(server, t, "POST", CONTAINERS, 403, headers=viewer, json={"name": "no"})
    call(server, t, "DELETE", CONTAINER, 403, headers=viewer, container_id=c["id"])
    call(server, t, "POST", BIND, 403, headers=viewer, agent_key="a", json={"container_id": c["id"]})
    call(server, t, "DELETE", BIND, 403, headers=viewer, agent_key="a")
    assert call(server, t, "GET", CONTAINERS, 200, headers=viewer)["total"] == 1
    call(server, None, "GET", CONTAINERS, 401)


def test_native_graph_flow(server, owner):
    """The native graph over a real server: create, look up, list, bind, unbind, delete."""
    t = owner.access_token
    created = server.gql(
        'mutation { createContainer(input: {name: "g", memoryLimit: GB_16}) '
        "{ container { id databaseId memoryLimit status } userErrors { field } } }",
        token=t,
    )["data"]["createContainer"]
    assert created["userErrors"] == [] and created["container"]["memoryLimit"] == "GB_16"
    assert created["container"]["status"] == "RUNNING"
    cid, key = created["container"]["id"], created["container"]["databaseId"]
    lookup = server.gql("query($id: ID!) { container(id: $id) { name } }", {"id": cid}, token=t)
    assert lookup["data"]["container"]["name"] == "g"
    listed = server.gql("{ containers(first: 100) { totalCount nodes { id } } }", token=t)["data"]["containers"]
    assert listed["totalCount"] >= 1 and cid in [n["id"] for n in listed["nodes"]]
    bound = server.gql(
        'mutation($id: ID!) { bindAgentContainer(input: {agentKey: "image_studio", containerId: $id}) '
        "{ container { agentKeys } userErrors { field } } }",
        {"id": cid},
        token=t,
    )["data"]["bindAgentContainer"]
    assert bound == {"container": {"agentKeys": ["image_studio"]}, "userErrors": []}
    assert agent_container(server, t, "image_studio")["id"] == key
    unbound = server.gql(
        'mutation { unbindAgentContainer(input: {agentKey: "image_studio"}) { agentKey userErrors { field } } }',
        token=t,
    )["data"]["unbindAgentContainer"]
    assert unbound == {"agentKey": "image_studio", "userErrors": []}
    deleted = server.gql(
        "mutation($id: ID!) { deleteContainer(input: {id: $id}) { deletedId userErrors { field } } }",
        {"id": cid},
        token=t,
    )["data"]["deleteContainer"]
    assert deleted == {"deletedId": cid, "userErrors": []}
    call(server, t, "GET", CONTAINER, 404, container_id=key)  # gone for REST too


def test_container_quota(tmp_path):
    srv = sqlite_server(tmp_path, {"AGENTDECK_CONTAINER_MAX_PER_TENANT": "1"})
    try:
        t = register(srv, verified=True).access_token
        call(srv, t, "POST", CONTAINERS, 201, json={"name": "one"})
        r = call(srv, t, "POST", CONTAINERS, 403, json={"name": "two"})
        assert "quota" in r["message"]
    finally:
        srv.stop()


# OpenAI containers through the real SDK, against a local stub of the containers API. ---------


class ContainersStub:
    def __init__(self) -> None:
        self.created: list[dict] = []
        self.deleted: list[str] = []
        self.fail = False
        self.app = Starlette(
            routes=[
                Route("/v1/containers", self.create, methods=["POST"]),
                Route("/v1/containers/{cid}", self.delete, methods=["DELETE"]),
            ]
        )

    async def create(self, request: Request) -> Response:
        if self.fail:
            return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, 500)
        body = await request.json()
        self.created.append(body)
        return JSONResponse(
            {
                "id": f"cntr_{uuid.uuid4().hex}",
                "object": "container",
                "name": body["name"],
                "status": "running",
                "created_at": int(time.time()),
            }
        )

    async def delete(self, request: Request) -> Response:
        self.deleted.append(request.path_params["cid"])
        return JSONResponse({"id": request.path_params["cid"], "object": "container.deleted", "deleted": True})


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory):
    stub = ContainersStub()
    config = uvicorn.Config(stub.app, host="127.0.0.1", port=0, log_level="critical")
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    while not web.started:
        time.sleep(0.01)
    port = web.servers[0].sockets[0].getsockname()[1]
    srv = sqlite_server(
        tmp_path_factory.mktemp("oai"),
        {"AGENTDECK_OPENAI_API_KEY": "sk-test", "AGENTDECK_OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"},
    )
    yield srv, stub
    srv.stop()
    web.should_exit = True
    thread.join(5)


def test_openai_containers_via_the_sdk(openai_server):
    srv, stub = openai_server
    t = register(srv, verified=True).access_token
    c = call(
        srv,
        t,
        "POST",
        CONTAINERS,
        201,
        json={
            "name": "remote",
            "memory_limit": "4g",
            "file_ids": ["file-1"],
            "expires_after": {"anchor": "last_active_at", "minutes": 5},
        },
    )
    assert c["openai_id"].startswith("cntr_") and not c["openai_id"].startswith("cntr_local_")
    assert stub.created[-1] == {
        "name": "remote",
        "memory_limit": "4g",
        "file_ids": ["file-1"],
        "expires_after": {"anchor": "last_active_at", "minutes": 5},
    }
    call(srv, t, "POST", BIND, 204, agent_key="code_assistant", json={"container_id": c["id"]})
    assert agent_container(srv, t, "code_assistant")["openaiId"] == c["openai_id"]
    call(srv, t, "DELETE", CONTAINER, 204, container_id=c["id"])
    assert stub.deleted == [c["openai_id"]]
    stub.fail = True
    try:
        r = call(srv, t, "POST", CONTAINERS, 502, json={"name": "broken"})
        assert r["success"] is False
    finally:
        stub.fail = False
    assert call(srv, t, "GET", CONTAINERS, 200)["total"] == 0
