from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import (
    ActivityObjectType,
    ActivityReadState,
    ActivityStatus,
    BillingEventProcessingStatus,
    ClientLogLevel,
    ContainerExpiryAnchor,
    ContainerMemoryLimit,
    FileAttributeOperator,
    GuardrailStage,
    HandoffContextPolicy,
    IncidentSeverity,
    IncidentState,
    MemoryMode,
    NotificationCategory,
    NotificationChannel,
    PlatformNoticeLevel,
    ServiceAccountTokenStatus,
    SignupInviteStatus,
    SignupRequestStatus,
    StatusAlertSeverity,
    StatusSubscriptionChannel,
    StatusSubscriptionStatus,
    VectorStoreFileStatus,
    WorkflowRunStatus,
)


class ActivityFilter(BaseModel):
    """Which activity events to list (every field given must match)."""

    action: Optional[str] = None
    "Only this action."
    actor_id: Optional[str] = Field(alias="actorId", default=None)
    "Only this actor's."
    object_type: Optional[ActivityObjectType] = Field(alias="objectType", default=None)
    "Only about this kind of object."
    object_id: Optional[str] = Field(alias="objectId", default=None)
    "Only about this object."
    status: Optional[ActivityStatus] = None
    "Only with this outcome."
    request_id: Optional[str] = Field(alias="requestId", default=None)
    "Only of this request (correlation id)."
    created_after: Optional[Any] = Field(alias="createdAfter", default=None)
    "Only from this moment on."
    created_before: Optional[Any] = Field(alias="createdBefore", default=None)
    "Only up to this moment."
    read_state: Optional[ActivityReadState] = Field(alias="readState", default=None)
    "Only in this state for the caller."


class AgentFilter(BaseModel):
    """Which agents to list."""

    search: Optional[str] = None
    "Only those with this text in their key, name or description."


class ApproveSignupRequestInput(BaseModel):
    """The request to approve, and its invite's terms."""

    id: str
    "The request's global id."
    note: Optional[str] = None
    "Up to 512 characters."
    invite_expires_in_hours: int = Field(alias="inviteExpiresInHours", default=72)
    "1 to 336."


class AttachVectorStoreFileInput(BaseModel):
    """A file to attach by its file id, and how to ingest it."""

    vector_store_id: str = Field(alias="vectorStoreId")
    "The store's global id."
    file_id: str = Field(alias="fileId")
    "The file id (`file-<hex>`) or the stored object's UUID."
    attributes: Optional[Any] = None
    "Up to 16 attributes (strings up to 512 characters, numbers, booleans)."
    chunking: Optional["StaticChunkingInput"] = None
    "Automatic when null."
    wait: bool = True
    "Return once ingestion has finished."


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


class BindAgentContainerInput(BaseModel):
    """An agent and the container its code interpreter is to run in."""

    agent_key: str = Field(alias="agentKey")
    "The agent's key in the catalog."
    container_id: str = Field(alias="containerId")
    "The container's global id."


class BindVectorStoreInput(BaseModel):
    """A store and the agent whose file search is to search it."""

    vector_store_id: str = Field(alias="vectorStoreId")
    "The store's global id."
    agent_key: str = Field(alias="agentKey")
    "The agent's key in the catalog (one that uses file search)."


class CancelSubscriptionInput(BaseModel):
    """Cancel the subscription."""

    at_period_end: bool = Field(alias="atPeriodEnd", default=True)
    "Keep it until the end of the current period (true), or end it now."


class CancelWorkflowRunInput(BaseModel):
    """The run to cancel."""

    id: str
    "The run's global id."


class ChangePasswordInput(BaseModel):
    """The caller's current password and the new one."""

    current_password: str = Field(alias="currentPassword")
    "The password in use now."
    new_password: str = Field(alias="newPassword")
    "A passphrase the password rules accept, not the current one."


class ClientLogEntryInput(BaseModel):
    """One line of the client's log."""

    event: str
    'What happened, e.g. "ui.click".'
    level: ClientLogLevel = ClientLogLevel.INFO
    message: Optional[str] = None
    scope: Optional[str] = None
    "Where in the client, e.g. a page."
    timestamp: Optional[str] = None
    "The client's time, as it gives it."
    fields: Optional[Any] = None
    "More facts: an object of at most 32 keys (`level` and `message` are dropped), nested at most 8 levels."


