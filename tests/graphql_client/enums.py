from enum import Enum


class AgentAvailability(str, Enum):
    ACTIVE = "ACTIVE"


class ChunkingStrategyType(str, Enum):
    AUTO = "AUTO"
    STATIC = "STATIC"


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


class FileAttributeOperator(str, Enum):
    EQ = "EQ"
    NE = "NE"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"
    IN = "IN"
    NIN = "NIN"


class HandoffContextPolicy(str, Enum):
    FULL = "FULL"
    FRESH = "FRESH"
    LAST_TURN = "LAST_TURN"


class IncidentSeverity(str, Enum):
    major = "major"
    minor = "minor"
    maintenance = "maintenance"


class IncidentState(str, Enum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


class MessageRole(str, Enum):
    USER = "USER"
    ASSISTANT = "ASSISTANT"
    TOOL = "TOOL"
    SYSTEM = "SYSTEM"


class NoticeLevel(str, Enum):
    info = "info"
    warning = "warning"
    critical = "critical"


class RunItemType(str, Enum):
    MESSAGE = "MESSAGE"
    TOOL_CALL = "TOOL_CALL"
    TOOL_OUTPUT = "TOOL_OUTPUT"
    HANDOFF = "HANDOFF"


class ServiceAccountTokenStatus(str, Enum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class SeverityFilter(str, Enum):
    all = "all"
    major = "major"
    maintenance = "maintenance"


class SignupInviteStatus(str, Enum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    EXHAUSTED = "EXHAUSTED"


class SignupRequestStatus(str, Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class StorageObjectStatus(str, Enum):
    PENDING_UPLOAD = "PENDING_UPLOAD"
    AVAILABLE = "AVAILABLE"


class StripeEventStatus(str, Enum):
    received = "received"
    processed = "processed"
    failed = "failed"


class SubscriptionChannel(str, Enum):
    email = "email"
    webhook = "webhook"


class ToolKind(str, Enum):
    FUNCTION = "FUNCTION"
    HOSTED = "HOSTED"


class TurnStatus(str, Enum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INCOMPLETE = "INCOMPLETE"


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
