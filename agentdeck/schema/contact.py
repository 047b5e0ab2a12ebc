"""The public contact form."""

from __future__ import annotations

import strawberry

from agentdeck.resolvers import contact as r


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
    email: str
    message: str
    name: str | None = None
    company: str | None = None
    topic: str | None = None
    honeypot: str | None = None


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Send a message to the team; answers with a reference id.")
    async def submit_contact(self, info: strawberry.Info, input: ContactInput) -> ContactOutcome:
        return await r.submit(  # type: ignore[return-value]
            info.context, input.email, input.name, input.company, input.topic, input.message, input.honeypot)
