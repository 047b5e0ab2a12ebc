"""Which mail a user may turn off, and the one way optional mail is sent: `send_notice`.

Every notice has a category. Security and account mail (verification links, password resets,
the confirmation of a subscription just asked for) is always delivered: a user cannot opt out of
it. The optional categories are delivered unless the recipient turned the category off for the
email channel (`user_notification_preferences`, written by `domain/identity/preferences.py`):
in the tenant the notice is about, or, for a notice about no tenant, in any of theirs. A notice
not delivered leaves an outbox row with status "suppressed" (no body), so it can be accounted for.

It lives in `common` because every context sends mail (status alerts, billing notices) and none
of them may depend on `identity`.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from agentdeck.context import Services
from agentdeck.db.models import NotificationPreference, OutboxMessage, User
from agentdeck.providers.mail import Mail

log = logging.getLogger("agentdeck.mail")

CHANNELS = ("email", "sms", "in_app")
EMAIL = "email"
# Always delivered, whatever the preference says.
SECURITY, ACCOUNT = "security", "account"
REQUIRED = (SECURITY, ACCOUNT)
# Delivered unless turned off.
STATUS_ALERTS, BILLING, PRODUCT_UPDATES, MARKETING = "status_alerts", "billing", "product_updates", "marketing"
OPTIONAL = (STATUS_ALERTS, BILLING, PRODUCT_UPDATES, MARKETING)
CATEGORIES = REQUIRED + OPTIONAL


async def wanted(services: Services, to: str, category: str, tenant_id: uuid.UUID | None = None) -> bool:
    """Whether the person at `to` (if they have an account) wants `category` by email."""
    if category in REQUIRED:
        return True
    where = [
        User.email == to.strip().lower(),
        NotificationPreference.channel == EMAIL,
        NotificationPreference.category == category,
        NotificationPreference.enabled.is_(False),
    ]
    if tenant_id is not None:
        where.append(NotificationPreference.tenant_id == tenant_id)
    # Across tenants on purpose: the recipient is a person, whichever tenant they set it in.
    async with services.db.platform_session() as s:
        found = await s.scalar(
            select(NotificationPreference.id)
            .join(User, User.id == NotificationPreference.user_id)
            .where(*where)
            .limit(1)
        )
    return found is None


async def send_notice(services: Services, mail: Mail, category: str, tenant_id: uuid.UUID | None = None) -> str | None:
    """Send `mail` (of `category`) unless its recipient opted out; the message id, or None when
    it was suppressed."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown notification category {category!r}")
    if not await wanted(services, mail.to, category, tenant_id):
        row = OutboxMessage(
            id=uuid.uuid4(),
            to_address=mail.to,
            subject=mail.subject,
            body_text="(not sent: the recipient turned this category off)",
            kind=mail.kind,
            status="suppressed",
        )
        async with services.db.platform_session() as s:
            s.add(row)
            await s.commit()
        log.info("mail %s (%s) to %s not sent: %s turned off by the recipient", row.id, mail.kind, mail.to, category)
        return None
    return await services.mailer.send(mail)
