"""The agent catalog, per-agent status, and the tool catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from agentdeck.context import Context
from agentdeck.db.models import Conversation
from agentdeck.domain.agents.tools import HOSTED_CATEGORIES, TOOLS
from agentdeck.domain.catalog import SPECS, AgentSpec
from agentdeck.domain.catalog.agents import FUNCTION_TOOLS
from agentdeck.domain.common.pagination import decode_cursor, encode_cursor, key
from agentdeck.domain.common.results import Page
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
    specs = _matching(search)
    total = len(specs)
    cursor = decode_cursor(after, {"agent": key})
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
    if _usage_visible(ctx):
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


# -- reads of the native graph ------------------------------------------------------------------


def _matching(search: str | None) -> list[AgentSpec]:
    specs = sorted(SPECS.values(), key=_order)
    if search:
        needle = search.strip().lower()
        specs = [
            s for s in specs if needle in s.key or needle in s.display_name.lower() or needle in s.description.lower()
        ]
    return specs


def agent_page(offset: int, limit: int, search: str | None = None) -> Page[AgentSpec]:
    """The agents (by display name), those matching `search` in key, name or description."""
    specs = _matching(search)
    return Page(specs[offset : offset + limit], len(specs))


def find_agent(key: str) -> AgentSpec:
    spec = SPECS.get(key)
    if spec is None:
        raise NotFound(f"Agent '{key}' not found")
    return spec


def _usage_visible(ctx: Context) -> bool:
    """Usage figures are the tenant's own: a caller acting in no tenant sees none."""
    tenant_named = ctx.request is not None and "x-tenant-id" in ctx.request.headers
    return ctx.principal is not None and (ctx.principal.tenant_id is not None or tenant_named)


async def agent_usages(ctx: Context, keys: list[str]) -> dict[str, AgentUsage]:
    """The caller's tenant's usage of each agent among `keys`, in one statement."""
    specs = [SPECS[k] for k in dict.fromkeys(keys) if k in SPECS]
    usage = {s.key: AgentUsage(s, 0, None) for s in specs}
    if specs and _usage_visible(ctx):
        query = (
            select(Conversation.agent_entrypoint, func.count(Conversation.id), func.max(Conversation.updated_at))
            .where(Conversation.agent_entrypoint.in_(list(usage)))
            .group_by(Conversation.agent_entrypoint)
        )
        async with ctx.session() as s:
            for key, count, last in (await s.execute(query)).all():
                usage[key] = AgentUsage(SPECS[key], count or 0, last)
    return usage


@dataclass(frozen=True)
class ToolEntry:
    """A tool of the catalog: run by the platform (`function`) or by the model's provider
    (`hosted`), and the agents that use it (by key, sorted)."""

    name: str
    kind: str  # function | hosted
    category: str
    description: str | None
    agents: tuple[str, ...]


def tool_entries() -> list[ToolEntry]:
    """Every tool some agent uses, by name."""
    per_agent = tool_catalog().per_agent
    out = []
    for name in tool_catalog().tool_names:
        function = TOOLS.get(name)
        out.append(
            ToolEntry(
                name=name,
                kind="function" if name in FUNCTION_TOOLS else "hosted",
                category=function.category if function else HOSTED_CATEGORIES.get(name, "other"),
                description=function.schema.description if function else None,
                agents=tuple(key for key, tools in per_agent.items() if name in tools),
            )
        )
    return out


def tool_page(offset: int, limit: int) -> Page[ToolEntry]:
    entries = tool_entries()
    return Page(entries[offset : offset + limit], len(entries))


def find_tool(name: str) -> ToolEntry | None:
    return next((t for t in tool_entries() if t.name == name), None)
