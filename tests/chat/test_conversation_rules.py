"""Conversation rules, in-process (tests/inprocess.py)."""

from __future__ import annotations

from agentdeck.domain.agents.search import search_messages
from agentdeck.domain.chat.turns import ChatRequest, chat
from tests.inprocess import platform, tenant_member


async def test_a_tenants_search_finds_its_own_conversations_only(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B")
        await chat(a, ChatRequest(message="the sourdough starter needs feeding"))
        await chat(b, ChatRequest(message="sourdough for tenant b"))
        hits_a = await search_messages(a, "sourdough")
        hits_b = await search_messages(b, "sourdough")
        assert len(hits_a) == 1 and len(hits_b) == 1
        assert hits_a[0].conversation.id != hits_b[0].conversation.id
        assert await search_messages(a, "tenant") == []  # b's words are not a's
