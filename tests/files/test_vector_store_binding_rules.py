"""Agent bindings of vector stores, in-process (tests/inprocess.py): who may bind, which agents
(known ones that use file search), which stores (the tenant's own), that binding twice keeps
one binding and unbinding is idempotent; that a bound store is what the agent's `file_search`
tool searches in a chat turn (the offline model calls it with the user's message), several
bound stores merged, and nothing once unbound or once the store is deleted; and the downloads'
rules (whose file, from where)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from agentdeck.db.models import AgentVectorStore
from agentdeck.domain.chat.turns import ChatRequest, chat
from agentdeck.domain.files import downloads
from agentdeck.domain.files import vector_stores as vs
from agentdeck.domain.files.containers import create_container
from agentdeck.domain.files.storage import store_bytes
from agentdeck.errors import Forbidden, InvalidInput, NotFound
from tests.inprocess import platform, tenant_member

BREAD = "Sourdough bread rises slowly. Feed the sourdough starter with rye flour every morning."
OPS = "Kubernetes pods restart on failure; the liveness probe decides when."


async def _store(ctx, name: str, filename: str, text: str):
    store = await vs.create_store(ctx, name, None, None, None)
    obj = await store_bytes(ctx, filename, "text/plain", text.encode())
    file = await vs.attach_object(ctx, store.id, obj, None, None, poll=True)
    assert file.status == "completed", file.last_error
    return store, obj


async def _bindings(services) -> int:
    async with services.db.platform_session() as s:
        return await s.scalar(select(func.count()).select_from(AgentVectorStore)) or 0


async def test_who_may_bind_what_to_which_agent(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin", tenant_name="Tenant A")
        other = await tenant_member(services, role="owner", tenant_name="Tenant B")
        store, _ = await _store(admin, "kb", "bread.txt", BREAD)

        bound = await vs.bind_agent(admin, store.id, "retriever")
        assert bound.id == store.id
        await vs.bind_agent(admin, store.id, "retriever")  # again: still one binding
        assert await _bindings(services) == 1
        assert await vs.agent_keys_by_store(admin, [store.id]) == [["retriever"]]
        assert [[s.name for s in stores] for stores in await vs.stores_by_agent(admin, ["retriever", "triage"])] == [
            ["kb"],
            [],
        ]

        with pytest.raises(NotFound) as missing:
            await vs.bind_agent(admin, store.id, "no_such_agent")
        assert missing.value.message == "Agent 'no_such_agent' not found"
        for bad in ("", "bad key!", "x" * 65, "nul\x00"):
            with pytest.raises(InvalidInput) as invalid:
                await vs.bind_agent(admin, store.id, bad)
            assert invalid.value.details[0]["field"] == "agentKey"
        with pytest.raises(InvalidInput) as no_search:
            await vs.bind_agent(admin, store.id, "triage")  # triage has no file search
        assert "does not use file search" in no_search.value.message
        # Another tenant's store (or none at all) is not found, for binding and unbinding.
        for ctx, store_id in ((other, store.id), (admin, uuid.uuid4())):
            with pytest.raises(NotFound):
                await vs.bind_agent(ctx, store_id, "retriever")
            with pytest.raises(NotFound):
                await vs.unbind_agent(ctx, store_id, "retriever")
        assert await vs.agent_keys_by_store(other, [store.id]) == [[]]  # invisible to B
        # Members and viewers read bindings but do not change them.
        member = await tenant_member(services, role="member", tenant_name="Tenant C")
        with pytest.raises(Forbidden):
            await vs.bind_agent(member, uuid.uuid4(), "retriever")
        assert await _bindings(services) == 1  # nothing changed by any refusal

        await vs.unbind_agent(admin, store.id, "retriever")
        await vs.unbind_agent(admin, store.id, "retriever")  # idempotent
        assert await vs.agent_keys_by_store(admin, [store.id]) == [[]]
        with pytest.raises(NotFound):
            await vs.unbind_agent(admin, store.id, "no_such_agent")


def _tool_output(answer_text: str) -> dict:
    prefix = "[offline model] The tool answered: "
    assert answer_text.startswith(prefix), answer_text
    return json.loads(answer_text.removeprefix(prefix))


async def test_the_agents_file_search_searches_its_bound_stores(tmp_path):
    async with platform(tmp_path) as services:
        ctx = await tenant_member(services, role="admin", tenant_name="Tenant A")
        other = await tenant_member(services, role="admin", tenant_name="Tenant B")
        bread, _ = await _store(ctx, "baking", "bread.txt", BREAD)
        ops, _ = await _store(ctx, "ops", "ops.txt", OPS)
        foreign, _ = await _store(other, "theirs", "secret.txt", "Sourdough starter secrets of tenant B.")
        await vs.bind_agent(other, foreign.id, "retriever")  # B's binding is B's alone

        async def ask(question: str) -> dict:
            answer = await chat(ctx, ChatRequest(f"use file_search: {question}", agent_type="retriever"))
            return _tool_output(answer.response)

        assert await ask("how do I feed the sourdough starter?") == {"results": []}  # nothing bound yet

        await vs.bind_agent(ctx, bread.id, "retriever")
        found = (await ask("how do I feed the sourdough starter?"))["results"]
        assert [r["filename"] for r in found] == ["bread.txt"]
        assert found[0]["text"] == BREAD and found[0]["file_id"].startswith("file-") and found[0]["score"] > 0

        await vs.bind_agent(ctx, ops.id, "retriever")  # two stores: both searched, merged by score
        found = (await ask("sourdough starter and kubernetes pods"))["results"]
        assert sorted(r["filename"] for r in found) == ["bread.txt", "ops.txt"]
        assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)

        await vs.unbind_agent(ctx, bread.id, "retriever")
        assert [r["filename"] for r in (await ask("sourdough starter"))["results"]] == []
        await vs.delete_store(ctx, ops.id)  # the binding goes with the store
        assert await vs.stores_by_agent(ctx, ["retriever"]) == [[]]
        assert await ask("kubernetes pods") == {"results": []}


async def test_downloads_are_the_tenants_files_from_our_storage_offline(tmp_path):
    async with platform(tmp_path) as services:
        ctx = await tenant_member(services, role="admin", tenant_name="Tenant A")
        other = await tenant_member(services, role="admin", tenant_name="Tenant B")
        store, obj = await _store(ctx, "kb", "bread.txt", BREAD)
        file_id = vs.file_id_for(obj.id)

        async def read(download: downloads.Download) -> bytes:
            return b"".join([chunk async for chunk in download.chunks])

        got = await downloads.open_file(ctx, file_id)
        assert (got.filename, await read(got)) == ("bread.txt", BREAD.encode())
        for caller, wanted in ((other, file_id), (ctx, "file-" + uuid.uuid4().hex), (ctx, "file-abc")):
            with pytest.raises(NotFound):
                await downloads.open_file(caller, wanted)
        for hostile in ("", "x" * 300, "file-\x00", "../../etc/passwd"):
            with pytest.raises(NotFound):
                await downloads.open_file(ctx, hostile)
        # Offline, a provider's file id the tenant holds still has no bytes here.
        container = await create_container(ctx, "box", None, None, [file_id, "file-remote"], None)
        with pytest.raises(NotFound):
            await downloads.open_file(ctx, "file-remote")

        # A local container's files are the stored objects it was created with.
        got = await downloads.open_container_file(ctx, container.openai_id, file_id, filename="loaf.txt")
        assert (got.filename, await read(got)) == ("loaf.txt", BREAD.encode())
        got = await downloads.open_container_file(ctx, str(container.id), file_id)
        assert got.filename == "bread.txt"
        await got.close()  # released unread
        with pytest.raises(NotFound) as gone:
            await downloads.open_container_file(other, container.openai_id, file_id)
        assert gone.value.message == "Container not found"
        other_obj = await store_bytes(ctx, "other.txt", "text/plain", b"not in the container")
        with pytest.raises(NotFound):
            await downloads.open_container_file(ctx, container.openai_id, vs.file_id_for(other_obj.id))
        with pytest.raises(InvalidInput):
            await downloads.open_container_file(ctx, container.openai_id, file_id, filename="a\r\nb")
        assert downloads.download_url("https://deck.example/", file_id) == (
            f"https://deck.example/api/v1/openai/files/{file_id}/download"
        )
