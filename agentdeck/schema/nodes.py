"""Global object identification: `node(id:)` and `nodes(ids:)` fetch any entity by its global
id. Each Node type's `load_nodes` reads through the domain, so a foreign or missing id is null
here exactly as it is in a direct lookup."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry import relay

from agentdeck.errors import InvalidInput

FACES = ("graphql",)


MAX_IDS = 100


async def _resolve(info: strawberry.Info, id: str) -> relay.Node | None:
    """Null for an id that names no entity type of this schema, as for a missing entity: the id
    is opaque, so its decoding errors are no business of the client's."""
    try:
        global_id = relay.GlobalID.from_id(id)
        global_id.resolve_type(info)
    except relay.GlobalIDValueError:
        return None
    return await global_id.resolve_node(info, required=False)


@strawberry.type
class Query:
    @strawberry.field(description="The entity with this global id, or null.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> relay.Node | None:
        return await _resolve(info, id)

    @strawberry.field(description="The entities with these global ids, in order; null for each one not found.")
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        if len(ids) > MAX_IDS:
            raise InvalidInput(
                f"`ids` takes at most {MAX_IDS} ids.",
                details=[{"loc": ["ids"], "msg": f"at most {MAX_IDS} ids", "type": "too_long"}],
            )
        return list(await asyncio.gather(*(_resolve(info, i) for i in ids)))
