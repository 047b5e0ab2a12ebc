"""Sign-in and GET /auth/me: the REST layer vs the same operation over /graphql.

Sign-in is dominated by argon2 by design (a deliberately slow hash), so its ratio shows how
little the transport adds; `me` shows the per-request cost of authentication (token
verification + the cached session check) and the transport.
"""

from __future__ import annotations

import os
import tempfile

import orjson

from bench.asgi import NO_COST_BUDGET, call, per_request_us, report

PASSWORD = "Correct-Horse-42-battery"
JSON = {"content-type": "application/json"}


async def run(n: int = 1000, logins: int = 20) -> None:
    tmp = tempfile.mkdtemp(prefix="agentdeck-bench-")
    os.environ.update({"AGENTDECK_VAR_DIR": tmp, "AGENTDECK_AUTO_MIGRATE": "true", **NO_COST_BUDGET})
    from agentdeck.app import create_app

    app = create_app()
    async with app.router.lifespan_context(app):
        body = {"email": "bench@example.com", "password": PASSWORD, "tenant_name": "Bench", "accept_terms": True}
        status, raw = await call(app, "POST", "/api/v1/auth/register", orjson.dumps(body), JSON)
        assert status == 201, raw
        token = orjson.loads(raw)["access_token"]
        auth = {"authorization": f"Bearer {token}", **JSON}

        login_body = orjson.dumps({"email": "bench@example.com", "password": PASSWORD})
        login_gql = orjson.dumps(
            {
                "query": "mutation($i: LoginInput!) { login(input: $i) { tokens { accessToken refreshToken "
                "expiresAt refreshExpiresAt scopes tokenType } session { id } user { id } } }",
                "variables": {"i": {"email": "bench@example.com", "password": PASSWORD}},
            }
        )
        me_gql = orjson.dumps({"query": "{ me { id email role emailVerified scopes tenant { name slug } } }"})
        for s, r in [
            await call(app, "POST", "/api/v1/auth/token", login_body, JSON),
            await call(app, "POST", "/graphql", login_gql, JSON),
            await call(app, "GET", "/api/v1/auth/me", headers=auth),
            await call(app, "POST", "/graphql", me_gql, auth),
        ]:
            assert s == 200 and b'"errors"' not in r, r

        rows = [
            (
                "REST POST /api/v1/auth/token",
                await per_request_us(lambda: call(app, "POST", "/api/v1/auth/token", login_body, JSON), logins),
            ),
            (
                "GraphQL mutation login",
                await per_request_us(lambda: call(app, "POST", "/graphql", login_gql, JSON), logins),
            ),
        ]
        report("Sign-in (argon2id verify included)", rows, "REST POST /api/v1/auth/token")
        rows = [
            (
                "REST GET /api/v1/auth/me",
                await per_request_us(lambda: call(app, "GET", "/api/v1/auth/me", headers=auth), n),
            ),
            ("GraphQL { me {...} }", await per_request_us(lambda: call(app, "POST", "/graphql", me_gql, auth), n)),
        ]
        report("Current user (token verified, session checked)", rows, "REST GET /api/v1/auth/me")
