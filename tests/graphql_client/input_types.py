from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import (
    IncidentSeverity,
    IncidentState,
    PlatformNoticeLevel,
    StatusAlertSeverity,
    StatusSubscriptionChannel,
    StatusSubscriptionStatus,
    WorkflowRunStatus,
)


class BillingContactInput(BaseModel):
    name: str
    email: str
    role: Optional[str] = None
    phone: Optional[str] = None
    notify_billing: bool = Field(alias="notifyBilling", default=True)


class BrowserServiceAccountIssueInput(BaseModel):
    account: str
    scopes: list[str]
    reason: str
    tenant_id: Optional[str] = Field(alias="tenantId", default=None)
    lifetime_minutes: Optional[int] = Field(alias="lifetimeMinutes", default=None)
    fingerprint: Optional[str] = None
    force: bool = False


class CancelSubscriptionInput(BaseModel):
    cancel_at_period_end: bool = Field(alias="cancelAtPeriodEnd", default=True)


class CancelWorkflowRunInput(BaseModel):
    """The run to cancel."""

    id: str
    "The run's global id."


class ChatInput(BaseModel):
    """A chat message. Fields after `context` are accepted for legacy clients."""

    message: str
    conversation_id: Optional[str] = Field(alias="conversationId", default=None)
    agent_type: Optional[str] = Field(alias="agentType", default=None)
    attachments: Optional[list["InputAttachment"]] = None
    share_location: Optional[bool] = Field(alias="shareLocation", default=None)
    location: Optional[Any] = None
    context: Optional[Any] = None
    run_options: Optional[Any] = Field(alias="runOptions", default=None)
    memory_strategy: Optional[Any] = Field(alias="memoryStrategy", default=None)
    memory_injection: Optional[bool] = Field(alias="memoryInjection", default=None)
    container_overrides: Optional[Any] = Field(alias="containerOverrides", default=None)
    vector_store_overrides: Optional[Any] = Field(
        alias="vectorStoreOverrides", default=None
    )


class ConfirmStatusSubscriptionChallengeInput(BaseModel):
    """The challenge POSTed to the webhook."""

    challenge: str
    "The `challenge` of the signed POST the webhook received."


class ContactInput(BaseModel):
    email: str
    message: str
    name: Optional[str] = None
    company: Optional[str] = None
    topic: Optional[str] = None
    honeypot: Optional[str] = None


class ContainerBindInput(BaseModel):
    container_id: Any = Field(alias="containerId")


class ContainerCreateInput(BaseModel):
    name: str
    memory_limit: Optional[str] = Field(alias="memoryLimit", default=None)
    "1g, 4g, 16g, or 64g"
    expires_after: Optional[Any] = Field(alias="expiresAfter", default=None)
    file_ids: Optional[list[str]] = Field(alias="fileIds", default=None)
    metadata: Optional[Any] = None


class CreateStatusSubscriptionInput(BaseModel):
    """A new alert subscription."""

    channel: StatusSubscriptionChannel
    "WEBHOOK needs status:manage."
    target: str
    "An email address, or an https URL for a webhook."
    severity_filter: StatusAlertSeverity = Field(
        alias="severityFilter", default=StatusAlertSeverity.MAJOR
    )
    "Which incidents to receive; MAJOR by default."
    metadata: Optional[Any] = None
    "Labels of yours: an object of at most 4 KiB."


class EmailVerificationConfirmInput(BaseModel):
    token: str


class IncidentFilter(BaseModel):
    """Which incidents to list."""

    state: Optional[IncidentState] = None
    "Only incidents in this state."
    severity: Optional[IncidentSeverity] = None
    "Only incidents of this severity."


class InputAttachment(BaseModel):
    object_id: Any = Field(alias="objectId")
    kind: Optional[str] = None


class LoginInput(BaseModel):
    email: str
    password: str
    tenant_id: Optional[Any] = Field(alias="tenantId", default=None)


class OpenStatusIncidentInput(BaseModel):
    """A new incident."""

    service: str
    "The affected service (1-64 characters), e.g. a service's name."
    impact: str
    "What users notice (1-500 characters)."
    severity: IncidentSeverity = IncidentSeverity.MAJOR
    "MAJOR by default."
    state: IncidentState = IncidentState.INVESTIGATING
    "INVESTIGATING by default."


class PasswordChangeInput(BaseModel):
    current_password: str = Field(alias="currentPassword")
    new_password: str = Field(alias="newPassword")


