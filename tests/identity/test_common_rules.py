"""Rules every context shares, in-process (tests/inprocess.py): domain/common/idempotency.py,
pagination.py and limits.py.

- an idempotency key is the caller's, per tenant and operation: a retry with the same inputs
  gets what the first request created (or its stored answer), other inputs are refused naming
  the key, a first request that created nothing frees its key, and an expired key is a new key
  (and is purged);
- cursors round-trip, and a cursor that is not ours, or lacks a key, is a 400;
- limits: blanks do not count towards a minimum length, a boolean is not a number, idempotency
  keys are 1-255 visible ASCII characters, and `check` reports every problem.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from agentdeck.context import Context
from agentdeck.db.models import IdempotencyKey
from agentdeck.domain.common import idempotency
from agentdeck.domain.common.idempotency import KEY, Idempotency, claim
from agentdeck.domain.common.limits import Limit, check
from agentdeck.domain.common.pagination import decode_cursor, encode_cursor
from agentdeck.errors import BadRequest, InvalidInput
from tests.inprocess import platform, tenant_member


async def test_an_idempotency_key_replays_the_first_result_for_its_caller_until_it_expires(tmp_path):
    async with platform(tmp_path, idempotency_ttl_hours=1) as services:
        a, b = (
            await tenant_member(services, tenant_name="Tenant A"),
            await tenant_member(services, tenant_name="Tenant B"),
        )
        first = Idempotency("order-1", {"qty": 2})

        async with claim(a, "create_thing", first) as held:
            assert held.first
            async with services.db.platform_session() as s:
                await held.attach(s, {"thing_id": "t-1"})
                await s.commit()
            await held.remember(a, {"answer": 42})
        async with claim(a, "create_thing", Idempotency("order-1", {"qty": 2})) as retry:
            assert (retry.first, retry.resource) == (False, {"thing_id": "t-1"})
            assert retry.replay(dict) == {"answer": 42}

        with pytest.raises(InvalidInput) as reused:
            async with claim(a, "create_thing", Idempotency("order-1", {"qty": 3})):
                pass
        assert reused.value.details[0]["field"] == "idempotencyKey"
        assert reused.value.details[0]["type"] == "idempotency_key_reused"

        # The same user in another tenant, another user in the same tenant, another operation.
        b_in_a = Context(services, principal=replace(b.principal, tenant_id=a.principal.tenant_id))
        same_user_in_b = Context(services, principal=replace(a.principal, tenant_id=b.principal.tenant_id))
        for ctx, operation in ((same_user_in_b, "create_thing"), (b_in_a, "create_thing"), (a, "delete_thing")):
            async with claim(ctx, operation, first) as elsewhere:
                assert elsewhere.first

        # A first request refused before creating anything frees its key for a corrected retry.
        with pytest.raises(InvalidInput):
            async with claim(a, "create_thing", Idempotency("order-2", {"qty": -1})):
                raise InvalidInput("qty must be positive")
        async with claim(a, "create_thing", Idempotency("order-2", {"qty": 1})) as corrected:
            assert corrected.first

        # After the TTL a key is a new key, and the purge deletes expired keys.
        for key in ("old", "older"):
            async with claim(a, "create_thing", Idempotency(key, {"v": 1})) as held:
                async with services.db.platform_session() as s:
                    await held.attach(s, {"thing_id": key})
                    await s.commit()
        async with services.db.platform_session() as s:
            await s.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key.in_(("old", "older")))
                .values(created_at=datetime.now(UTC) - timedelta(hours=1, minutes=1))
            )
            await s.commit()

        async with claim(a, "create_thing", Idempotency("old", {"v": 2})) as again:
            assert again.first  # other inputs, yet no refusal: the old key has expired
        assert await idempotency.purge_expired(services.db, 1) == 1  # "older"; "old" was replaced
        async with services.db.platform_session() as s:
            assert (await s.scalars(select(IdempotencyKey.key))).all() == ["order-1"]  # only what created


def test_cursors_and_limits_refuse_what_is_not_theirs_and_report_every_problem():
    cursor = encode_cursor({"created_at": "2024-05-01T10:00:00+00:00", "id": "abc"})
    assert "=" not in cursor
    assert decode_cursor(cursor, ("created_at", "id")) == {"created_at": "2024-05-01T10:00:00+00:00", "id": "abc"}
    assert decode_cursor(None, ("id",)) is None and decode_cursor("", ("id",)) is None
    for foreign in ("not base64 at all!", encode_cursor({"id": "abc"}), "WzEsMl0"):  # "WzEsMl0" is [1,2]
        with pytest.raises(BadRequest, match="Invalid pagination cursor"):
            decode_cursor(foreign, ("created_at", "id"))

    name = Limit(min_length=1, max_length=5)
    assert [p["type"] for p in name.problems("   ", "name")] == ["string_too_short"]
    assert [p["type"] for p in name.problems(" abcd ", "name")] == ["string_too_long"]  # blanks count here
    assert Limit(le=5).problems(True, "n") == []  # a boolean is not a number
    assert Limit(ge=1, le=100).problems(101, "first")[0]["message"] == "Input should be less than or equal to 100"
    assert KEY.problems("k" * 255, "key") == [] and KEY.problems("!~", "key") == []
    for bad in ("", "has space", "caf\u00e9", "k" * 256):
        assert KEY.problems(bad, "key"), bad

    problems = name.problems("", "a") + Limit(format="email").problems("x@y", "b")
    with pytest.raises(InvalidInput) as refused:
        check(problems)
    assert refused.value.message == "String should have at least 1 character"
    assert [p["field"] for p in refused.value.details] == ["a", "b"]