class CompleteMfaSignInInput(BaseModel):
    """A challenge from `login` and a second factor."""

    challenge_token: str = Field(alias="challengeToken")
    "`login`'s `mfaChallenge.challengeToken`."
    code: str
    "A six-digit code of the authenticator app (or, to complete a sign-in, a recovery code)."
    method_id: Optional[str] = Field(alias="methodId", default=None)
    "The method the code is from (its global id); any active one when omitted."


class ConfirmPasswordResetInput(BaseModel):
    """A mailed reset token and the new password."""

    token: str
    "The `token` of the mailed link."
    new_password: str = Field(alias="newPassword")
    "A passphrase the password rules accept."


class ConfirmStatusSubscriptionChallengeInput(BaseModel):
    """The challenge POSTed to the webhook."""

    challenge: str
    "The `challenge` of the signed POST the webhook received."


class ContainerExpiryInput(BaseModel):
    """A container expiry: minutes of idleness after the anchor."""

    minutes: int
    "1 to 20."
    anchor: ContainerExpiryAnchor = ContainerExpiryAnchor.LAST_ACTIVE_AT
    "What the minutes count from."


class ConversationEventFilter(BaseModel):
    """Which ledger events to list."""

    workflow_run_id: Optional[str] = Field(alias="workflowRunId", default=None)
    "Only those of this workflow run (its database id)."


class ConversationFilter(BaseModel):
    """Which conversations to list."""

    agent: Optional[str] = None
    "Only those started with this agent (its key)."


class CreateContainerInput(BaseModel):
    """A new container."""

    name: str
    "1 to 128 characters (trimmed)."
    memory_limit: Optional[ContainerMemoryLimit] = Field(
        alias="memoryLimit", default=None
    )
    "1 GB by default."
    expires_after: Optional["ContainerExpiryInput"] = Field(
        alias="expiresAfter", default=None
    )
    "When it expires when idle; the provider's default if null."
    file_ids: Optional[list[str]] = Field(alias="fileIds", default=None)
    "Provider file ids to copy into the container (at most 100)."
    metadata: Optional[Any] = None
    "Key/value annotations (an object)."


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


class CreateStorageUploadInput(BaseModel):
    """The object to create; its bytes are PUT to the upload request after."""

    filename: str
    "1-256 characters, no control characters."
    mime_type: str = Field(alias="mimeType")
    "The media type the bytes will be sent with (an allowed one)."
    size_bytes: int = Field(alias="sizeBytes")
    "The size of the bytes, at most the tenant's limit."
    agent_key: Optional[str] = Field(alias="agentKey", default=None)
    "The agent it is for, if any."
    conversation_id: Optional[str] = Field(alias="conversationId", default=None)
    "The conversation it belongs to (its global id), if any."
    metadata: Optional[Any] = None
    "An object kept with it."


class CreateVectorStoreInput(BaseModel):
    """The store to create."""

    name: str
    "1-128 characters, unique within the tenant."
    description: Optional[str] = None
    "At most 2048 characters."
    expires_after_days: Optional[int] = Field(alias="expiresAfterDays", default=None)
    "Expire 1-365 days after it was last active; never when null."
    metadata: Optional[Any] = None
    "An object kept with it."


class DeleteContainerInput(BaseModel):
    """The container to delete."""

    id: str
    "The container's global id."


class DeleteConversationInput(BaseModel):
    """The conversation to delete."""

    id: str
    "The conversation to delete."


class DeleteMfaMethodInput(BaseModel):
    """The method to delete."""

    method_id: str = Field(alias="methodId")
    "One of the caller's methods (its global id)."


class DeleteStorageObjectInput(BaseModel):
    """The stored object to delete."""

    id: str
    "The object's global id."


class DeleteVectorStoreFileInput(BaseModel):
    """The file to detach from its store (its chunks go; the stored object stays)."""

    id: str
    "The vector store file's global id."


class DeleteVectorStoreInput(BaseModel):
    """The store to delete, with its files and chunks."""

    id: str
    "The store's global id."


class DeleteWorkflowRunInput(BaseModel):
    """The finished run to delete."""

    id: str
    "The run's global id."
    reason: Optional[str] = None
    "Why (logged with the deletion)."


class DismissActivityInput(BaseModel):
    """Dismiss one activity event for the caller."""

    id: str
    "The event's global id."