class PasswordForgotInput(BaseModel):
    email: str


class PasswordResetConfirmInput(BaseModel):
    token: str
    new_password: str = Field(alias="newPassword")


class PasswordResetInput(BaseModel):
    user_id: Any = Field(alias="userId")
    new_password: str = Field(alias="newPassword")


class PublishNoticeInput(BaseModel):
    """The notice to broadcast."""

    message: str
    "1-500 characters; surrounding blanks are trimmed."
    level: PlatformNoticeLevel = PlatformNoticeLevel.INFO
    "INFO by default."


class RefreshTokenInput(BaseModel):
    refresh_token: str = Field(alias="refreshToken")


class RegisterInput(BaseModel):
    email: str
    password: str
    tenant_name: str = Field(alias="tenantName")
    accept_terms: bool = Field(alias="acceptTerms")
    "Must be true: the terms of service are accepted."
    display_name: Optional[str] = Field(alias="displayName", default=None)
    plan_code: Optional[str] = Field(alias="planCode", default=None)
    trial_days: Optional[int] = Field(alias="trialDays", default=None)
    invite_token: Optional[str] = Field(alias="inviteToken", default=None)


class ResendStatusIncidentInput(BaseModel):
    """The incident to send again, and to whom."""

    id: str
    "The incident's global id."
    severity: StatusAlertSeverity = StatusAlertSeverity.MAJOR
    "Send to the subscriptions whose filter matches this (ALL: every active subscription)."


class ResolveStatusIncidentInput(BaseModel):
    """The incident to resolve."""

    id: str
    "The incident's global id."
    impact: Optional[str] = None
    "A closing impact text, if it changed."


class RevokeStatusSubscriptionInput(BaseModel):
    """The subscription to end."""

    id: str
    "The subscription's global id."
    unsubscribe_token: Optional[str] = Field(alias="unsubscribeToken", default=None)
    "The token from the confirmation mail; without it the caller must be a status manager."


class RunWorkflowInput(BaseModel):
    """What to run: a workflow and the request it runs on."""

    workflow_id: str = Field(alias="workflowId")
    "The global id of the workflow to run."
    message: str
    "The request (1-32000 characters)."
    conversation_id: Optional[str] = Field(alias="conversationId", default=None)
    "Continue this conversation (its global id); null: a new conversation."
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, per caller and operation; a retry with the same key and input gets the first request's run."


class ServiceAccountIssueInput(BaseModel):
    account: str
    scopes: list[str]
    tenant_id: Optional[str] = Field(alias="tenantId", default=None)
    lifetime_minutes: Optional[int] = Field(alias="lifetimeMinutes", default=None)
    fingerprint: Optional[str] = None
    force: bool = False


class ServiceAccountTokenRevokeInput(BaseModel):
    reason: Optional[str] = None


class SignupApprovalInput(BaseModel):
    note: Optional[str] = None
    invite_expires_in_hours: Optional[int] = Field(
        alias="inviteExpiresInHours", default=72
    )


class SignupInviteInput(BaseModel):
    invited_email: Optional[str] = Field(alias="invitedEmail", default=None)
    max_redemptions: int = Field(alias="maxRedemptions", default=1)
    expires_in_hours: Optional[int] = Field(alias="expiresInHours", default=72)
    note: Optional[str] = None
    signup_request_id: Optional[Any] = Field(alias="signupRequestId", default=None)


class SignupRejectionInput(BaseModel):
    reason: Optional[str] = None


class SignupRequestInput(BaseModel):
    email: str
    organization: str
    full_name: str = Field(alias="fullName")
    accept_terms: bool = Field(alias="acceptTerms")
    "Must be true: the terms of service are accepted."
    message: Optional[str] = None
    honeypot: Optional[str] = None


class StartSubscriptionInput(BaseModel):
    plan_code: str = Field(alias="planCode")
    billing_email: Optional[str] = Field(alias="billingEmail", default=None)
    auto_renew: bool = Field(alias="autoRenew", default=True)
    seat_count: Optional[int] = Field(alias="seatCount", default=None)


class StartWorkflowRunInput(BaseModel):
    """What to start: a workflow and the request it runs on."""

    workflow_id: str = Field(alias="workflowId")
    "The global id of the workflow to run."
    message: str
    "The request (1-32000 characters)."
    conversation_id: Optional[str] = Field(alias="conversationId", default=None)
    "Continue this conversation (its global id); null: a new conversation."
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, per caller and operation; a retry with the same key and input gets the first request's run."


