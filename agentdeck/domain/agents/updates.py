"""Live updates of a conversation's metadata (title, message count, status, active agent, the
state of its latest turn), published on the bus channel `conversation:<tenant>:<id>` whenever a
turn or a setting changes it, so that a reader on any process sees them.

An update is the conversation's state after the change (a snapshot, not a diff), so a reader that
missed one loses nothing but the intermediate state. Publishing never fails the change itself.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from agentdeck.context import Context
from agentdeck.db.models import Conversation

log = logging.getLogger("agentdeck.chat")
PUBLISH_TIMEOUT_S = 2.0
# Why an update was sent: the first one a reader gets, a turn starting (the user's message is in)
# and ending (the answer, or the failure), the memory strategy changed, the conversation deleted.
REASONS = ("snapshot", "turn_started", "turn_finished", "memory_updated", "deleted")


def channel(tenant_id: uuid.UUID | str, conversation_id: uuid.UUID | str) -> str:
    return f"conversation:{tenant_id}:{conversation_id}"


def snapshot(row: Conversation, reason: str, turn_status: str | None = None) -> dict[str, Any]:
    """The update for `row` as it is now."""
    return {
        "conversation_id": str(row.id),
        "reason": reason,
        "turn_status": turn_status,
        "display_name": row.display_name,
        "status": row.status,
        "message_count": row.message_count,
        "agent_entrypoint": row.agent_entrypoint,
        "active_agent": row.active_agent,
        "last_message_preview": row.last_message_preview,
        "updated_at": row.updated_at.isoformat(),
    }


async def publish_update(
    ctx: Context,
    conversation_id: uuid.UUID,
    reason: str,
    turn_status: str | None = None,
    row: Conversation | None = None,
) -> None:
    """Publish the conversation's state after a change (`reason`): `row` as the change's own
    transaction left it, else read now; a failure is logged only."""
    try:
        if row is None:
            async with ctx.session() as s:
                row = await s.get(Conversation, conversation_id)
        if row is None:
            return
        message = snapshot(row, reason, turn_status)
        await asyncio.wait_for(ctx.bus.publish(channel(row.tenant_id, row.id), message), PUBLISH_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - a reader missing an update must not fail the turn
        log.warning("could not publish the %s update of conversation %s", reason, conversation_id, exc_info=True)


async def publish_deleted(ctx: Context, tenant_id: uuid.UUID, last: dict[str, Any]) -> None:
    """Tell the conversation's readers it is gone (`last`: its snapshot, reason `deleted`); their
    streams end with it."""
    try:
        target = channel(tenant_id, last["conversation_id"])
        await asyncio.wait_for(ctx.bus.publish(target, last), PUBLISH_TIMEOUT_S)
    except Exception:  # noqa: BLE001
        log.warning("could not publish the deletion of conversation %s", last["conversation_id"], exc_info=True)
