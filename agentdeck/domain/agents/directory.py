"""The agent catalog, per-agent status, and the tool catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from agentdeck.context import Context
from agentdeck.db.models import Conversation
from agentdeck.domain.agents.tools import HOSTED_CATEGORIES, TOOLS
from agentdeck.domain.catalog import SPECS, AgentSpec
from agentdeck.domain.common.pagination import decode_cursor, encode_cursor
from agentdeck.errors import NotFound


@dataclass
class AgentPage:
    items: list[AgentSpec]
    next_cursor: str | None
    total: int


@dataclass
class AgentUsage:
    """An agent and how much the caller's tenant has used it (nothing, acting in no tenant)."""

    spec: AgentSpec
    conversations: int
    last_used: datetime | None


@dataclass
class ToolCatalog:
    """Which tools each agent uses (by agent key, sorted), and what follows from that."""

    per_agent: dict[str, list[str]]

    @property
    def tool_names(self) -> list[str]:
        return sorted({t for tools in self.per_agent.values() for t in tools})

    @property
    def categories(self) -> list[str]:
        return sorted({TOOLS[n].category if n in TOOLS else HOSTED_CATEGORIES.get(n, "other") for n in self.tool_names})


def _order(spec: AgentSpec) -> tuple[str, str]:
    return spec.display_name.lower(), spec.key


def list_agents(first: int, after: str | None, search: str | None) -> AgentPage:
    specs = sorted(SPECS.values(), key=_order)
    if search:
        needle = search.strip().lower()
        specs = [
            s for s in specs if needle in s.key or needle in s.display_name.lower() or needle in s.description.lower()
        ]
    total = len(specs)
    cursor = decode_cursor(after, ("agent",))
    if cursor is not None:
        anchor = SPECS.get(cursor["agent"])
        if anchor is None:
            raise NotFound(f"Agent '{cursor['agent']}' not found")
        specs = [s for s in specs if _order(s) > _order(anchor)]
    page = specs[:first]
    more = len(specs) > first
    return AgentPage(page, encode_cursor({"agent": page[-1].key}) if more and page else None, total)


async def agent_status(ctx: Context, name: str) -> AgentUsage:
    spec = SPECS.get(name)
    if spec is None:
        raise NotFound(f"Agent '{name}' not found")
    count, last = 0, None
    # Usage figures are the tenant's own: a caller acting in no tenant sees the agent alone.
    tenant_named = ctx.request is not None and "x-tenant-id" in ctx.request.headers
    if ctx.principal is not None and (ctx.principal.tenant_id is not None or tenant_named):
        async with ctx.session() as s:
            count, last = (
                await s.execute(
                    select(func.count(Conversation.id), func.max(Conversation.updated_at)).where(
                        Conversation.agent_entrypoint == name
                    )
                )
            ).one()
    return AgentUsage(spec, count or 0, last)


def tool_catalog() -> ToolCatalog:
    return ToolCatalog({key: list(spec.tools) for key, spec in sorted(SPECS.items())})
