from typing import Any, Optional, Union

from .activity_feed import ActivityFeed
from .async_base_client import AsyncBaseClient
from .base_model import UNSET, UnsetType
from .conversation_messages import ConversationMessages
from .delete_conversation import DeleteConversation
from .dismiss_activity import DismissActivity
from .input_types import (
    ActivityFilter,
    DismissActivityInput,
    LoginInput,
    MarkActivityReadInput,
    MarkAllActivityReadInput,
    SendMessageInput,
)
from .login import Login
from .mark_activity_read import MarkActivityRead
from .mark_all_activity_read import MarkAllActivityRead
from .me import Me
from .node import Node
from .nodes import Nodes
from .send_message import SendMessage


def gql(q: str) -> str:
    return q


class Client(AsyncBaseClient):
    async def activity_feed(
        self,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        filter_: Union[Optional[ActivityFilter], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> ActivityFeed:
        query = gql("""
            query ActivityFeed($first: Int, $after: String, $filter: ActivityFilter) {
              activity(first: $first, after: $after, filter: $filter) {
                totalCount
                pageInfo {
                  hasNextPage
                  endCursor
                }
                nodes {
                  id
                  databaseId
                  action
                  createdAt
                  objectType
                  objectId
                  objectName
                  status
                  readState
                  metadata
                }
              }
              unreadActivityCount
            }
            """)
        variables: dict[str, object] = {
            "first": first,
            "after": after,
            "filter": filter_,
        }
        response = await self.execute(
            query=query, operation_name="ActivityFeed", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ActivityFeed.model_validate(data)

    async def mark_activity_read(
        self, input: MarkActivityReadInput, **kwargs: Any
    ) -> MarkActivityRead:
        query = gql("""
            mutation MarkActivityRead($input: MarkActivityReadInput!) {
              markActivityRead(input: $input) {
                event {
                  id
                  readState
                }
                unreadCount
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
            operation_name="MarkActivityRead",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return MarkActivityRead.model_validate(data)

    async def dismiss_activity(
        self, input: DismissActivityInput, **kwargs: Any
    ) -> DismissActivity:
        query = gql("""
            mutation DismissActivity($input: DismissActivityInput!) {
              dismissActivity(input: $input) {
                event {
                  id
                  readState
                }
                unreadCount
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
            query=query, operation_name="DismissActivity", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DismissActivity.model_validate(data)

    async def mark_all_activity_read(
        self,
        input: Union[Optional[MarkAllActivityReadInput], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> MarkAllActivityRead:
        query = gql("""
            mutation MarkAllActivityRead($input: MarkAllActivityReadInput) {
              markAllActivityRead(input: $input) {
                unreadCount
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
            operation_name="MarkAllActivityRead",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return MarkAllActivityRead.model_validate(data)

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
