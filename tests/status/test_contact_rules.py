"""Contact form rules, in-process (tests/inprocess.py).

Covered: a submission is stored with its email lower-cased and mailed to the configured recipient
under its reference, with single-line headers; a filled honeypot is answered like a success but
nothing is kept or mailed, and it spends no quota; at most 3 submissions per email per hour
(case-insensitively), other senders unaffected; a retry with the same idempotency key gets the
first reference and sends nothing twice, the same key with other inputs is refused.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agentdeck.context import Context
from agentdeck.db.models.status import ContactSubmission
from agentdeck.domain.common.idempotency import Idempotency
from agentdeck.domain.status.contact import ACCEPTED, submit
from agentdeck.errors import InvalidInput, RateLimited
from agentdeck.providers.mail import outbox
from tests.inprocess import platform

RECIPIENT = "sales@agentdeck.example"


async def stored(services) -> list[ContactSubmission]:
    async with services.db.platform_session() as s:
        return list(await s.scalars(select(ContactSubmission)))


async def test_a_submission_is_stored_and_mailed_under_its_reference(tmp_path):
    async with platform(tmp_path, contact_recipient=RECIPIENT) as services:
        ctx = Context(services=services)
        outcome = await submit(
            ctx, " Dana@Example.COM ", "Dana\nScully", "ACME", "Pricing\r\nBcc: x@evil.test", "Hello\nthere", None
        )
        assert outcome.message == ACCEPTED and outcome.data.suppressed is False
        reference = str(outcome.data.row.id)
        [row] = await stored(services)
        assert (str(row.id), row.email, row.message) == (reference, "dana@example.com", "Hello\nthere")
        [mail] = await outbox(services.db, RECIPIENT, 10)
        assert mail.subject == f"[contact {reference[:8]}] Pricing Bcc: x@evil.test"
        assert f"Reference: {reference}\nFrom: Dana Scully <dana@example.com>\n" in mail.body_text
        assert mail.body_text.endswith("\n\nHello\nthere\n")  # the body as sent
        assert (row.delivered, row.message_id) == (False, str(mail.id))  # no SMTP: kept, not delivered


async def test_the_honeypot_and_the_hourly_limit_per_email(tmp_path):
    async with platform(tmp_path, contact_recipient=RECIPIENT) as services:
        ctx = Context(services=services)
        for _ in range(5):  # a bot: told it worked, nothing kept or mailed, no quota spent
            bot = await submit(ctx, "eve@example.com", None, None, None, "spam", "http://spam.example")
            assert bot.message == ACCEPTED and bot.data.suppressed
        assert await stored(services) == [] and await outbox(services.db, None, 10) == []

        for sender in ("eve@example.com", "EVE@example.com", "eve@example.com"):
            await submit(ctx, sender, None, None, None, "hi", None)
        with pytest.raises(RateLimited) as exc:
            await submit(ctx, "Eve@Example.com", None, None, None, "once more", None)
        assert 0 < exc.value.retry_after <= 3600
        await submit(ctx, "frank@example.com", None, None, None, "hi", None)  # another sender
        assert sorted(r.email for r in await stored(services)) == ["eve@example.com"] * 3 + ["frank@example.com"]


async def test_a_retried_submission_is_sent_once(tmp_path):
    async with platform(tmp_path, contact_recipient=RECIPIENT) as services:
        ctx = Context(services=services)
        inputs = {"email": "gina@example.com", "message": "Call me"}
        first = await submit(ctx, "gina@example.com", None, None, None, "Call me", None, Idempotency("c-1", inputs))
        retry = await submit(ctx, "gina@example.com", None, None, None, "Call me", None, Idempotency("c-1", inputs))
        assert retry.data.row.id == first.data.row.id
        assert len(await stored(services)) == 1 and len(await outbox(services.db, RECIPIENT, 10)) == 1
        for _ in range(3):  # retries spend none of the sender's 3 per hour: two new ones still go
            await submit(ctx, "gina@example.com", None, None, None, "Call me", None, Idempotency("c-1", inputs))
        await submit(ctx, "gina@example.com", None, None, None, "Second", None)
        await submit(ctx, "gina@example.com", None, None, None, "Third", None)
        with pytest.raises(RateLimited):
            await submit(ctx, "gina@example.com", None, None, None, "Fourth", None)
        assert len(await stored(services)) == 3
        other = {"email": "gina@example.com", "message": "Changed"}
        with pytest.raises(InvalidInput):
            await submit(ctx, "gina@example.com", None, None, None, "Changed", None, Idempotency("c-1", other))
        assert len(await stored(services)) == 3
