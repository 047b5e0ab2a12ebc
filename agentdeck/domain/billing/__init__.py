"""Billing: plans, subscriptions through a payment provider, usage and limits, payment events.

Split by concern: `plans`, `subscriptions`, `usage`, `events` (webhook, history, live stream);
`gate` holds the access rules shared by all of them.
"""

from agentdeck.domain.billing.events import (
    billing_stream,
    document,
    event_by_provider_id,
    event_history,
    event_page,
    events_by_ids,
    handle_stripe_webhook,
    retry_due,
)
from agentdeck.domain.billing.plans import list_plans, plan_page, plans_by_codes, sync_plans
from agentdeck.domain.billing.subscriptions import (
    cancel_subscription,
    find_subscription,
    get_subscription,
    start_subscription,
    subscriptions_by_ids,
    update_subscription,
)
from agentdeck.domain.billing.usage import (
    PeriodUsage,
    UsageCounter,
    UsageLimitExceeded,
    check_usage_limit,
    record_usage,
    usage_counters,
    usage_totals,
)

__all__ = [
    "PeriodUsage",
    "UsageCounter",
    "UsageLimitExceeded",
    "billing_stream",
    "cancel_subscription",
    "check_usage_limit",
    "document",
    "event_by_provider_id",
    "event_history",
    "event_page",
    "events_by_ids",
    "find_subscription",
    "get_subscription",
    "handle_stripe_webhook",
    "list_plans",
    "plan_page",
    "plans_by_codes",
    "record_usage",
    "retry_due",
    "start_subscription",
    "subscriptions_by_ids",
    "sync_plans",
    "update_subscription",
    "usage_counters",
    "usage_totals",
]
