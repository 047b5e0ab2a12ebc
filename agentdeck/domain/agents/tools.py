"""Function tools the platform runs itself when a model calls them. A tool is run with the
calling agent's key: `file_search` searches the vector stores bound to that agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentdeck.context import Context
from agentdeck.domain.agents.search import search_messages
from agentdeck.domain.files.vector_stores import search_for_agent
from agentdeck.providers.llm import FunctionTool


@dataclass(frozen=True)
class Tool:
    schema: FunctionTool
    category: str
    run: Callable[[Context, dict[str, Any], str], Awaitable[Any]]  # (context, arguments, agent key)


async def _current_time(_ctx: Context, _args: dict[str, Any], _agent: str) -> dict[str, Any]:
    return {"utc": datetime.now(UTC).isoformat()}


async def _search_conversations(ctx: Context, args: dict[str, Any], _agent: str) -> dict[str, Any]:
    query = str(args.get("query", "")).strip()
    if not query:
        return {"results": [], "error": "query is required"}
    hits = await search_messages(ctx, query, limit=5)
    return {"results": [{"conversation_id": str(h.conversation.id), "preview": h.preview} for h in hits]}


FILE_SEARCH_RESULTS = 5
FILE_SEARCH_MAX_RESULTS = 20


async def _file_search(ctx: Context, args: dict[str, Any], agent: str) -> dict[str, Any]:
    query = args.get("query")
    if not isinstance(query, str) or not query.strip():
        return {"results": [], "error": "query is required"}
    wanted = args.get("max_num_results")
    k = (
        min(max(wanted, 1), FILE_SEARCH_MAX_RESULTS)
        if isinstance(wanted, int) and not isinstance(wanted, bool)
        else FILE_SEARCH_RESULTS
    )
    page = await search_for_agent(ctx, agent, query[:1000], k)
    return {
        "results": [
            {
                "file_id": m.file.openai_file_id,
                "filename": m.file.filename,
                "score": m.chunk.score,
                "text": m.chunk.text,
            }
            for m in page.data
        ]
    }


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
    "file_search": Tool(
        FunctionTool(
            "file_search",
            "Search the documents of the vector stores bound to this agent; returns the best-matching passages.",
            {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to look for, in words."},
                    "max_num_results": {"type": "integer", "minimum": 1, "maximum": FILE_SEARCH_MAX_RESULTS},
                },
                "required": ["query"],
            },
        ),
        "knowledge",
        _file_search,
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
