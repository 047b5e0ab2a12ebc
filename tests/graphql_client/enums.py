from enum import Enum


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
