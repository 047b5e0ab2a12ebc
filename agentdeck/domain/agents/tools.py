"""Function tools the platform runs itself when a model calls them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentdeck.context import Context
from agentdeck.domain.agents.search import search_messages
from agentdeck.providers.llm import FunctionTool


@dataclass(frozen=True)
class Tool:
    schema: FunctionTool
    category: str
    run: Callable[[Context, dict[str, Any]], Awaitable[Any]]


async def _current_time(_ctx: Context, _args: dict[str, Any]) -> dict[str, Any]:
    return {"utc": datetime.now(UTC).isoformat()}


async def _search_conversations(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    query = str(args.get("query", "")).strip()
    if not query:
        return {"results": [], "error": "query is required"}
    hits = await search_messages(ctx, query, limit=5)
    return {"results": [{"conversation_id": str(h.conversation.id), "preview": h.preview} for h in hits]}


TOOLS: dict[str, Tool] = {
    "get_current_time": Tool(
        FunctionTool("get_current_time", "The current date and time in UTC.", {"type": "object", "properties": {}}),
        "utility",
        _current_time,
    ),
    "search_conversations": Tool(
        FunctionTool(
            "search_conversations",
            "Search this tenant's earlier conversations.",
            {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        ),
        "knowledge",
        _search_conversations,
    ),
}

HOSTED_CATEGORIES = {
    "web_search": "web",
    "code_interpreter": "code",
    "image_generation": "media",
    "file_search": "knowledge",
}


def handoff_tool(agent_key: str, display_name: str) -> FunctionTool:
    return FunctionTool(
        f"transfer_to_{agent_key}",
        f"Hand the conversation to {display_name}.",
        {"type": "object", "properties": {}},
    )
