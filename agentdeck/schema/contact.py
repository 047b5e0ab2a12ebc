"""The public contact form: the native `submitContact` (`Mutation`) and the legacy field the REST
layer runs (`RestMutation`). Rules in `domain/status/contact.py`."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from agentdeck.domain.common import idempotency as ri
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Outcome
from agentdeck.domain.status import contact as r
from agentdeck.schema import graph
from agentdeck.schema.access_native import bounded, check_input, payload
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
class RestMutation:
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


# -- the native graph ------------------------------------------------------------------------


@strawberry.type(description="A message sent through the contact form, as its sender is told about it.")
class ContactReceipt:
    reference_id: uuid.UUID = strawberry.field(description="The reference to quote when writing again.")
    delivered: bool = strawberry.field(description="A mail server accepted the message for the team.")


@strawberry.input(description="A message for the team.")
class SubmitContactInput:
    email: str = strawberry.field(description="Where to answer.", metadata=bounded(Limit(format="email")))
    message: str = strawberry.field(
        description="10 to 2000 characters.", metadata=bounded(Limit(min_length=10, max_length=2000))
    )
    name: str | None = strawberry.field(
        default=None, description="The sender's name (up to 120 characters).", metadata=bounded(Limit(max_length=120))
    )
    company: str | None = strawberry.field(
        default=None, description="Their company (up to 120 characters).", metadata=bounded(Limit(max_length=120))
    )
    topic: str | None = strawberry.field(
        default=None, description="What it is about (up to 80 characters).", metadata=bounded(Limit(max_length=80))
    )
    honeypot: str | None = strawberry.field(
        default=None, description="Leave empty (a field for bots to fill).", metadata=bounded(Limit(max_length=64))
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Makes the request safe to retry: 1-255 visible ASCII characters, kept 24 hours by default, "
        "per sender. A retry with the same key and input gets the first submission's receipt and sends nothing "
        "twice; another input with the key is refused. The key of a REST submission (`Idempotency-Key`) names "
        "the same submission here.",
        metadata=limited(ri.KEY),
    )

    def guarded(self) -> ri.Idempotency:
        """The key, guarding the input as the REST body's `ContactInput` (so both faces fingerprint one
        submission alike)."""
        legacy = ContactInput(
            email=self.email,
            message=self.message,
            name=self.name,
            company=self.company,
            topic=self.topic,
            honeypot=self.honeypot,
        )
        return ri.Idempotency(self.idempotency_key, {"input": legacy}, field="input.idempotencyKey")


@strawberry.type(description="The result of submitContact.")
class SubmitContactPayload:
    receipt: ContactReceipt | None = strawberry.field(default=None, description="What was received.")
    message: str | None = strawberry.field(default=None, description="A word of thanks, to show the sender.")
    user_errors: list[graph.UserError]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Send a message to the team (rate limited per sender and address).")
    async def submit_contact(self, info: strawberry.Info, input: SubmitContactInput) -> SubmitContactPayload:
        async def submit() -> dict[str, Any]:
            check_input(input)
            outcome = await r.submit(
                info.context,
                input.email,
                input.name,
                input.company,
                input.topic,
                input.message,
                input.honeypot,
                input.guarded(),
            )
            row = outcome.data.row
            return {"receipt": ContactReceipt(reference_id=row.id, delivered=row.delivered), "message": outcome.message}

        return await payload(SubmitContactPayload, submit())
