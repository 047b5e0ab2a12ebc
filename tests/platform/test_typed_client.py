"""The API through the typed client generated from the committed SDL (tests/graphql_client, from
tests/operations/*.graphql): what a client generated from schema.graphql gets from the server."""

from __future__ import annotations

import asyncio

from strawberry import relay

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