class StatusSubscriptionFilter(BaseModel):
    """Which alert subscriptions to list."""

    channel: Optional[StatusSubscriptionChannel] = None
    "Only this channel's."
    status: Optional[StatusSubscriptionStatus] = None
    "Only those in this status."


class StoragePresignUploadInput(BaseModel):
    filename: str
    mime_type: str = Field(alias="mimeType")
    size_bytes: int = Field(alias="sizeBytes")
    agent_key: Optional[str] = Field(alias="agentKey", default=None)
    conversation_id: Optional[Any] = Field(alias="conversationId", default=None)
    metadata: Optional[Any] = None


class TenantSettingsInput(BaseModel):
    billing_contacts: list["BillingContactInput"] = Field(alias="billingContacts")
    plan_metadata: Any = Field(alias="planMetadata")
    flags: Any
    billing_webhook_url: Optional[str] = Field(alias="billingWebhookUrl", default=None)


class UpdateStatusIncidentInput(BaseModel):
    """What changes in an incident; omitted fields stay."""

    id: str
    "The incident's global id."
    impact: Optional[str] = None
    "What users notice now (1-500 characters)."
    state: Optional[IncidentState] = None
    "RESOLVED sets `resolvedAt`; any other clears it."
    severity: Optional[IncidentSeverity] = None
    "The new severity."


class UpdateSubscriptionInput(BaseModel):
    auto_renew: Optional[bool] = Field(alias="autoRenew", default=None)
    billing_email: Optional[str] = Field(alias="billingEmail", default=None)
    seat_count: Optional[int] = Field(alias="seatCount", default=None)
    plan_code: Optional[str] = Field(alias="planCode", default=None)
    "Change plan (agentdeck extension)."


class UsageRecordInput(BaseModel):
    feature_key: str = Field(alias="featureKey")
    quantity: int
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "The request's idempotency key (legacy field): the same as `idempotencyKey` (REST `Idempotency-Key`); send either, or both with one value."
    period_start: Optional[Any] = Field(alias="periodStart", default=None)
    period_end: Optional[Any] = Field(alias="periodEnd", default=None)


class VectorStoreCreateInput(BaseModel):
    name: str
    description: Optional[str] = None
    expires_after: Optional[Any] = Field(alias="expiresAfter", default=None)
    metadata: Optional[Any] = None


class VectorStoreFileCreateInput(BaseModel):
    file_id: str = Field(alias="fileId")
    attributes: Optional[Any] = None
    chunking_strategy: Optional[Any] = Field(alias="chunkingStrategy", default=None)
    poll: bool = True


class VectorStoreFileUploadInput(BaseModel):
    object_id: Any = Field(alias="objectId")
    agent_key: Optional[str] = Field(alias="agentKey", default=None)
    attributes: Optional[Any] = None
    chunking_strategy: Optional[Any] = Field(alias="chunkingStrategy", default=None)
    poll: bool = True


class VectorStoreSearchInput(BaseModel):
    query: Any
    "A string or a list of strings."
    filters: Optional[Any] = None
    max_num_results: Optional[int] = Field(alias="maxNumResults", default=None)
    ranking_options: Optional[Any] = Field(alias="rankingOptions", default=None)


class VerifyStatusSubscriptionInput(BaseModel):
    """The token mailed to the subscribed address."""

    token: str
    "The `token` of the link in the confirmation mail."


class WorkflowFilter(BaseModel):
    """Which workflows a listing keeps."""

    search: Optional[str] = None
    "Keeps the workflows whose key, name or description contain it (1-256 characters, any case)."


class WorkflowRunFilter(BaseModel):
    """Which workflow runs a listing keeps; every condition given must hold."""

    workflow_key: Optional[str] = Field(alias="workflowKey", default=None)
    "Runs of the workflow with this key."
    status: Optional[WorkflowRunStatus] = None
    "Runs in this status."
    started_before: Optional[Any] = Field(alias="startedBefore", default=None)
    "Runs started at or before it."
    started_after: Optional[Any] = Field(alias="startedAfter", default=None)
    "Runs started at or after it."
    conversation_id: Optional[str] = Field(alias="conversationId", default=None)
    "Runs in the conversation with this global id."


ChatInput.model_rebuild()
TenantSettingsInput.model_rebuild()