class EnrollTotpInput(BaseModel):
    """A new TOTP authenticator."""

    label: Optional[str] = None
    "A name to tell it apart (1-64 characters)."


class FileAttributeComparison(BaseModel):
    """One comparison of a file attribute."""

    key: str
    "The attribute's name."
    operator: FileAttributeOperator
    "How the attribute is compared."
    value: Any
    "A string, number or boolean; a list of them for `IN`/`NIN`."


class FileAttributeFilter(BaseModel):
    """A filter on file attributes: a comparison, or all/any of filters."""

    comparison: Optional["FileAttributeComparison"] = None
    "One comparison."
    all: Optional[list["FileAttributeFilter"]] = None
    "Every one of these filters (1-50)."
    any: Optional[list["FileAttributeFilter"]] = None
    "At least one of these filters (1-50)."


class ForgotPasswordInput(BaseModel):
    """The address of the account whose password is forgotten."""

    email: str
    "The account's address."


class GuardrailFilter(BaseModel):
    """Which guardrails `guardrails` lists."""

    stage: Optional[GuardrailStage] = None


class IncidentFilter(BaseModel):
    """Which incidents to list."""

    state: Optional[IncidentState] = None
    "Only incidents in this state."
    severity: Optional[IncidentSeverity] = None
    "Only incidents of this severity."


class IssueServiceAccountTokenFromBrowserInput(BaseModel):
    """The token to mint, and why (the reason is kept for the audit)."""

    account: str
    "The service account (a catalog name)."
    scopes: list[str]
    "Scopes the token carries: some of the account's."
    tenant: Optional[str] = None
    "The tenant (its global id) a tenant-scoped account's token is for; a tenant admin's own tenant when omitted. Null for a global account."
    lifetime_minutes: Optional[int] = Field(alias="lifetimeMinutes", default=None)
    "Shorter than the account's lifetime (its default and ceiling)."
    fingerprint: Optional[str] = None
    "A label to find the token by."
    reason: str
    "Why the token is minted (10 to 512 characters)."


class IssueServiceAccountTokenInput(BaseModel):
    """The token to mint."""

    account: str
    "The service account (a catalog name)."
    scopes: list[str]
    "Scopes the token carries: some of the account's."
    tenant: Optional[str] = None
    "The tenant (its global id) a tenant-scoped account's token is for; a tenant admin's own tenant when omitted. Null for a global account."
    lifetime_minutes: Optional[int] = Field(alias="lifetimeMinutes", default=None)
    "Shorter than the account's lifetime (its default and ceiling)."
    fingerprint: Optional[str] = None
    "A label to find the token by."


class IssueSignupInviteInput(BaseModel):
    """The invite to issue."""

    invited_email: Optional[str] = Field(alias="invitedEmail", default=None)
    "The only address that may redeem it."
    max_redemptions: int = Field(alias="maxRedemptions", default=1)
    "1 to 10."
    expires_in_hours: int = Field(alias="expiresInHours", default=72)
    "1 to 336."
    note: Optional[str] = None
    "Up to 512 characters."
    signup_request_id: Optional[str] = Field(alias="signupRequestId", default=None)
    "The access request it answers (its global id)."


class LoginInput(BaseModel):
    """Sign in with email and password."""

    email: str
    "The account's address (any case)."
    password: str
    tenant_id: Optional[str] = Field(alias="tenantId", default=None)
    "The tenant to sign in to (its global id): needed by members of several tenants."


class LogoutInput(BaseModel):
    """The refresh token of the session to end."""

    refresh_token: str = Field(alias="refreshToken")
    "A refresh token of the caller's session to end."


class MarkActivityReadInput(BaseModel):
    """Mark one activity event read for the caller."""

    id: str
    "The event's global id."


class MarkAllActivityReadInput(BaseModel):
    """Mark the caller's activity read."""

    before: Optional[Any] = None
    "Only the events up to this moment (now, by default)."


class MfaMethodFilter(BaseModel):
    """Which MFA methods a list shows."""

    include_revoked: bool = Field(alias="includeRevoked", default=False)
    "Deleted (revoked) methods too."


class NotificationPreferenceInput(BaseModel):
    """Whether to send one category of notice on one channel."""

    channel: NotificationChannel
    category: NotificationCategory
    enabled: bool = True
    "False turns the notices off (not SECURITY, ACCOUNT)."


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


