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


class WorkflowRunStatus(str, Enum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class WorkflowStageMode(str, Enum):
    sequential = "sequential"
    parallel = "parallel"
