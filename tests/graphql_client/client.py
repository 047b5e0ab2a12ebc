from typing import Any, Optional, Union

from .activity_feed import ActivityFeed
from .agent_vector_stores import AgentVectorStores
from .async_base_client import AsyncBaseClient
from .base_model import UNSET, UnsetType
from .bind_vector_store import BindVectorStore
from .complete_mfa_sign_in import CompleteMfaSignIn
from .conversation_messages import ConversationMessages
from .delete_conversation import DeleteConversation
from .dismiss_activity import DismissActivity
from .enroll_totp import EnrollTotp
from .guardrail_preset import GuardrailPreset
from .input_types import (
    ActivityFilter,
    BindVectorStoreInput,
    CompleteMfaSignInInput,
    DismissActivityInput,
    EnrollTotpInput,
    LoginInput,
    MarkActivityReadInput,
    MarkAllActivityReadInput,
    RecordConsentInput,
    SendMessageInput,
    SubmitClientLogsInput,
    UnbindVectorStoreInput,
    UpdateConversationMemoryInput,
    UpdateNotificationPreferencesInput,
    VerifyTotpInput,
)
from .login import Login
from .mark_activity_read import MarkActivityRead
from .mark_all_activity_read import MarkAllActivityRead
from .me import Me
from .mfa_login import MfaLogin
from .my_consents_and_preferences import MyConsentsAndPreferences
from .node import Node
from .nodes import Nodes
from .record_consent import RecordConsent
from .send_message import SendMessage
from .submit_client_logs import SubmitClientLogs
from .unbind_vector_store import UnbindVectorStore
from .update_conversation_memory import UpdateConversationMemory
from .update_notification_preferences import UpdateNotificationPreferences
from .usage_counters import UsageCounters
from .verify_totp import VerifyTotp


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

    async def update_conversation_memory(
        self, input: UpdateConversationMemoryInput, **kwargs: Any
    ) -> UpdateConversationMemory:
        query = gql("""
            mutation UpdateConversationMemory($input: UpdateConversationMemoryInput!) {
              updateConversationMemory(input: $input) {
                memory {
                  mode
                  maxUserTurns
                  keepLastTurns
                  compactTriggerTurns
                  compactKeep
                  clearToolInputs
                  memoryInjection
                }
                conversation {
                  id
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
            query=query,
            operation_name="UpdateConversationMemory",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return UpdateConversationMemory.model_validate(data)

    async def usage_counters(
        self, first: Union[Optional[int], UnsetType] = UNSET, **kwargs: Any
    ) -> UsageCounters:
        query = gql("""
            query UsageCounters($first: Int) {
              usageCounters(first: $first) {
                totalCount
                nodes {
                  day
                  inputTokens
                  outputTokens
                  requests
                  storageBytes
                  updatedAt
                }
              }
            }
            """)
        variables: dict[str, object] = {"first": first}
        response = await self.execute(
            query=query, operation_name="UsageCounters", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return UsageCounters.model_validate(data)

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

    async def enroll_totp(
        self, input: Union[Optional[EnrollTotpInput], UnsetType] = UNSET, **kwargs: Any
    ) -> EnrollTotp:
        query = gql("""
            mutation EnrollTotp($input: EnrollTotpInput) {
              enrollTotp(input: $input) {
                method {
                  id
                  active
                }
                secret
                otpauthUri
                userErrors {
                  field
                  code
                }
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="EnrollTotp", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return EnrollTotp.model_validate(data)

    async def verify_totp(self, input: VerifyTotpInput, **kwargs: Any) -> VerifyTotp:
        query = gql("""
            mutation VerifyTotp($input: VerifyTotpInput!) {
              verifyTotp(input: $input) {
                method {
                  id
                  active
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
            query=query, operation_name="VerifyTotp", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return VerifyTotp.model_validate(data)

    async def mfa_login(self, input: LoginInput, **kwargs: Any) -> MfaLogin:
        query = gql("""
            mutation MfaLogin($input: LoginInput!) {
              login(input: $input) {
                tokens {
                  accessToken
                }
                mfaChallenge {
                  challengeToken
                  expiresAt
                  methods {
                    nodes {
                      id
                    }
                  }
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
            query=query, operation_name="MfaLogin", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return MfaLogin.model_validate(data)

    async def complete_mfa_sign_in(
        self, input: CompleteMfaSignInInput, **kwargs: Any
    ) -> CompleteMfaSignIn:
        query = gql("""
            mutation CompleteMfaSignIn($input: CompleteMfaSignInInput!) {
              completeMfaSignIn(input: $input) {
                tokens {
                  accessToken
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
            query=query,
            operation_name="CompleteMfaSignIn",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CompleteMfaSignIn.model_validate(data)

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

    async def my_consents_and_preferences(
        self, first: Union[Optional[int], UnsetType] = UNSET, **kwargs: Any
    ) -> MyConsentsAndPreferences:
        query = gql("""
            query MyConsentsAndPreferences($first: Int) {
              me {
                id
                consents(first: $first) {
                  totalCount
                  nodes {
                    id
                    databaseId
                    policyKey
                    version
                    acceptedAt
                  }
                }
                notificationPreferences {
                  totalCount
                  nodes {
                    id
                    databaseId
                    channel
                    category
                    enabled
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {"first": first}
        response = await self.execute(
            query=query,
            operation_name="MyConsentsAndPreferences",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return MyConsentsAndPreferences.model_validate(data)

    async def record_consent(
        self, input: RecordConsentInput, **kwargs: Any
    ) -> RecordConsent:
        query = gql("""
            mutation RecordConsent($input: RecordConsentInput!) {
              recordConsent(input: $input) {
                consent {
                  id
                  databaseId
                  policyKey
                  version
                  acceptedAt
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
            query=query, operation_name="RecordConsent", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return RecordConsent.model_validate(data)

    async def update_notification_preferences(
        self, input: UpdateNotificationPreferencesInput, **kwargs: Any
    ) -> UpdateNotificationPreferences:
        query = gql("""
            mutation UpdateNotificationPreferences($input: UpdateNotificationPreferencesInput!) {
              updateNotificationPreferences(input: $input) {
                notificationPreferences {
                  id
                  databaseId
                  channel
                  category
                  enabled
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
            query=query,
            operation_name="UpdateNotificationPreferences",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return UpdateNotificationPreferences.model_validate(data)

    async def submit_client_logs(
        self, input: SubmitClientLogsInput, **kwargs: Any
    ) -> SubmitClientLogs:
        query = gql("""
            mutation SubmitClientLogs($input: SubmitClientLogsInput!) {
              submitClientLogs(input: $input) {
                acceptedCount
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
            operation_name="SubmitClientLogs",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return SubmitClientLogs.model_validate(data)
