from typing import Any, Optional, Union

from .agent_vector_stores import AgentVectorStores
from .async_base_client import AsyncBaseClient
from .base_model import UNSET, UnsetType
from .bind_vector_store import BindVectorStore
from .conversation_messages import ConversationMessages
from .delete_conversation import DeleteConversation
from .input_types import (
    BindVectorStoreInput,
    LoginInput,
    SendMessageInput,
    UnbindVectorStoreInput,
)
from .login import Login
from .me import Me
from .node import Node
from .nodes import Nodes
from .send_message import SendMessage
from .unbind_vector_store import UnbindVectorStore


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

    async def bind_vector_store(
        self, input: BindVectorStoreInput, **kwargs: Any
    ) -> BindVectorStore:
        query = gql("""
            mutation BindVectorStore($input: BindVectorStoreInput!) {
              bindVectorStore(input: $input) {
                vectorStore {
                  id
                  name
                  boundAgents
                }
                agentKey
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
            query=query, operation_name="BindVectorStore", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return BindVectorStore.model_validate(data)

    async def unbind_vector_store(
        self, input: UnbindVectorStoreInput, **kwargs: Any
    ) -> UnbindVectorStore:
        query = gql("""
            mutation UnbindVectorStore($input: UnbindVectorStoreInput!) {
              unbindVectorStore(input: $input) {
                vectorStore {
                  id
                  boundAgents
                }
                agentKey
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
            query=query,
            operation_name="UnbindVectorStore",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return UnbindVectorStore.model_validate(data)

    async def agent_vector_stores(self, key: str, **kwargs: Any) -> AgentVectorStores:
        query = gql("""
            query AgentVectorStores($key: String!) {
              agent(key: $key) {
                key
                vectorStores {
                  totalCount
                  nodes {
                    id
                    name
                    files(first: 5) {
                      nodes {
                        fileId
                        filename
                        downloadUrl
                      }
                    }
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {"key": key}
        response = await self.execute(
            query=query,
            operation_name="AgentVectorStores",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return AgentVectorStores.model_validate(data)

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
