"""GraphiQL (`/graphql` in a browser) and Swagger UI (`/docs`), served from agentdeck's own origin.

The two pages are built here from the list of assets each one loads. Our own small scripts live in
`agentdeck/static/`; the third-party browser builds are copied from pinned npm packages
(`package.json`, `package-lock.json`) into `agentdeck/static/vendor/<package>/` by `make assets`,
which `make install` runs, and ship in the wheel as package data. Nothing comes from a CDN, so both
tools work offline, and the pages' Content-Security-Policy holds the browser to that.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"

# Headers of the two tool pages. Scripts, styles, fonts and connections (fetch and the
# subscription WebSocket) come only from this origin; no inline script runs. Inline styles are
# allowed because both React UIs set style attributes.
TOOL_PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)
TOOL_PAGE_HEADERS = {"Content-Security-Policy": TOOL_PAGE_CSP}


@dataclass(frozen=True)
class ToolPage:
    title: str
    styles: tuple[str, ...]  # paths under STATIC_DIR, in load order
    scripts: tuple[str, ...]
    body: str

    @property
    def assets(self) -> tuple[str, ...]:
        return self.styles + self.scripts


REACT = ("vendor/react/umd/react.production.min.js", "vendor/react-dom/umd/react-dom.production.min.js")

GRAPHIQL = ToolPage(
    title="agentdeck GraphiQL",
    styles=("vendor/graphiql/graphiql.min.css", "vendor/@graphiql/plugin-explorer/dist/style.css", "graphiql.css"),
    scripts=(
        *REACT,
        "vendor/graphiql/graphiql.min.js",
        "vendor/@graphiql/plugin-explorer/dist/index.umd.js",
        "vendor/graphql-ws/umd/graphql-ws.min.js",
        "graphiql.js",
    ),
    body='<div id="graphiql">Loading GraphiQL…</div>',
)

SWAGGER_UI = ToolPage(
    title="agentdeck REST API",
    styles=("vendor/swagger-ui-dist/swagger-ui.css",),
    scripts=("vendor/swagger-ui-dist/swagger-ui-bundle.js", "docs.js"),
    body='<div id="swagger-ui"></div>',
)


def _render(page: ToolPage) -> str:
    styles = "".join(f'\n<link rel="stylesheet" href="{STATIC_PREFIX}/{s}">' for s in page.styles)
    scripts = "".join(f'\n<script src="{STATIC_PREFIX}/{s}"></script>' for s in page.scripts)
    # The empty icon spares the browser a request for /favicon.ico.
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{html.escape(page.title)}</title>\n<link rel="icon" href="data:,">{styles}\n'
        f"</head><body>\n{page.body}{scripts}\n</body></html>\n"
    )


def _not_built(page: ToolPage, missing: list[str]) -> str:
    items = "".join(f"<li><code>agentdeck/static/{html.escape(m)}</code></li>" for m in missing)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(page.title)}: assets not installed</title></head><body>\n"
        f"<h1>{html.escape(page.title)} cannot load</h1>\n"
        "<p>Its browser assets are not installed. In a checkout, run <code>make install</code> "
        "(it needs <code>npm</code>); a packager runs <code>make assets</code> before building "
        f"the wheel. Missing:</p>\n<ul>{items}</ul>\n</body></html>\n"
    )


def page_response(page: ToolPage) -> HTMLResponse:
    """The page, or a 503 naming the assets to build: a blank page would say nothing."""
    missing = [a for a in page.assets if not (STATIC_DIR / a).is_file()]
    if missing:
        return HTMLResponse(_not_built(page, missing), 503, headers=TOOL_PAGE_HEADERS)
    return HTMLResponse(_render(page), headers=TOOL_PAGE_HEADERS)


def static_mount() -> Mount:
    """The tool pages' scripts and styles (ours and the vendored builds) under STATIC_PREFIX."""
    return Mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