class PlanMetadataEntryInput(BaseModel):
    """A plan metadata entry."""

    key: str
    "The entry's name (once per write)."
    value: str
    "Its value."


class PublishNoticeInput(BaseModel):
    """The notice to broadcast."""

    message: str
    "1-500 characters; surrounding blanks are trimmed."
    level: PlatformNoticeLevel = PlatformNoticeLevel.INFO
    "INFO by default."


class RecordConsentInput(BaseModel):
    """A policy version the caller accepts."""

    policy_key: str = Field(alias="policyKey")
    'The policy, e.g. "terms_of_service".'
    version: str
    "The version accepted."
    ip_hash: Optional[str] = Field(alias="ipHash", default=None)
    "A hash of the client's address, if the client keeps one."
    user_agent_hash: Optional[str] = Field(alias="userAgentHash", default=None)
    "A hash of the client's user agent."


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


class RefreshSessionInput(BaseModel):
    """A refresh token to exchange."""

    refresh_token: str = Field(alias="refreshToken")
    "The latest refresh token of the session."


class RegisterInput(BaseModel):
    """A new tenant and its owner."""

    email: str
    "The new account's address."
    password: str
    "A passphrase the password rules accept (long enough, not the email)."
    tenant_name: str = Field(alias="tenantName")
    "The new tenant's name: 2-128 characters."
    accept_terms: bool = Field(alias="acceptTerms")
    "Must be true: the terms of service are accepted."
    display_name: Optional[str] = Field(alias="displayName", default=None)
    "The name the user goes by."
    invite_token: Optional[str] = Field(alias="inviteToken", default=None)
    "Needed unless sign-up is public."


class RejectSignupRequestInput(BaseModel):
    """The request to reject."""

    id: str
    "The request's global id."
    reason: Optional[str] = None
    "Up to 512 characters."


class RequestAccessInput(BaseModel):
    """A request for access."""

    email: str
    "Where the invite is to be sent."
    organization: str
    "2 to 128 characters."
    full_name: str = Field(alias="fullName")
    "2 to 128 characters."
    accept_terms: bool = Field(alias="acceptTerms")
    "Must be true: the terms of service are accepted."
    message: Optional[str] = None
    "Up to 1000 characters."
    honeypot: Optional[str] = None
    "Leave empty (a field for bots to fill)."


class ResendStatusIncidentInput(BaseModel):
    """The incident to send again, and to whom."""

    id: str
    "The incident's global id."
    severity: StatusAlertSeverity = StatusAlertSeverity.MAJOR
    "Send to the subscriptions whose filter matches this (ALL: every active subscription)."


class ResetUserPasswordInput(BaseModel):
    """A member of the caller's tenant and their new password."""

    user_id: str = Field(alias="userId")
    "The member (their global id)."
    new_password: str = Field(alias="newPassword")
    "A passphrase the password rules accept."


class ResolveStatusIncidentInput(BaseModel):
    """The incident to resolve."""

    id: str
    "The incident's global id."
    impact: Optional[str] = None
    "A closing impact text, if it changed."


class RevokeServiceAccountTokenInput(BaseModel):
    """The token to revoke."""

    id: str
    "The token's global id."
    reason: Optional[str] = None
    "Up to 256 characters."


class RevokeSessionInput(BaseModel):
    """The session to end."""

    session_id: str = Field(alias="sessionId")
    "One of the caller's sessions (its global id)."


class RevokeSignupInviteInput(BaseModel):
    """The invite to revoke."""

    id: str
    "The invite's global id."


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


class SendMessageInput(BaseModel):
    """A message to an agent: the first of a new conversation, or the next of one."""

    message: str
    "The text (1-32000 characters)."
    conversation_id: Optional[str] = Field(alias="conversationId", default=None)
    "The conversation to continue; none starts a new one."
    agent: Optional[str] = None
    "The key of the agent to talk to (a new conversation); the default agent if none."
    handoff_context_policy: Optional[HandoffContextPolicy] = Field(
        alias="handoffContextPolicy", default=None
    )
    "How much of the conversation an agent taking over sees (the agent's own if none)."
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, per caller and operation. A retry with the same key and input gets the first request's result and starts no second turn; another input with the key is refused."


