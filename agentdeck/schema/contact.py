"""The public contact form."""

from __future__ import annotations

import strawberry

from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Outcome
from agentdeck.domain.status import contact as r
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.limits import limited


@strawberry.type
class ContactSubmission:
    reference_id: str
    delivered: bool
    message_id: str | None
    suppressed: bool

    @classmethod
    def from_submission(cls, submission: r.Submission) -> ContactSubmission:
        row = submission.row
        return cls(
            reference_id=str(row.id),
            delivered=row.delivered,
            message_id=row.message_id,
            suppressed=submission.suppressed,
        )


@strawberry.type
class ContactOutcome:
    message: str
    data: ContactSubmission

    @classmethod
    def from_outcome(cls, outcome: Outcome[r.Submission]) -> ContactOutcome:
        return cls(message=outcome.message, data=ContactSubmission.from_submission(outcome.data))


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
    async def submit_contact(
        self, info: strawberry.Info, input: ContactInput, idempotency_key: IdempotencyKey = None
    ) -> ContactOutcome:
        return ContactOutcome.from_outcome(
            await r.submit(
                info.context,
                input.email,
                input.name,
                input.company,
                input.topic,
                input.message,
                input.honeypot,
                keyed(idempotency_key, input=input),
            )
        )
