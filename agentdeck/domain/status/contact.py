"""The public contact form: validated, stored, mailed to `AGENTDECK_CONTACT_RECIPIENT`.

A filled honeypot field is answered like a success (`suppressed: true`) and nothing is kept, so
a bot learns nothing. Rate limits (NOTES §10): 3 per hour per email, 20 per hour per IP. A
submission takes an idempotency key (`domain/common/idempotency.py`; an anonymous sender's keys are
scoped to its address): a retry gets the first submission's reference, and nothing is sent twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from agentdeck.context import Context
from agentdeck.db.models.status import ContactSubmission
from agentdeck.domain.common import idempotency
from agentdeck.domain.common.access import client_info
from agentdeck.domain.common.results import Outcome
from agentdeck.errors import RateLimited
from agentdeck.providers.mail import Mail

HOUR = 3600
LIMITS = (("contact:email", 3), ("contact:ip", 20))
ACCEPTED = "Thanks for reaching out. We will get back to you shortly."


@dataclass(frozen=True)
class Submission:
    """A submission as its sender is told about it. `suppressed`: a bot's, answered like any
    other but with a row that was never stored (its reference names nothing)."""

    row: ContactSubmission
    suppressed: bool = False


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split()) or "-"


async def submit(
    ctx: Context,
    email: str,
    name: str | None,
    company: str | None,
    topic: str | None,
    message: str,
    honeypot: str | None,
    idem: idempotency.Idempotency = idempotency.NO_KEY,
) -> Outcome[Submission]:
    # Field bounds (lengths, email syntax) are declared on `ContactInput` and checked before this.
    email = email.strip().lower()
    if honeypot:
        return Outcome(
            ACCEPTED, Submission(ContactSubmission(id=uuid.uuid4(), delivered=False, message_id=None), suppressed=True)
        )
    ip = client_info(ctx)[1]
    async with idempotency.claim(ctx, "submit_contact", idem, tenant=False) as claim:
        if claim.resource is not None:
            return await _previous(ctx, uuid.UUID(claim.resource["reference_id"]))
        # After the replay: a retry of a stored submission spends none of the sender's quota.
        for (prefix, limit), key in zip(LIMITS, (email, ip), strict=True):
            decision = await ctx.services.limiter.hit(f"{prefix}:{key}", limit, HOUR)
            if not decision.allowed:
                raise RateLimited(
                    f"Rate limit exceeded ({limit} per hour). Retry after {decision.retry_after}s.",
                    retry_after=decision.retry_after,
                )
        row = ContactSubmission(
            id=uuid.uuid4(), email=email, name=name, company=company, topic=topic, message=message, ip_address=ip
        )
        async with ctx.platform_session() as s:
            s.add(row)
            await claim.attach(s, {"reference_id": str(row.id)})
            await s.commit()
    reference = str(row.id)
    # Header values are single-line (the mail library refuses CR/LF anyway); the body is as sent.
    message_id = await ctx.services.mailer.send(
        Mail(
            to=ctx.settings.contact_recipient,
            subject=f"[contact {reference[:8]}] {_one_line(topic)}"[:200],
            kind="contact",
            text=f"Reference: {reference}\nFrom: {_one_line(name)} <{email}>\nCompany: {_one_line(company)}\n"
            f"Topic: {_one_line(topic)}\n\n{message}\n",
        )
    )
    # The outbox mailer only logs: "delivered" means an SMTP server accepted it.
    delivered = bool(ctx.settings.smtp_url)
    async with ctx.platform_session() as s:
        stored = await s.get(ContactSubmission, row.id)
        if stored is not None:
            stored.delivered, stored.message_id = delivered, message_id
            await s.commit()
    row.delivered, row.message_id = delivered, message_id
    return Outcome(ACCEPTED, Submission(row))


async def _previous(ctx: Context, reference: uuid.UUID) -> Outcome[Submission]:
    """The answer to a retry, from the first request's submission (delivery as known now)."""
    async with ctx.platform_session() as s:
        row = await s.get(ContactSubmission, reference)
    return Outcome(ACCEPTED, Submission(row or ContactSubmission(id=reference, delivered=False, message_id=None)))
