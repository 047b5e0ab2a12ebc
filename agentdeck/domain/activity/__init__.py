"""The activity feed: platform events recorded as they happen (`record`, in the transaction of
the change), read per tenant with each reader's read state, and followed live (`stream`).

Every other context records through `record`; this package depends on `common` only, so that
each of them may."""

from agentdeck.domain.activity.feed import (
    READ_STATES,
    REPLAY_MAX,
    SCOPE,
    STATUSES,
    SYSTEM,
    Actor,
    Entry,
    FeedPage,
    Filter,
    channel,
    entries_by_ids,
    event_id,
    feed,
    feed_page,
    mark,
    mark_all,
    purge_older,
    record,
    stream,
    unread_count,
)

__all__ = [
    "READ_STATES",
    "REPLAY_MAX",
    "SCOPE",
    "STATUSES",
    "SYSTEM",
    "Actor",
    "Entry",
    "FeedPage",
    "Filter",
    "channel",
    "entries_by_ids",
    "event_id",
    "feed",
    "feed_page",
    "mark",
    "mark_all",
    "purge_older",
    "record",
    "stream",
    "unread_count",
]
