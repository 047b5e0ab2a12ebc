"""All models, imported so that `Base.metadata` knows every table."""

from agentdeck.db.models.account import AccountToken
from agentdeck.db.models.activity import ActivityCheckpoint, ActivityEvent, ActivityReceipt
from agentdeck.db.models.billing import BillingPlan, StripeEvent, TenantSubscription, UsageRecord
from agentdeck.db.models.chat import ChatRun, Conversation, ConversationEvent, ConversationMessage
from agentdeck.db.models.files import (
    AgentContainer,
    AgentVectorStore,
    Container,
    StorageObject,
    VectorChunk,
    VectorStore,
    VectorStoreFile,
)
from agentdeck.db.models.idempotency import IdempotencyKey
from agentdeck.db.models.identity import AuthSession, Membership, User
from agentdeck.db.models.mail import OutboxMessage
from agentdeck.db.models.mfa import MfaMethod, MfaRecoveryCode
from agentdeck.db.models.preferences import NotificationPreference, UserConsent
from agentdeck.db.models.service_accounts import ServiceAccountToken
from agentdeck.db.models.signup import SignupInvite, SignupRequest
from agentdeck.db.models.status import (
    ContactSubmission,
    StatusIncident,
    StatusProbe,
    StatusSubscription,
)
from agentdeck.db.models.tenancy import Tenant
from agentdeck.db.models.tenant_settings import TenantSettings
from agentdeck.db.models.workflows import WorkflowRun, WorkflowRunStep

__all__ = [
    "ActivityCheckpoint",
    "ActivityEvent",
    "ActivityReceipt",
    "ChatRun",
    "Conversation",
    "ConversationEvent",
    "ConversationMessage",
    "AgentContainer",
    "AgentVectorStore",
    "Container",
    "StorageObject",
    "VectorChunk",
    "VectorStore",
    "VectorStoreFile",
    "BillingPlan",
    "StripeEvent",
    "TenantSubscription",
    "UsageRecord",
    "AccountToken",
    "AuthSession",
    "IdempotencyKey",
    "Membership",
    "User",
    "MfaMethod",
    "MfaRecoveryCode",
    "OutboxMessage",
    "NotificationPreference",
    "UserConsent",
    "SignupInvite",
    "ServiceAccountToken",
    "SignupRequest",
    "Tenant",
    "TenantSettings",
    "ContactSubmission",
    "StatusIncident",
    "StatusProbe",
    "StatusSubscription",
    "WorkflowRun",
    "WorkflowRunStep",
]
