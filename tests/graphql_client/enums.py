from enum import Enum


class ActivityActorType(str, Enum):
    USER = "USER"
    SERVICE_ACCOUNT = "SERVICE_ACCOUNT"
    SYSTEM = "SYSTEM"


class ActivityObjectType(str, Enum):
    USER = "USER"
    WORKFLOW_RUN = "WORKFLOW_RUN"
    STORAGE_OBJECT = "STORAGE_OBJECT"
    SUBSCRIPTION = "SUBSCRIPTION"


class ActivityReadState(str, Enum):
    UNREAD = "UNREAD"
    READ = "READ"
    DISMISSED = "DISMISSED"


class ActivitySource(str, Enum):
    API = "API"
    SYSTEM = "SYSTEM"


class ActivityStatus(str, Enum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    PENDING = "PENDING"


class AgentAvailability(str, Enum):
    ACTIVE = "ACTIVE"


class BillingCollectionMethod(str, Enum):
    CHARGE_AUTOMATICALLY = "CHARGE_AUTOMATICALLY"
    SEND_INVOICE = "SEND_INVOICE"


class BillingEventProcessingStatus(str, Enum):
    RECEIVED = "RECEIVED"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


class BillingInterval(str, Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


class BillingInvoiceStatus(str, Enum):
    DRAFT = "DRAFT"
    OPEN = "OPEN"
    PAID = "PAID"
    UNCOLLECTIBLE = "UNCOLLECTIBLE"
    VOID = "VOID"


class BillingSubscriptionStatus(str, Enum):
    INCOMPLETE = "INCOMPLETE"
    INCOMPLETE_EXPIRED = "INCOMPLETE_EXPIRED"
    TRIALING = "TRIALING"
    ACTIVE = "ACTIVE"
    PAST_DUE = "PAST_DUE"
    CANCELED = "CANCELED"
    UNPAID = "UNPAID"
    PAUSED = "PAUSED"


class ChunkingStrategyType(str, Enum):
    AUTO = "AUTO"
    STATIC = "STATIC"


class ClientLogLevel(str, Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class ContainerExpiryAnchor(str, Enum):
    LAST_ACTIVE_AT = "LAST_ACTIVE_AT"


class ContainerMemoryLimit(str, Enum):
    GB_1 = "GB_1"
    GB_4 = "GB_4"
    GB_16 = "GB_16"
    GB_64 = "GB_64"


class ContainerStatus(str, Enum):
    RUNNING = "RUNNING"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    UNKNOWN = "UNKNOWN"


class ConversationStatus(str, Enum):
    ACTIVE = "ACTIVE"


class DeviceType(str, Enum):
    DESKTOP = "DESKTOP"
    MOBILE = "MOBILE"
    TABLET = "TABLET"
    BOT = "BOT"


class ErrorSource(str, Enum):
    PROVIDER = "PROVIDER"
    SERVER = "SERVER"


class FileAttributeOperator(str, Enum):
    EQ = "EQ"
    NE = "NE"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"
    IN = "IN"
    NIN = "NIN"


class FinalStatus(str, Enum):
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INCOMPLETE = "INCOMPLETE"
    REFUSED = "REFUSED"
    CANCELLED = "CANCELLED"


class GuardrailAction(str, Enum):
    MASKED = "MASKED"
    BLOCKED = "BLOCKED"


class GuardrailEngine(str, Enum):
    REGEX = "REGEX"
    LLM = "LLM"
    API = "API"
    HYBRID = "HYBRID"


class GuardrailStage(str, Enum):
    PRE_FLIGHT = "PRE_FLIGHT"
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    TOOL_INPUT = "TOOL_INPUT"
    TOOL_OUTPUT = "TOOL_OUTPUT"


class HandoffContextPolicy(str, Enum):
    FULL = "FULL"
    FRESH = "FRESH"
    LAST_TURN = "LAST_TURN"


class HealthStatus(str, Enum):
    HEALTHY = "HEALTHY"
    READY = "READY"


class IncidentSeverity(str, Enum):
    MAJOR = "MAJOR"
    MINOR = "MINOR"
    MAINTENANCE = "MAINTENANCE"


class IncidentState(str, Enum):
    INVESTIGATING = "INVESTIGATING"
    IDENTIFIED = "IDENTIFIED"
    MONITORING = "MONITORING"
    RESOLVED = "RESOLVED"


class MemoryMode(str, Enum):
    NONE = "NONE"
    TRIM = "TRIM"
    SUMMARIZE = "SUMMARIZE"
    COMPACT = "COMPACT"


class MessageRole(str, Enum):
    USER = "USER"
    ASSISTANT = "ASSISTANT"
    TOOL = "TOOL"
    SYSTEM = "SYSTEM"


class MfaMethodType(str, Enum):
    TOTP = "TOTP"


class NotificationCategory(str, Enum):
    SECURITY = "SECURITY"
    ACCOUNT = "ACCOUNT"
    STATUS_ALERTS = "STATUS_ALERTS"
    BILLING = "BILLING"
    PRODUCT_UPDATES = "PRODUCT_UPDATES"
    MARKETING = "MARKETING"


class NotificationChannel(str, Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    IN_APP = "IN_APP"


class OutputItemType(str, Enum):
    MESSAGE = "MESSAGE"
    FUNCTION_CALL = "FUNCTION_CALL"


class PlatformCondition(str, Enum):
    OPERATIONAL = "OPERATIONAL"
    DEGRADED = "DEGRADED"
    PARTIAL_OUTAGE = "PARTIAL_OUTAGE"
    MAJOR_OUTAGE = "MAJOR_OUTAGE"


class PlatformNoticeLevel(str, Enum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class PlatformRole(str, Enum):
    PLATFORM_OPERATOR = "PLATFORM_OPERATOR"


class RunItemType(str, Enum):
    MESSAGE = "MESSAGE"
    TOOL_CALL = "TOOL_CALL"
    TOOL_OUTPUT = "TOOL_OUTPUT"
    HANDOFF = "HANDOFF"


class ServiceAccountTokenStatus(str, Enum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class ServiceCondition(str, Enum):
    OPERATIONAL = "OPERATIONAL"
    DEGRADED = "DEGRADED"
    MAJOR_OUTAGE = "MAJOR_OUTAGE"
    UNKNOWN = "UNKNOWN"


class SignupInviteStatus(str, Enum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    EXHAUSTED = "EXHAUSTED"


class SignupPolicyKind(str, Enum):
    PUBLIC = "PUBLIC"
    INVITE_ONLY = "INVITE_ONLY"
    APPROVAL = "APPROVAL"


class SignupRequestStatus(str, Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class StatusAlertSeverity(str, Enum):
    ALL = "ALL"
    MAJOR = "MAJOR"
    MAINTENANCE = "MAINTENANCE"


class StatusSubscriptionChannel(str, Enum):
    EMAIL = "EMAIL"
    WEBHOOK = "WEBHOOK"


class StatusSubscriptionStatus(str, Enum):
    PENDING_VERIFICATION = "PENDING_VERIFICATION"
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


class StorageObjectStatus(str, Enum):
    PENDING_UPLOAD = "PENDING_UPLOAD"
    AVAILABLE = "AVAILABLE"


class StreamEventKind(str, Enum):
    LIFECYCLE = "LIFECYCLE"
    AGENT_UPDATED = "AGENT_UPDATED"
    OUTPUT_ITEM_ADDED = "OUTPUT_ITEM_ADDED"
    OUTPUT_ITEM_DONE = "OUTPUT_ITEM_DONE"
    MESSAGE_DELTA = "MESSAGE_DELTA"
    TOOL_STATUS = "TOOL_STATUS"
    TOOL_ARGUMENTS_DELTA = "TOOL_ARGUMENTS_DELTA"
    TOOL_ARGUMENTS_DONE = "TOOL_ARGUMENTS_DONE"
    TOOL_OUTPUT = "TOOL_OUTPUT"
    ERROR = "ERROR"
    FINAL = "FINAL"
    GUARDRAIL = "GUARDRAIL"


class StreamStatus(str, Enum):
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    SEARCHING = "SEARCHING"
    COMPLETED = "COMPLETED"
    INCOMPLETE = "INCOMPLETE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class TenantRole(str, Enum):
    VIEWER = "VIEWER"
    MEMBER = "MEMBER"
    ADMIN = "ADMIN"
    OWNER = "OWNER"


class TokenType(str, Enum):
    BEARER = "BEARER"


class ToolCategory(str, Enum):
    UTILITY = "UTILITY"
    KNOWLEDGE = "KNOWLEDGE"
    WEB = "WEB"
    CODE = "CODE"
    MEDIA = "MEDIA"
    OTHER = "OTHER"


class ToolKind(str, Enum):
    FUNCTION = "FUNCTION"
    HOSTED = "HOSTED"


class ToolType(str, Enum):
    FUNCTION = "FUNCTION"
    FILE_SEARCH = "FILE_SEARCH"
    WEB_SEARCH = "WEB_SEARCH"
    CODE_INTERPRETER = "CODE_INTERPRETER"
    IMAGE_GENERATION = "IMAGE_GENERATION"
    MCP = "MCP"
    AGENT = "AGENT"


class TurnStatus(str, Enum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INCOMPLETE = "INCOMPLETE"
    REFUSED = "REFUSED"


class UptimeTrend(str, Enum):
    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"
    NEUTRAL = "NEUTRAL"


class UserErrorCode(str, Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    GONE = "GONE"
    TOO_LARGE = "TOO_LARGE"


class VectorStoreExpiryAnchor(str, Enum):
    LAST_ACTIVE_AT = "LAST_ACTIVE_AT"


class VectorStoreFileStatus(str, Enum):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class VectorStoreStatus(str, Enum):
    EXPIRED = "EXPIRED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class WorkflowInputMapper(str, Enum):
    PASSTHROUGH = "PASSTHROUGH"
    TO_PDF_PROMPT = "TO_PDF_PROMPT"


class WorkflowRunStatus(str, Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class WorkflowRunStepStatus(str, Enum):
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INCOMPLETE = "INCOMPLETE"
    SKIPPED = "SKIPPED"


class WorkflowStageMode(str, Enum):
    SEQUENTIAL = "SEQUENTIAL"
    PARALLEL = "PARALLEL"


class WorkflowStageReducer(str, Enum):
    CONCAT_OUTPUTS = "CONCAT_OUTPUTS"


class WorkflowStepGuard(str, Enum):
    HAS_INPUT = "HAS_INPUT"
