"""Rules every context shares, in-process (tests/inprocess.py): domain/common/idempotency.py,
pagination.py and limits.py.

- an idempotency key is the caller's, per tenant and operation: a retry with the same inputs
  gets what the first request created (or its stored answer), other inputs are refused naming
  the key, a first request that created nothing frees its key, and an expired key is a new key
  (and is purged);
- cursors round-trip, and a cursor that is not ours, lacks a key or holds a value of the wrong
  type or range is a 400; counts sent as text are ASCII digits up to 2**31 - 1;
- limits: blanks do not count towards a minimum length, a boolean is not a number, idempotency
  keys are 1-255 visible ASCII characters, and `check` reports every problem.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from agentdeck.context import Context
from agentdeck.db.models import IdempotencyKey
from agentdeck.domain.common import idempotency
from agentdeck.domain.common.idempotency import KEY, Idempotency, claim
from agentdeck.domain.common.limits import Limit, check
from agentdeck.domain.common.pagination import (
    MAX_COUNT,
    decode_cursor,
    encode_cursor,
    identifier,
    key,
    offset,
    parse_count,
    timestamp,
)
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
    row = uuid.uuid4()
    fields = {"created_at": timestamp, "id": identifier}
    cursor = encode_cursor({"created_at": "2024-05-01T10:00:00+02:00", "id": str(row)})
    assert "=" not in cursor
    assert decode_cursor(cursor, fields) == {"created_at": datetime(2024, 5, 1, 8, tzinfo=UTC), "id": row}
    naive = encode_cursor({"created_at": "2024-05-01T10:00:00", "id": str(row)})  # a moment without a zone is UTC
    assert decode_cursor(naive, fields)["created_at"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert decode_cursor(None, {"id": identifier}) is None and decode_cursor("", {"id": identifier}) is None
    assert decode_cursor(encode_cursor({"o": MAX_COUNT, "k": "a"}), {"o": offset, "k": key}) == {
        "o": MAX_COUNT,
        "k": "a",
    }
    forged = [
        "not base64 at all!",
        "WzEsMl0",  # [1,2]
        encode_cursor({"id": str(row)}),
        *(encode_cursor({"created_at": t, "id": str(row)}) for t in (5, None, "garbage", "0001-01-01T00:00+01:00")),
        *(encode_cursor({"created_at": "2024-05-01T10:00:00", "id": i}) for i in (5, None, "abc", [str(row)])),
    ]
    for cursor in forged:
        with pytest.raises(BadRequest, match="Invalid pagination cursor"):
            decode_cursor(cursor, fields)
    for value in (-1, MAX_COUNT + 1, 2**63, 1e20, 1.0, True, "1", None, [1]):
        with pytest.raises(BadRequest, match="Invalid pagination cursor"):
            decode_cursor(encode_cursor({"o": value}), {"o": offset})
    for value in ({"a": 1}, [1], None, 5):
        with pytest.raises(BadRequest, match="Invalid pagination cursor"):
            decode_cursor(encode_cursor({"k": value}), {"k": key})
    assert parse_count("0") == 0 and parse_count(str(MAX_COUNT)) == MAX_COUNT
    for text in ("", "-1", "+1", " 1", "1_0", "\u00b2", "\u0661", str(MAX_COUNT + 1), "9" * 5000):
        with pytest.raises(ValueError):
            parse_count(text)

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
