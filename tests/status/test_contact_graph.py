"""The native `submitContact`, in-process (tests/inprocess.py): a receipt in the payload, input
bounds as user errors at their paths, a bot's honeypot answered like a success, rate limits as
top-level errors, and an idempotency key answering a retry with the first receipt."""

from __future__ import annotations

from typing import Any

from agentdeck.context import Context
from agentdeck.schema import build_schema
from tests.inprocess import client, platform

SCHEMA = build_schema()
SUBMIT = """mutation($i: SubmitContactInput!) {
  submitContact(input: $i) { message receipt { referenceId delivered } userErrors { field code } }
}"""


async def gql(ctx: Context, query: str, **variables: Any) -> dict[str, Any]:
    result = await SCHEMA.execute(query, variable_values=variables, context_value=ctx)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [{"path": e.path, "message": e.message, **(e.extensions or {})} for e in result.errors]
    return out


async def test_submit_contact(tmp_path):
    async with platform(tmp_path) as services:
        sender = client(services, "198.51.100.7")
        body = {"email": "Ada@Example.com", "message": "Do you offer volume discounts?", "topic": "Pricing"}
        sent = (await gql(sender, SUBMIT, i={**body, "idempotencyKey": "retry-1"}))["data"]["submitContact"]
        assert sent["userErrors"] == [] and sent["message"].startswith("Thanks")
        assert sent["receipt"]["delivered"] is False  # no SMTP server configured: only the outbox
        again = (await gql(sender, SUBMIT, i={**body, "idempotencyKey": "retry-1"}))["data"]["submitContact"]
        assert again["receipt"] == sent["receipt"]  # the retry is the first submission
        other = await gql(
            sender, SUBMIT, i={**body, "message": "Another message, same key", "idempotencyKey": "retry-1"}
        )
        assert other["data"]["submitContact"]["receipt"] is None
        assert [e["field"] for e in other["data"]["submitContact"]["userErrors"]] == [["input", "idempotencyKey"]]

        bot = (await gql(sender, SUBMIT, i={**body, "honeypot": "http://spam"}))["data"]["submitContact"]
        assert bot["userErrors"] == [] and bot["receipt"]["referenceId"] != sent["receipt"]["referenceId"]

        bad = (await gql(sender, SUBMIT, i={"email": "nope", "message": "x" * 2001, "topic": "t" * 81}))["data"]
        assert bad["submitContact"]["receipt"] is None
        assert [(e["field"], e["code"]) for e in bad["submitContact"]["userErrors"]] == [
            (["input", "email"], "INVALID"),
            (["input", "message"], "INVALID"),
            (["input", "topic"], "INVALID"),
        ]

        for _ in range(2):  # 3 an hour per address: the first one counted
            assert (await gql(sender, SUBMIT, i=body))["data"]["submitContact"]["receipt"]
        limited = await gql(sender, SUBMIT, i=body)
        assert limited["data"] is None and limited["errors"][0]["code"] == "RATE_LIMITED"
