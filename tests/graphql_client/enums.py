from enum import Enum


class IncidentSeverity(str, Enum):
    major = "major"
    minor = "minor"
    maintenance = "maintenance"


class IncidentState(str, Enum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


class NoticeLevel(str, Enum):
    info = "info"
    warning = "warning"
    critical = "critical"


class ServiceAccountTokenStatus(str, Enum):
    active = "active"
    revoked = "revoked"
    all = "all"


class SeverityFilter(str, Enum):
    all = "all"
    major = "major"
    maintenance = "maintenance"


class SignupInviteStatus(str, Enum):
    active = "active"
    revoked = "revoked"
    expired = "expired"
    exhausted = "exhausted"


class SignupRequestStatus(str, Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class StripeEventStatus(str, Enum):
    received = "received"
    processed = "processed"
    failed = "failed"


class SubscriptionChannel(str, Enum):
    email = "email"
    webhook = "webhook"


class UserErrorCode(str, Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    GONE = "GONE"
    TOO_LARGE = "TOO_LARGE"


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
