"""Pages a person opens from a mail: `GET /verify-email?token=…` answers a small HTML page.

The page only renders. Verifying runs the GraphQL mutation `verifyEmail` in-process, exactly as
`POST /api/v1/auth/email/verify` does, so the rule stays in `domain/identity/account.verify_email`.
The operation is parsed and validated once, when the app is built.

The link is followed with GET because mail clients open links that way. It is safe: nothing
happens without the secret, single-use token the mail carried, and a second visit changes
nothing. HEAD (link checkers) gets the page shell without spending the token.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from html import escape
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import ExecutionResult, GraphQLError, execute, parse, validate
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from agentdeck.errors import DomainError, http_status
from agentdeck.metrics import observe_operation
from agentdeck.schema.error_reporting import log_graphql_error
from agentdeck.schema.input_safety import text_problem

VERIFY_PATH = "/verify-email"
OPERATION = "Page_GET_verify_email"
VERIFY_DOCUMENT = f"mutation {OPERATION}($token: String!) {{ verifyEmail(input: {{token: $token}}) {{ message }} }}"
MAX_TOKEN_CHARS = 512  # mailed tokens are 43; anything much longer is not one of ours
# The page is self-contained: no script, no external asset, and the URL (which holds the token)
# is never sent on as a Referer.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
}
ContextFactory = Callable[[Request], Awaitable[Any]]

_STYLE = """body{font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
main{max-width:34rem;margin:12vh auto;padding:2rem 2.25rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin:0 0 .75rem}.ok h1{color:#17803d}.bad h1{color:#b42318}
code{background:#eef0f3;padding:.1em .35em;border-radius:4px;font-size:.9em}
small{color:#5b6472}a{color:#1f5fbf}"""


def render(status: int, title: str, body: str, tone: str) -> HTMLResponse:
    """A complete page; `title` is plain text, `body` is trusted HTML built in this module."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)} · agentdeck</title>'
        f"<style>{_STYLE}</style></head>"
        f'<body><main class="{tone}"><h1>{escape(title)}</h1>{body}</main></body></html>'
    )
    return HTMLResponse(html, status, headers=HEADERS)


def verified_page(public_url: str) -> HTMLResponse:
    base = escape(public_url.rstrip("/"))
    return render(
        200,
        "Email verified",
        (
            "<p>Your address is verified. You can close this page.</p>"
            "<p>An access token issued <em>before</em> now still says <code>email_verified: false</code> "
            "and is refused on tenant operations: sign in again, or refresh it with "
            "<code>POST /api/v1/auth/refresh</code> (GraphQL: <code>refreshSession</code>).</p>"
            f'<p><small>Explore the API: <a href="{base}/graphql">GraphiQL</a> · '
            f'<a href="{base}/docs">REST (Swagger UI)</a></small></p>'
        ),
        "ok",
    )


def refused_page(status: int, reason: str) -> HTMLResponse:
    return render(
        status,
        "This verification link cannot be used",
        (
            f"<p>{escape(reason)}</p>"
            "<p>Links work once and expire after 24 hours. If you already followed this one, your "
            "address is verified: just sign in. Otherwise ask for a new link with "
            "<code>POST /api/v1/auth/email/send</code> and your access token "
            "(GraphQL: <code>sendEmailVerification</code>).</p>"
        ),
        "bad",
    )


def head_page() -> HTMLResponse:
    return render(200, "Verify your email address", "<p>Open this link in a browser to verify.</p>", "ok")


class VerifyEmailPage:
    def __init__(self, schema: strawberry.Schema, context_factory: ContextFactory, public_url: str) -> None:
        self.gql = schema._schema
        self.executor = schema.execution_context_class
        self.context_factory = context_factory
        self.public_url = public_url
        self.document = parse(VERIFY_DOCUMENT)
        problems = validate(self.gql, self.document)
        if problems:  # the schema changed under the page: fail at start-up, not on a click
            raise ValueError(f"{VERIFY_PATH}: {problems[0].message}")

    async def handle(self, request: Request) -> HTMLResponse:
        if request.method == "HEAD":
            return head_page()
        token = request.query_params.get("token", "")
        if not token:
            return refused_page(400, "The link has no token: copy the whole link from the mail.")
        if len(token) > MAX_TOKEN_CHARS or text_problem(token):
            return refused_page(400, "This is not a verification link.")
        start, ok = time.perf_counter(), False
        try:
            result = await self.verify(request, token)
            if not result.errors:
                ok = True
                return verified_page(self.public_url)
            return self.refusal(result.errors[0])
        finally:
            observe_operation(OPERATION, "mutation", "page", ok, time.perf_counter() - start)

    async def verify(self, request: Request, token: str) -> ExecutionResult:
        result = execute(
            self.gql,
            self.document,
            context_value=await self.context_factory(request),
            variable_values={"token": token},
            operation_name=OPERATION,
            executor_class=self.executor,
        )
        return await result if isawaitable(result) else result

    def refusal(self, error: GraphQLError) -> HTMLResponse:
        log_graphql_error(OPERATION, error)
        original = error.original_error
        if isinstance(original, DomainError):
            # The status the REST route would answer for the same refusal.
            return refused_page(http_status(original.code)[0], original.message)
        return render(500, "Something went wrong", "<p>Please try the link again in a minute.</p>", "bad")


def page_routes(schema: strawberry.Schema, context_factory: ContextFactory, public_url: str) -> list[Route]:
    page = VerifyEmailPage(schema, context_factory, public_url)
    return [Route(VERIFY_PATH, page.handle, methods=["GET"])]
