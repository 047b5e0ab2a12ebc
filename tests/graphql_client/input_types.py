from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import (
    BillingEventProcessingStatus,
    IncidentSeverity,
    IncidentState,
    NoticeLevel,
    SeverityFilter,
    SubscriptionChannel,
    WorkflowRunStatus,
)


class BillingContactInput(BaseModel):
    name: str
    email: str
    role: Optional[str] = None
    phone: Optional[str] = None
    notify_billing: bool = Field(alias="notifyBilling", default=True)


class BillingEventFilter(BaseModel):
    """Which payment events to list."""

    type_: Optional[str] = Field(alias="type", default=None)
    "Only events of this provider type."
    processing_status: Optional[BillingEventProcessingStatus] = Field(
        alias="processingStatus", default=None
    )
    "Only events handled so."


class BrowserServiceAccountIssueInput(BaseModel):
    account: str
    scopes: list[str]
    reason: str
    tenant_id: Optional[str] = Field(alias="tenantId", default=None)
    lifetime_minutes: Optional[int] = Field(alias="lifetimeMinutes", default=None)
    fingerprint: Optional[str] = None
    force: bool = False


class CancelSubscriptionInput(BaseModel):
    """Cancel the subscription."""

    at_period_end: bool = Field(alias="atPeriodEnd", default=True)
    "Keep it until the end of the current period (true), or end it now."


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


class EmailVerificationConfirmInput(BaseModel):
    token: str


class InputAttachment(BaseModel):
    object_id: Any = Field(alias="objectId")
    kind: Optional[str] = None


class LoginInput(BaseModel):
    email: str
    password: str
    tenant_id: Optional[Any] = Field(alias="tenantId", default=None)


class NoticeInput(BaseModel):
    message: str
    "1-500 characters."
    level: NoticeLevel = NoticeLevel.info


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


class RecordUsageInput(BaseModel):
    """Record metered usage of a feature."""

    feature_key: str = Field(alias="featureKey")
    "The plan feature's key, e.g. `messages` (1-64 characters)."
    quantity: int
    "Units used, at least 1."
    period_start: Optional[Any] = Field(alias="periodStart", default=None)
    "The period the usage belongs to (with `periodEnd`); the current one if omitted."
    period_end: Optional[Any] = Field(alias="periodEnd", default=None)
    "The end of that period, after its start."
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, per caller and operation; a retry with the same key and input gets the first request's answer and records nothing."


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
    """Start the tenant's subscription on a plan."""

    plan_id: str = Field(alias="planId")
    "The plan's global id."
    billing_email: Optional[str] = Field(alias="billingEmail", default=None)
    "Where invoices go."
    auto_renew: bool = Field(alias="autoRenew", default=True)
    "Renew at the end of each period."
    seat_count: Optional[int] = Field(alias="seatCount", default=None)
    "Seats; the plan's included seats if omitted."
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, per caller and operation; a retry with the same key and input gets the first request's answer and starts nothing."


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


class StatusIncidentInput(BaseModel):
    service: str
    impact: str
    severity: IncidentSeverity = IncidentSeverity.major
    state: IncidentState = IncidentState.investigating


class StatusIncidentResendInput(BaseModel):
    severity: SeverityFilter = SeverityFilter.major
    tenant_id: Optional[Any] = Field(alias="tenantId", default=None)


class StatusIncidentUpdateInput(BaseModel):
    impact: Optional[str] = None
    state: Optional[IncidentState] = None
    severity: Optional[IncidentSeverity] = None


class StatusSubscriptionInput(BaseModel):
    channel: SubscriptionChannel
    target: str
    severity_filter: Optional[SeverityFilter] = Field(
        alias="severityFilter", default=SeverityFilter.major
    )
    metadata: Optional[Any] = None


class StatusTokenInput(BaseModel):
    token: str


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


class UpdateSubscriptionInput(BaseModel):
    """Change the subscription: only the fields given change."""

    auto_renew: Optional[bool] = Field(alias="autoRenew", default=None)
    "Renew at the end of each period."
    billing_email: Optional[str] = Field(alias="billingEmail", default=None)
    "Where invoices go."
    seat_count: Optional[int] = Field(alias="seatCount", default=None)
    "Seats."
    plan_id: Optional[str] = Field(alias="planId", default=None)
    "Move to this plan (global id)."


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
