"""The public contact form."""

from __future__ import annotations

import strawberry

from agentdeck.domain.common.limits import Limit
from agentdeck.domain.status import contact as r
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.limits import limited


@strawberry.type
class ContactSubmission:
    reference_id: str
    delivered: bool
    message_id: str | None
    suppressed: bool


@strawberry.type
class ContactOutcome:
    message: str
    data: ContactSubmission


@strawberry.input
class ContactInput:
    email: str = strawberry.field(metadata=limited(Limit(format="email")))
    message: str = strawberry.field(metadata=limited(Limit(min_length=10, max_length=2000)))
    name: str | None = strawberry.field(default=None, metadata=limited(Limit(max_length=120)))
    company: str | None = strawberry.field(default=None, metadata=limited(Limit(max_length=120)))
    topic: str | None = strawberry.field(default=None, metadata=limited(Limit(max_length=80)))
    honeypot: str | None = strawberry.field(default=None, metadata=limited(Limit(max_length=64)))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Send a message to the team; answers with a reference id.")
    async def submit_contact(self, info: strawberry.Info, input: ContactInput,
                             idempotency_key: IdempotencyKey = None) -> ContactOutcome:
        return await r.submit(  # type: ignore[return-value]
            info.context, input.email, input.name, input.company, input.topic, input.message, input.honeypot,
            keyed(idempotency_key, input=input))
