from typing import Any

from .async_base_client import AsyncBaseClient
from .node import Node
from .nodes import Nodes


def gql(q: str) -> str:
    return q


class Client(AsyncBaseClient):
    async def node(self, id: str, **kwargs: Any) -> Node:
        query = gql("""
            query Node($id: ID!) {
              node(id: $id) {
                __typename
                id
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="Node", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Node.model_validate(data)

    async def nodes(self, ids: list[str], **kwargs: Any) -> Nodes:
        query = gql("""
            query Nodes($ids: [ID!]!) {
              nodes(ids: $ids) {
                __typename
                id
              }
            }
            """)
        variables: dict[str, object] = {"ids": ids}
        response = await self.execute(
            query=query, operation_name="Nodes", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Nodes.model_validate(data)
