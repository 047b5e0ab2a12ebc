"""The API through the typed client generated from the committed SDL (tests/graphql_client, from
tests/operations/*.graphql): what a client generated from schema.graphql gets from the server."""

from __future__ import annotations

from strawberry import relay

from tests.users import register

ONE_BACKEND = True


async def test_global_ids_that_name_nothing_resolve_to_null(server):
    account = register(server)
    async with server.client(account.access_token) as client:
        missing = str(relay.GlobalID("Conversation", "00000000-0000-0000-0000-000000000000"))
        assert (await client.node(id=missing)).node is None
        assert (await client.nodes(ids=[missing, "not an id"])).nodes == [None, None]
