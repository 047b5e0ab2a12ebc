from typing import Any, Optional, Union

from .async_base_client import AsyncBaseClient
from .base_model import UNSET, UnsetType
from .conversation_messages import ConversationMessages
from .delete_conversation import DeleteConversation
from .guardrail_preset import GuardrailPreset
from .input_types import LoginInput, SendMessageInput
from .login import Login
from .me import Me
from .node import Node
from .nodes import Nodes
from .send_message import SendMessage


def gql(q: str) -> str:
    return q


class Client(AsyncBaseClient):
    async def login(self, input: LoginInput, **kwargs: Any) -> Login:
        query = gql("""
            mutation Login($input: LoginInput!) {
              login(input: $input) {
                tokens {
                  accessToken
                  expiresAt
                }
                userErrors {
                  field
                  message
                  code
                }
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="Login", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Login.model_validate(data)

    async def me(self, **kwargs: Any) -> Me:
        query = gql("""
            query Me {
              me {
                id
                email
                tenant {
                  id
                  name
                }
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="Me", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Me.model_validate(data)

    async def send_message(self, input: SendMessageInput, **kwargs: Any) -> SendMessage:
        query = gql("""
            mutation SendMessage($input: SendMessageInput!) {
              sendMessage(input: $input) {
                response
                status
                conversation {
                  id
                  messageCount
                }
                userErrors {
                  field
                  code
                }
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="SendMessage", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return SendMessage.model_validate(data)

    async def conversation_messages(
        self,
        id: str,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> ConversationMessages:
        query = gql("""
            query ConversationMessages($id: ID!, $first: Int, $after: String) {
              conversation(id: $id) {
                id
                agent {
                  key
                }
                messages(first: $first, after: $after) {
                  totalCount
                  pageInfo {
                    hasNextPage
                    endCursor
                  }
                  nodes {
                    role
                    content
                    createdAt
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id, "first": first, "after": after}
        response = await self.execute(
            query=query,
            operation_name="ConversationMessages",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return ConversationMessages.model_validate(data)

    async def delete_conversation(self, id: str, **kwargs: Any) -> DeleteConversation:
        query = gql("""
            mutation DeleteConversation($id: ID!) {
              deleteConversation(input: {id: $id}) {
                deletedConversationId
                userErrors {
                  field
                  code
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query,
            operation_name="DeleteConversation",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return DeleteConversation.model_validate(data)

    async def guardrail_preset(self, key: str, **kwargs: Any) -> GuardrailPreset:
        query = gql("""
            query GuardrailPreset($key: String!) {
              guardrailPreset(key: $key) {
                key
                guardrailCount
                checks {
                  nodes {
                    enabled
                    config
                    guardrail {
                      key
                      stage
                      engine
                      supportsMasking
                    }
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {"key": key}
        response = await self.execute(
            query=query, operation_name="GuardrailPreset", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return GuardrailPreset.model_validate(data)

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
