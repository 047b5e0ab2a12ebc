"""Code-interpreter containers and which agent runs in which (NOTES §1 ops 49-54).

With OpenAI configured a container is an OpenAI container (created and deleted through the
SDK); otherwise it is a local record. An agent bound to a container gets it in its
code-interpreter tool configuration: the chat runner asks `code_interpreter_tool`.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.context import Context
from agentdeck.db.models import AgentContainer, Container, Tenant
from agentdeck.db.session import lock_row
from agentdeck.domain.catalog import SPECS
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.results import Page
from agentdeck.domain.files.storage import caller_user_id
from agentdeck.errors import Forbidden, InvalidInput, NotFound, UpstreamFailed

MEMORY_LIMITS = ("1g", "4g", "16g", "64g")
# The statuses a container is known to report (OpenAI's, and "running" for a local record).
STATUSES = ("running", "expired", "deleted")
UNKNOWN_STATUS = "unknown"
AGENT_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_FILE_IDS = 100


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, details=[{"field": field, "message": message}])


def _validate(
    name: str, memory_limit: str | None, expires_after: Any, file_ids: list[str] | None, metadata: Any
) -> None:
    if memory_limit is not None and memory_limit not in MEMORY_LIMITS:
        raise _invalid("input.memory_limit", f"memory_limit must be one of {', '.join(MEMORY_LIMITS)}.")
    if expires_after is not None and (
        not isinstance(expires_after, dict)
        or expires_after.get("anchor") != "last_active_at"
        or not isinstance(expires_after.get("minutes"), int)
        or not 1 <= expires_after["minutes"] <= 20
    ):
        raise _invalid("input.expires_after", 'expires_after must be {"anchor": "last_active_at", "minutes": 1-20}.')
    if file_ids is not None and (len(file_ids) > MAX_FILE_IDS or not all(f.strip() for f in file_ids)):
        raise _invalid("input.file_ids", f"At most {MAX_FILE_IDS} non-empty file ids.")
    if metadata is not None and not isinstance(metadata, dict):
        raise _invalid("input.metadata", "Input should be a valid dictionary")


async def create_container(
    ctx: Context, name: str, memory_limit: str | None, expires_after: Any, file_ids: list[str] | None, metadata: Any
) -> Container:
    tc = await require_role(ctx, "admin")
    _validate(name, memory_limit, expires_after, file_ids, metadata)
    async with ctx.session() as s:  # a tenant at its quota is told before the provider is called
        if await _count(s) >= ctx.settings.container_max_per_tenant:
            raise Forbidden("Container quota exceeded for this tenant.")
    memory = memory_limit or "1g"
    try:
        provider_id, status = await ctx.services.containers.create(name.strip(), memory, expires_after, file_ids or [])
    except Exception as exc:  # noqa: BLE001 - the provider's failure is a 502 to the caller
        raise UpstreamFailed(f"Container provider failed: {type(exc).__name__}") from exc
    row = Container(
        openai_id=provider_id,
        owner_user_id=caller_user_id(ctx),
        name=name.strip(),
        memory_limit=memory,
        status=status,
        expires_after=expires_after,
        file_ids=file_ids or [],
        meta=metadata or {},
    )
    async with ctx.session() as s:
        # Counted again under the tenant row's lock (not held across the provider call): of
        # concurrent creators, only as many as the quota allows keep their container.
        await lock_row(s, Tenant, tc.tenant_id)
        if await _count(s) >= ctx.settings.container_max_per_tenant:
            await s.rollback()
            with contextlib.suppress(Exception):
                await ctx.services.containers.delete(provider_id)
            raise Forbidden("Container quota exceeded for this tenant.")
        s.add(row)
        await s.commit()
    return row


async def _count(s: AsyncSession) -> int:
    return await s.scalar(select(func.count()).select_from(Container)) or 0


async def list_containers(ctx: Context, limit: int, offset: int) -> Page[Container]:
    await require_role(ctx, "viewer")
    async with ctx.session() as s:
        total = await _count(s)
        rows = (
            await s.scalars(
                select(Container).order_by(Container.created_at.desc(), Container.id).limit(limit).offset(offset)
            )
        ).all()
    return Page(list(rows), total)


async def get_container(ctx: Context, container_id: uuid.UUID, minimum: str = "viewer") -> Container:
    await require_role(ctx, minimum)
    async with ctx.session() as s:
        row = await s.get(Container, container_id)
    if row is None:
        raise NotFound("Container not found")
    return row


async def delete_container(ctx: Context, container_id: uuid.UUID) -> bool:
    row = await get_container(ctx, container_id, "admin")
    try:
        await ctx.services.containers.delete(row.openai_id)
    except Exception as exc:  # noqa: BLE001
        raise UpstreamFailed(f"Container provider failed: {type(exc).__name__}") from exc
    async with ctx.session() as s:
        fresh = await s.get(Container, container_id)
        if fresh is not None:
            await s.delete(fresh)  # bindings go by ON DELETE CASCADE
            await s.commit()
    return True


async def containers_by_ids(ctx: Context, container_ids: list[uuid.UUID]) -> dict[uuid.UUID, Container]:
    """The caller's tenant's containers among `container_ids` (another tenant's are absent)."""
    await require_role(ctx, "viewer")
    if not container_ids:
        return {}
    async with ctx.session() as s:
        rows = (await s.scalars(select(Container).where(Container.id.in_(container_ids)))).all()
    return {row.id: row for row in rows}


async def agent_keys_by_container(ctx: Context, container_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The agents bound to each of `container_ids` (sorted keys), in one query."""
    await require_role(ctx, "viewer")
    found: dict[uuid.UUID, list[str]] = {cid: [] for cid in container_ids}
    if not container_ids:
        return found
    async with ctx.session() as s:
        rows = (
            await s.execute(
                select(AgentContainer.container_id, AgentContainer.agent_key)
                .where(AgentContainer.container_id.in_(container_ids))
                .order_by(AgentContainer.agent_key)
            )
        ).all()
    for container_id, agent_key in rows:
        found[container_id].append(agent_key)
    return found


LOCAL_PREFIX = "cntr_local_"


def is_local(row: Container) -> bool:
    """A local record (made offline), not a provider's container."""
    return row.openai_id.startswith(LOCAL_PREFIX)


def status_of(row: Container) -> str:
    """The container's status as one of `STATUSES`, or `UNKNOWN_STATUS` for any other a
    provider reported."""
    return row.status if row.status in STATUSES else UNKNOWN_STATUS


def check_agent_key(agent_key: str) -> None:
    """A catalog agent's key: a malformed one is invalid input (`agentKey`), an unknown one
    NotFound (the same rule for every binding of an agent: containers, vector stores)."""
    if not AGENT_KEY.match(agent_key):
        raise _invalid("agentKey", "Agent key must be 1-64 letters, digits, '_', '-' or '.'.")
    if agent_key not in SPECS:
        raise NotFound(f"Agent '{agent_key}' not found")


async def bind_agent(ctx: Context, agent_key: str, container_id: uuid.UUID) -> bool:
    await get_container(ctx, container_id, "admin")
    check_agent_key(agent_key)
    async with ctx.session() as s:
        row = await s.scalar(select(AgentContainer).where(AgentContainer.agent_key == agent_key))
        if row is None:
            s.add(AgentContainer(agent_key=agent_key, container_id=container_id))
        else:
            row.container_id = container_id
        try:
            await s.commit()
        except IntegrityError:  # a concurrent bind of the same agent: last writer wins
            await s.rollback()
            await s.execute(delete(AgentContainer).where(AgentContainer.agent_key == agent_key))
            s.add(AgentContainer(agent_key=agent_key, container_id=container_id))
            await s.commit()
    return True


async def unbind_agent(ctx: Context, agent_key: str) -> bool:
    """Idempotent: unbinding an agent that has no container succeeds."""
    await require_role(ctx, "admin")
    check_agent_key(agent_key)
    async with ctx.session() as s:
        await s.execute(delete(AgentContainer).where(AgentContainer.agent_key == agent_key))
        await s.commit()
    return True


async def container_for_agent(ctx: Context, agent_key: str) -> Container | None:
    """The container bound to one of the caller's tenant's agents, if any (for the chat runner)."""
    async with ctx.session() as s:
        return await s.scalar(
            select(Container)
            .join(AgentContainer, AgentContainer.container_id == Container.id)
            .where(AgentContainer.agent_key == agent_key)
        )


async def code_interpreter_tool(ctx: Context, agent_key: str) -> dict[str, Any]:
    """The agent's code-interpreter tool configuration (OpenAI Responses API shape)."""
    container = await container_for_agent(ctx, agent_key)
    if container is None:
        return {"type": "code_interpreter", "container": {"type": "auto"}}
    return {"type": "code_interpreter", "container": container.openai_id}
