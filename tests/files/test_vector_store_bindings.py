"""Binding vector stores to agents over a real server, through both faces: the extended
contract's `POST`/`DELETE /api/v1/vector-stores/{id}/bindings/{agent_key}` (validated with
`assert_documented(..., extended=True)`) and the native `bindVectorStore`/`unbindVectorStore`,
`VectorStore.boundAgents`, `Agent.vectorStores` (raw posts, and the typed client); tenancy, roles
and bad input; and the observable effect: a chat turn of the bound agent whose tool call
searches returns the store's content (the offline model, and the real SDK path against the OpenAI
stub), and stops once unbound."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from strawberry import relay

from tests.files.test_storage import upload
from tests.graphql_client import BindVectorStoreInput, UnbindVectorStoreInput, UserErrorCode
from tests.harness import assert_documented, server_with_openai_stub
from tests.users import register

pytestmark = pytest.mark.e2e

STORES = "/api/v1/vector-stores"
UPLOAD = "/api/v1/vector-stores/{vector_store_id}/files/upload"
BINDING = "/api/v1/vector-stores/{vector_store_id}/bindings/{agent_key}"
CHAT = "/api/v1/chat"
BREAD = b"Sourdough bread rises slowly. Feed the sourdough starter with rye flour every morning."

BOUND = "query($id: ID!) { vectorStore(id: $id) { boundAgents } }"
AGENT_STORES = 'query { agent(key: "retriever") { vectorStores { totalCount nodes { id name } } } }'
BIND = """mutation($input: BindVectorStoreInput!) { bindVectorStore(input: $input) {
  vectorStore { id name boundAgents } agentKey userErrors { field message code } } }"""
UNBIND = """mutation($input: UnbindVectorStoreInput!) { unbindVectorStore(input: $input) {
  vectorStore { id boundAgents } agentKey userErrors { field message code } } }"""


def gid(type_name: str, key: str) -> str:
    return str(relay.GlobalID(type_name, key))


def binding(server, token, method, store_id, agent_key, expect, headers=None):
    r = server.rest(
        method, BINDING.format(vector_store_id=store_id, agent_key=agent_key), token=token, headers=headers or {}
    )
    assert r.status_code == expect, r.text
    assert_documented(method, BINDING, r, extended=True)
    return r.json() if r.content else None


def store_with(server, token, name: str, data: bytes = BREAD, filename: str = "bread.txt") -> dict:
    r = server.rest("POST", STORES, token=token, json={"name": name})
    assert r.status_code == 201, r.text
    store = r.json()
    obj = upload(server, token, data, filename, "text/plain")
    r = server.rest(
        "POST", UPLOAD.format(vector_store_id=store["id"]), token=token, json={"object_id": obj["object_id"]}
    )
    assert r.status_code == 201 and r.json()["status"] == "completed", r.text
    return store


def bound_agents(server, token, store_id) -> list[str]:
    return server.gql(BOUND, {"id": gid("VectorStore", store_id)}, token=token)["data"]["vectorStore"]["boundAgents"]


def chat_search(server, token, question: str) -> dict:
    r = server.rest(
        "POST", CHAT, token=token, json={"message": f"use file_search: {question}", "agent_type": "retriever"}
    )
    assert r.status_code == 200, r.text
    assert_documented("POST", CHAT, r, extended=True)
    answer = r.json()["response"]
    prefix = "[offline model] The tool answered: "
    assert answer.startswith(prefix), answer
    return json.loads(answer.removeprefix(prefix))


def test_rest_binding_is_searched_by_the_agent_in_chat_until_unbound(server):
    owner = register(server, verified=True)
    t = owner.access_token
    store = store_with(server, t, "baking")
    assert chat_search(server, t, "how do I feed the sourdough starter?") == {"results": []}

    binding(server, t, "POST", store["id"], "retriever", 204)
    binding(server, t, "POST", store["id"], "retriever", 204)  # again: idempotent
    assert bound_agents(server, t, store["id"]) == ["retriever"]
    found = chat_search(server, t, "how do I feed the sourdough starter?")["results"]
    assert [r["filename"] for r in found] == ["bread.txt"] and found[0]["text"] == BREAD.decode()

    binding(server, t, "DELETE", store["id"], "retriever", 204)
    binding(server, t, "DELETE", store["id"], "retriever", 204)  # idempotent
    assert bound_agents(server, t, store["id"]) == []
    assert chat_search(server, t, "sourdough starter") == {"results": []}


def test_rest_binding_refusals_change_nothing(server):
    owner = register(server, verified=True)
    t = owner.access_token
    store = store_with(server, t, "kb")
    sid = store["id"]
    r = binding(server, t, "POST", sid, "no_such_agent", 404)
    assert r["message"] == "Agent 'no_such_agent' not found"
    r = binding(server, t, "POST", sid, "bad key!", 422)
    assert r["details"][0]["loc"] == ["path", "agent_key"]
    r = binding(server, t, "POST", sid, "triage", 422)  # an agent without file search
    assert "does not use file search" in r["details"][0]["msg"]
    binding(server, t, "POST", "not-a-uuid", "retriever", 422)
    binding(server, t, "POST", str(uuid.uuid4()), "retriever", 404)
    binding(server, t, "POST", sid, "x" * 5000, 422)
    binding(server, t, "POST", sid, "nul%00", 422)
    binding(server, t, "DELETE", sid, "no_such_agent", 404)
    # Another tenant's store is not found; its own token cannot see or bind ours.
    other = register(server, verified=True).access_token
    binding(server, other, "POST", sid, "retriever", 404)
    binding(server, other, "DELETE", sid, "retriever", 404)
    # Viewers and members may not bind; no token is 401.
    binding(server, t, "POST", sid, "retriever", 403, headers={"X-Tenant-Role": "viewer"})
    binding(server, None, "POST", sid, "retriever", 401)
    assert bound_agents(server, t, sid) == []


def test_native_graph_bind_and_unbind(server):
    owner = register(server, verified=True)
    t = owner.access_token
    store = store_with(server, t, "handbook")
    sid = gid("VectorStore", store["id"])

    bound = server.gql(BIND, {"input": {"vectorStoreId": sid, "agentKey": "retriever"}}, token=t)["data"]
    assert bound["bindVectorStore"] == {
        "vectorStore": {"id": sid, "name": "handbook", "boundAgents": ["retriever"]},
        "agentKey": "retriever",
        "userErrors": [],
    }
    agent = server.gql(AGENT_STORES, token=t)["data"]["agent"]["vectorStores"]
    assert agent == {"totalCount": 1, "nodes": [{"id": sid, "name": "handbook"}]}
    # The same binding is what REST changes, and the other way round.
    binding(server, t, "DELETE", store["id"], "retriever", 204)
    assert server.gql(AGENT_STORES, token=t)["data"]["agent"]["vectorStores"]["totalCount"] == 0
    binding(server, t, "POST", store["id"], "retriever", 204)
    unbound = server.gql(UNBIND, {"input": {"vectorStoreId": sid, "agentKey": "retriever"}}, token=t)["data"]
    assert unbound["unbindVectorStore"] == {
        "vectorStore": {"id": sid, "boundAgents": []},
        "agentKey": "retriever",
        "userErrors": [],
    }

    def errors(query: str, store_id: str, agent_key: str, token: str = t) -> list[dict]:
        data = server.gql(query, {"input": {"vectorStoreId": store_id, "agentKey": agent_key}}, token=token)["data"]
        payload = next(iter(data.values()))
        assert payload["vectorStore"] is None and payload["agentKey"] is None
        return payload["userErrors"]

    assert errors(BIND, sid, "no_such_agent") == [
        {"field": ["input", "agentKey"], "message": "Agent 'no_such_agent' not found", "code": "NOT_FOUND"}
    ]
    (invalid,) = errors(BIND, sid, "triage")
    assert invalid["field"] == ["input", "agentKey"] and invalid["code"] == "INVALID"
    assert errors(BIND, sid, "bad key!")[0]["field"] == ["input", "agentKey"]
    other = register(server, verified=True).access_token
    for query in (BIND, UNBIND):
        (foreign,) = errors(query, sid, "retriever", other)
        assert foreign["field"] == ["input", "vectorStoreId"] and foreign["code"] == "NOT_FOUND"
        assert errors(query, gid("VectorStore", str(uuid.uuid4())), "retriever")[0]["code"] == "NOT_FOUND"
        assert errors(query, "garbage", "retriever")[0]["field"] == ["input", "vectorStoreId"]
    # The other tenant's agent sees none of our stores.
    assert server.gql(AGENT_STORES, token=other)["data"]["agent"]["vectorStores"]["totalCount"] == 0
    viewer = server.gql(
        BIND, {"input": {"vectorStoreId": sid, "agentKey": "retriever"}}, token=t, headers={"X-Tenant-Role": "viewer"}
    )
    assert viewer["data"] is None or viewer["data"]["bindVectorStore"] is None
    assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert bound_agents(server, t, store["id"]) == []


# The real SDK path: the OpenAI stub scripts the model's file_search call. ----------------------


@pytest.fixture(scope="module", params=["responses", "chat"])
def openai_server(request, tmp_path_factory):
    with server_with_openai_stub(tmp_path_factory.mktemp(f"bind-{request.param}"), request.param) as srv:
        yield srv


def test_openai_model_calling_file_search_gets_the_bound_stores_content(openai_server):
    from tests.openai_stub import function_call, text

    stub = openai_server.stub
    t = register(openai_server, verified=True).access_token
    store = store_with(openai_server, t, "baking")  # embedded by the stub's /v1/embeddings
    binding(openai_server, t, "POST", store["id"], "retriever", 204)

    def turn() -> str:
        stub.reset()
        stub.script(function_call("file_search", json.dumps({"query": "feed the sourdough starter"})), text("Done."))
        r = openai_server.rest("POST", CHAT, token=t, json={"message": "How do I feed it?", "agent_type": "retriever"})
        assert r.status_code == 200 and r.json()["response"] == "Done.", r.text
        first, second = [r.body for r in stub.requests if r.path.endswith(("/responses", "/chat/completions"))]
        assert "file_search" in json.dumps(first.get("tools"))  # offered as a function tool
        return json.dumps(second)  # what went back to the model: the tool's output

    assert "Feed the sourdough starter with rye flour" in turn()
    binding(openai_server, t, "DELETE", store["id"], "retriever", 204)
    assert "rye flour" not in turn()


async def test_bindings_through_the_typed_client(server):
    """What a client generated from schema.graphql gets: bind, read the agent's stores with their
    files' download URLs, unbind."""
    owner = await asyncio.to_thread(register, server, verified=True)
    t = owner.access_token
    store = await asyncio.to_thread(store_with, server, t, "typed")
    sid = gid("VectorStore", store["id"])
    async with server.client(t) as client:
        bound = (
            await client.bind_vector_store(BindVectorStoreInput(vector_store_id=sid, agent_key="retriever"))
        ).bind_vector_store
        assert bound.user_errors == [] and bound.vector_store is not None
        assert bound.vector_store.bound_agents == ["retriever"]
        agent = (await client.agent_vector_stores(key="retriever")).agent
        assert agent is not None and agent.vector_stores.total_count == 1
        (listed,) = agent.vector_stores.nodes
        (file,) = listed.files.nodes
        assert (listed.id, file.filename) == (sid, "bread.txt")
        got = await asyncio.to_thread(httpx.get, file.download_url, headers={"Authorization": f"Bearer {t}"})
        assert got.status_code == 200 and got.content == BREAD

        refused = (
            await client.bind_vector_store(BindVectorStoreInput(vector_store_id=sid, agent_key="nope"))
        ).bind_vector_store
        assert [(e.field, e.code) for e in refused.user_errors] == [(["input", "agentKey"], UserErrorCode.NOT_FOUND)]
        gone = (
            await client.unbind_vector_store(UnbindVectorStoreInput(vector_store_id=sid, agent_key="retriever"))
        ).unbind_vector_store
        assert gone.user_errors == [] and gone.vector_store is not None and gone.vector_store.bound_agents == []
