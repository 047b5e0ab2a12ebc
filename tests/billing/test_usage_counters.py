"""`GET /api/v1/usage` and the native `usageCounters` against a real server: the day's counter
adds up the tenant's turns; another tenant sees its own; anonymous callers are refused."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.harness import assert_documented
from tests.users import register

USAGE = "/api/v1/usage"


def test_the_days_counter_adds_up_the_tenants_turns_on_both_faces(server):
    owner = register(server, verified=True)
    stranger = register(server, verified=True, tenant_name="Elsewhere")
    r = server.rest("GET", USAGE, token=owner.access_token)
    assert r.status_code == 200 and r.json() == []
    assert_documented("GET", USAGE, r, extended=True)

    usage = []
    for message in ("first counted turn", "second counted turn"):
        answer = server.rest("POST", "/api/v1/chat", token=owner.access_token, json={"message": message}, timeout=30)
        usage.append(answer.json()["metadata"]["usage"])
    r = server.rest("GET", USAGE, token=owner.access_token)
    assert r.status_code == 200, r.text
    assert_documented("GET", USAGE, r, extended=True)
    [day] = r.json()
    assert day["tenant_id"] == owner.tenant_id and day["user_id"] is None and day["granularity"] == "day"
    assert day["period_start"] == datetime.now(UTC).date().isoformat()
    assert day["input_tokens"] == sum(u["input_tokens"] for u in usage) > 0
    assert day["output_tokens"] == sum(u["output_tokens"] for u in usage)
    assert day["requests"] == 2

    viewer = server.rest("GET", USAGE, token=owner.access_token, headers={"X-Tenant-Role": "viewer"})
    assert viewer.status_code == 200 and viewer.json() == [day]
    assert server.rest("GET", USAGE, token=stranger.access_token).json() == []
    anonymous = server.rest("GET", USAGE)
    assert anonymous.status_code == 401
    assert_documented("GET", USAGE, anonymous, extended=True)

    q = "{ usageCounters(first: 5) { totalCount nodes { day inputTokens outputTokens requests storageBytes } } }"
    native = server.gql(q, token=owner.access_token)["data"]["usageCounters"]
    assert native["totalCount"] == 1
    assert native["nodes"] == [
        {
            "day": day["period_start"],
            "inputTokens": day["input_tokens"],
            "outputTokens": day["output_tokens"],
            "requests": 2,
            "storageBytes": day["storage_bytes"],
        }
    ]