class ServiceAccountTokenFilter(BaseModel):
    """Which service-account tokens to list."""

    account: Optional[str] = None
    "Accounts whose name contains this."
    fingerprint: Optional[str] = None
    "Tokens minted with this fingerprint."
    status: Optional[ServiceAccountTokenStatus] = None
    "Tokens in this status (any if null)."
    include_global: bool = Field(alias="includeGlobal", default=False)
    "Include the tokens of global accounts (operators only)."


class SignupInviteFilter(BaseModel):
    """Which invites to list."""

    status: Optional[SignupInviteStatus] = None
    "Invites in this status (any if null)."
    invited_email: Optional[str] = Field(alias="invitedEmail", default=None)
    "Invites for this address."
    signup_request_id: Optional[str] = Field(alias="signupRequestId", default=None)
    "Invites issued for this access request (its global id)."


class SignupRequestFilter(BaseModel):
    """Which access requests to list."""

    status: Optional[SignupRequestStatus] = None
    "Requests in this status (any if null)."


class StartChatInput(BaseModel):
    """A message to an agent whose answer is read from the `chatEvents` subscription."""

    message: str
    "The text (1-32000 characters)."
    conversation_id: Optional[str] = Field(alias="conversationId", default=None)
    "The conversation to continue; none starts a new one."
    agent: Optional[str] = None
    "The key of the agent to talk to (a new conversation); the default agent if none."
    handoff_context_policy: Optional[HandoffContextPolicy] = Field(
        alias="handoffContextPolicy", default=None
    )
    "How much of the conversation an agent taking over sees (the agent's own if none)."
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, per caller and operation. A retry with the same key and input gets the first request's result and starts no second turn; another input with the key is refused."


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


class StaticChunkingInput(BaseModel):
    """A static chunking: chunks of `maxChunkSizeTokens`, overlapping by `chunkOverlapTokens`."""

    max_chunk_size_tokens: int = Field(alias="maxChunkSizeTokens")
    "100-4096."
    chunk_overlap_tokens: int = Field(alias="chunkOverlapTokens", default=0)
    "At most half the chunk size."


class StatusSubscriptionFilter(BaseModel):
    """Which alert subscriptions to list."""

    channel: Optional[StatusSubscriptionChannel] = None
    "Only this channel's."
    status: Optional[StatusSubscriptionStatus] = None
    "Only those in this status."


class StorageObjectFilter(BaseModel):
    """Which stored objects to list."""

    conversation_id: Optional[str] = Field(alias="conversationId", default=None)
    "Only those uploaded in this conversation (its global id)."


class SubmitClientLogsInput(BaseModel):
    """Client log entries for the server's log (never shown back)."""

    entries: list["ClientLogEntryInput"]
    "1 to 50 entries, together at most `AGENTDECK_CLIENT_LOG_MAX_BYTES` as JSON (else a TOO_LARGE user error)."


class SubmitContactInput(BaseModel):
    """A message for the team."""

    email: str
    "Where to answer."
    message: str
    "10 to 2000 characters."
    name: Optional[str] = None
    "The sender's name (up to 120 characters)."
    company: Optional[str] = None
    "Their company (up to 120 characters)."
    topic: Optional[str] = None
    "What it is about (up to 80 characters)."
    honeypot: Optional[str] = None
    "Leave empty (a field for bots to fill)."
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, per sender. A retry with the same key and input gets the first submission's receipt and sends nothing twice; another input with the key is refused. The key of a REST submission (`Idempotency-Key`) names the same submission here."


class TenantFlagInput(BaseModel):
    """A feature flag."""

    key: str
    "The flag's name (once per write)."
    enabled: bool
    "Whether it is on."


class UnbindAgentContainerInput(BaseModel):
    """The agent to unbind from its container."""

    agent_key: str = Field(alias="agentKey")
    "The agent's key in the catalog."


class UnbindVectorStoreInput(BaseModel):
    """A store and the agent that is to stop searching it."""

    vector_store_id: str = Field(alias="vectorStoreId")
    "The store's global id."
    agent_key: str = Field(alias="agentKey")
    "The agent's key in the catalog."


