"""Container rules, in-process (tests/inprocess.py): the per-tenant container quota and input
bounds; binding an agent to a container (known agents only, rebinding moves it, unbinding is
idempotent, deleting the container drops the binding) and the code-interpreter configuration the
binding yields; tenant isolation of containers and bindings."""

from __future__ import annotations

import pytest

from agentdeck.domain.files import containers as c
from agentdeck.errors import Forbidden, InvalidInput, NotFound
from tests.inprocess import platform, tenant_member

AUTO = {"type": "code_interpreter", "container": {"type": "auto"}}


async def test_container_quota_and_input_bounds(tmp_path):
    async with platform(tmp_path, container_max_per_tenant=1) as services:
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        for args, field in (
            (("x", "2g", None, None, None), "input.memory_limit"),
            (("x", None, {"anchor": "last_active_at", "minutes": 21}, None, None), "input.expires_after"),
            (("x", None, None, ["file-1", " "], None), "input.file_ids"),
            (("x", None, None, None, ["not", "a", "dict"]), "input.metadata"),
        ):
            with pytest.raises(InvalidInput) as exc:
                await c.create_container(a, *args)
            assert exc.value.details[0]["field"] == field

        made = await c.create_container(a, "  sandbox  ", None, None, None, None)
        assert (made.name, made.memory_limit, made.status) == ("sandbox", "1g", "running")
        with pytest.raises(Forbidden) as exc:
            await c.create_container(a, "second", "4g", None, None, None)
        assert exc.value.message == "Container quota exceeded for this tenant."
        assert (await c.list_containers(a, 10, 0)).total == 1
        assert (await c.create_container(b, "theirs", "4g", None, None, None)).memory_limit == "4g"


async def test_binding_an_agent_decides_its_code_interpreter_container(tmp_path):
    async with platform(tmp_path) as services:
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        member = await tenant_member(services, role="member", tenant_name="Tenant A2")
        first = await c.create_container(a, "first", None, None, None, None)
        second = await c.create_container(a, "second", None, None, None, None)
        assert await c.code_interpreter_tool(a, "code_assistant") == AUTO

        with pytest.raises(NotFound):
            await c.bind_agent(a, "no_such_agent", first.id)
        with pytest.raises(InvalidInput):
            await c.bind_agent(a, "bad key!", first.id)
        with pytest.raises(NotFound):  # b cannot bind to a's container
            await c.bind_agent(b, "code_assistant", first.id)
        with pytest.raises(Forbidden):
            await c.unbind_agent(member, "code_assistant")

        await c.bind_agent(a, "code_assistant", first.id)
        await c.bind_agent(a, "code_assistant", second.id)  # rebinding moves the agent
        assert await c.code_interpreter_tool(a, "code_assistant") == {
            "type": "code_interpreter",
            "container": second.openai_id,
        }
        assert await c.code_interpreter_tool(b, "code_assistant") == AUTO  # bindings are per tenant
        theirs = await c.create_container(b, "theirs", None, None, None, None)
        await c.bind_agent(b, "code_assistant", theirs.id)
        assert (await c.container_for_agent(b, "code_assistant")).id == theirs.id
        assert (await c.container_for_agent(a, "code_assistant")).id == second.id

        await c.unbind_agent(a, "code_assistant")
        assert await c.unbind_agent(a, "code_assistant") is True  # idempotent
        assert await c.code_interpreter_tool(a, "code_assistant") == AUTO

        await c.bind_agent(a, "pdf_designer", first.id)
        await c.delete_container(a, first.id)
        assert await c.container_for_agent(a, "pdf_designer") is None
        with pytest.raises(NotFound):
            await c.get_container(a, first.id)
