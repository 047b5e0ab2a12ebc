"""The API through the typed client generated from the committed SDL (tests/graphql_client, from
tests/operations/*.graphql): what a client generated from schema.graphql gets from the server."""

from __future__ import annotations

import asyncio

import pytest
from strawberry import relay

from tests.graphql_client import (
    GraphQLClientGraphQLMultiError,
    LoginInput,
    MessageRole,
    SendMessageInput,
    UserErrorCode,
)
from tests.users import register

ONE_BACKEND = True


async def test_global_ids_that_name_nothing_resolve_to_null(server):
    # Verified: an unverified account may read no conversation at all, and `node(id:)` of one is
    # then refused (FORBIDDEN) as `conversation(id:)` is, not answered null.
    account = await asyncio.to_thread(register, server, verified=True)  # it runs a loop of its own
    async with server.client(account.access_token) as client:
        missing = str(relay.GlobalID("Conversation", "00000000-0000-0000-0000-000000000000"))
        assert (await client.node(id=missing)).node is None
        assert (await client.nodes(ids=[missing, "not an id"])).nodes == [None, None]


async def test_sign_in_chat_page_and_delete_through_the_typed_client(server):
    account = await asyncio.to_thread(register, server, verified=True)
    async with server.client() as anonymous:
        with pytest.raises(GraphQLClientGraphQLMultiError) as refused:
            await anonymous.login(LoginInput(email=account.email, password="not the password"))
        assert refused.value.errors[0].extensions["code"] == "UNAUTHENTICATED"
        signed_in = await anonymous.login(LoginInput(email=account.email, password=account.password))
        assert signed_in.login.user_errors == [] and signed_in.login.tokens is not None
        token = signed_in.login.tokens.access_token

    async with server.client(token) as client:
        me = (await client.me()).me
        assert me.email == account.email and me.tenant.id == str(relay.GlobalID("Tenant", account.tenant_id))
        first = (await client.send_message(SendMessageInput(message="first question"))).send_message
        assert first.user_errors == [] and first.conversation is not None and first.response
        conversation = first.conversation.id
        again = SendMessageInput(message="second question", conversation_id=conversation)
        second = (await client.send_message(again)).send_message
        assert second.conversation is not None and second.conversation.message_count == 4

        page = (await client.conversation_messages(id=conversation, first=3)).conversation
        assert page is not None and page.agent is not None and page.messages.total_count == 4
        assert [m.role for m in page.messages.nodes] == [MessageRole.USER, MessageRole.ASSISTANT, MessageRole.USER]
        assert page.messages.nodes[0].content == "first question" and page.messages.page_info.has_next_page
        after = page.messages.page_info.end_cursor
        rest = (await client.conversation_messages(id=conversation, first=3, after=after)).conversation
        assert rest is not None and [m.role for m in rest.messages.nodes] == [MessageRole.ASSISTANT]
        assert not rest.messages.page_info.has_next_page

        unknown = SendMessageInput(message="hi", agent="no-such-agent")
        refused_agent = (await client.send_message(unknown)).send_message
        assert [(e.field, e.code) for e in refused_agent.user_errors] == [(["input", "agent"], UserErrorCode.NOT_FOUND)]

        other = await asyncio.to_thread(register, server, verified=True)
        async with server.client(other.access_token) as stranger:
            assert (await stranger.node(id=conversation)).node is None
            gone = (await stranger.delete_conversation(id=conversation)).delete_conversation
            assert gone.deleted_conversation_id is None and gone.user_errors[0].code == UserErrorCode.NOT_FOUND

        deleted = (await client.delete_conversation(id=conversation)).delete_conversation
        assert deleted.deleted_conversation_id == conversation and deleted.user_errors == []
        with pytest.raises(GraphQLClientGraphQLMultiError) as missing:
            await client.conversation_messages(id=conversation)
        assert missing.value.errors[0].extensions["code"] == "NOT_FOUND"
        assert missing.value.errors[0].path == ["conversation"]
