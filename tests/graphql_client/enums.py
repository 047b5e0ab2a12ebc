from enum import Enum


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


class PlatformCondition(str, Enum):
    OPERATIONAL = "OPERATIONAL"
    DEGRADED = "DEGRADED"
    PARTIAL_OUTAGE = "PARTIAL_OUTAGE"
    MAJOR_OUTAGE = "MAJOR_OUTAGE"


class PlatformNoticeLevel(str, Enum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class ServiceAccountTokenStatus(str, Enum):
    active = "active"
    revoked = "revoked"
    all = "all"


class ServiceCondition(str, Enum):
    OPERATIONAL = "OPERATIONAL"
    DEGRADED = "DEGRADED"
    MAJOR_OUTAGE = "MAJOR_OUTAGE"
    UNKNOWN = "UNKNOWN"


class SignupInviteStatus(str, Enum):
    active = "active"
    revoked = "revoked"
    expired = "expired"
    exhausted = "exhausted"


class SignupRequestStatus(str, Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


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


class StripeEventStatus(str, Enum):
    received = "received"
    processed = "processed"
    failed = "failed"


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