class UpdateConversationMemoryInput(BaseModel):
    """The memory settings of a conversation to change: a field left out keeps its value."""

    id: str
    "The conversation."
    mode: Optional[MemoryMode] = None
    "The strategy (null clears it)."
    max_user_turns: Optional[int] = Field(alias="maxUserTurns", default=None)
    "TRIM, SUMMARIZE: act once the conversation has more turns than this (1-1000; null clears it)."
    keep_last_turns: Optional[int] = Field(alias="keepLastTurns", default=None)
    "TRIM, SUMMARIZE: the last turns kept whole (1-1000; null clears it)."
    compact_trigger_turns: Optional[int] = Field(
        alias="compactTriggerTurns", default=None
    )
    "COMPACT: act once the conversation has more turns than this (1-1000; null clears it)."
    compact_keep: Optional[int] = Field(alias="compactKeep", default=None)
    "COMPACT: the last turns whose tool items are left as they are (1-1000; null clears it)."
    clear_tool_inputs: Optional[bool] = Field(alias="clearToolInputs", default=None)
    "COMPACT: replace tool-call arguments too."
    memory_injection: Optional[bool] = Field(alias="memoryInjection", default=None)
    "Stored and reported."


class UpdateNotificationPreferencesInput(BaseModel):
    """Preferences to set, in the tenant of the request; the others stay as they are."""

    preferences: list["NotificationPreferenceInput"]
    "1 to 18, each channel and category once."


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
    """Change the subscription: only the fields given change."""

    auto_renew: Optional[bool] = Field(alias="autoRenew", default=None)
    "Renew at the end of each period."
    billing_email: Optional[str] = Field(alias="billingEmail", default=None)
    "Where invoices go."
    seat_count: Optional[int] = Field(alias="seatCount", default=None)
    "Seats."
    plan_id: Optional[str] = Field(alias="planId", default=None)
    "Move to this plan (global id)."


class UpdateTenantSettingsInput(BaseModel):
    """The tenant's settings, replaced as a whole."""

    expected_version: int = Field(alias="expectedVersion")
    "The `version` read: the write is refused (a CONFLICT user error) if someone wrote since."
    billing_contacts: list["BillingContactInput"] = Field(alias="billingContacts")
    "At most 20."
    billing_webhook_url: Optional[str] = Field(alias="billingWebhookUrl", default=None)
    "An https URL that resolves to public addresses only."
    plan_metadata: list["PlanMetadataEntryInput"] = Field(alias="planMetadata")
    "At most 100 distinct keys."
    flags: list["TenantFlagInput"]
    "At most 100 distinct keys."


class UploadVectorStoreFileInput(BaseModel):
    """A stored object to attach, and how to ingest it."""

    vector_store_id: str = Field(alias="vectorStoreId")
    "The store's global id."
    storage_object_id: str = Field(alias="storageObjectId")
    "The uploaded stored object's global id."
    agent_key: Optional[str] = Field(alias="agentKey", default=None)
    "The agent it is for (one that uses file search), if any."
    attributes: Optional[Any] = None
    "Up to 16 attributes (strings up to 512 characters, numbers, booleans)."
    chunking: Optional["StaticChunkingInput"] = None
    "Automatic when null."
    wait: bool = True
    "Return once ingestion has finished."


class UserSessionFilter(BaseModel):
    """Which sessions a session list shows."""

    include_revoked: bool = Field(alias="includeRevoked", default=False)
    "Ended sessions too."


class VectorStoreFileFilter(BaseModel):
    """Which files of a store to list."""

    status: Optional[VectorStoreFileStatus] = None
    "Only files in this status."


class VectorStoreSearchFilter(BaseModel):
    """Which chunks a search may return."""

    attributes: Optional["FileAttributeFilter"] = None
    "Only files whose attributes match."
    min_score: Optional[float] = Field(alias="minScore", default=None)
    "Only chunks scoring at least this (0 to 1)."


class VerifyEmailInput(BaseModel):
    """The token of a mailed verification link."""

    token: str
    "The `token` of the mailed link."


class VerifyStatusSubscriptionInput(BaseModel):
    """The token mailed to the subscribed address."""

    token: str
    "The `token` of the link in the confirmation mail."


class VerifyTotpInput(BaseModel):
    """A code of a method, which turns it on."""

    method_id: str = Field(alias="methodId")
    "The method (its global id)."
    code: str
    "The app's current six-digit code."


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


AttachVectorStoreFileInput.model_rebuild()
CreateContainerInput.model_rebuild()
FileAttributeFilter.model_rebuild()
SubmitClientLogsInput.model_rebuild()
UpdateNotificationPreferencesInput.model_rebuild()
UpdateTenantSettingsInput.model_rebuild()
UploadVectorStoreFileInput.model_rebuild()
VectorStoreSearchFilter.model_rebuild()
