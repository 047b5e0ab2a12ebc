"""Generated artefacts are committed; these fail when they are stale."""

from __future__ import annotations

import json

from agentdeck.rest_compat.openapi import openapi_document
from agentdeck.schema import build_schema
from tests.harness import ROOT, documented_operations

# The served openapi.json does not depend on the database: SQLite shows it (tests/conftest.py).
ONE_BACKEND = True


def test_schema_graphql_is_current():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == build_schema().as_str() + "\n", "run `agentdeck export-schema`"


def test_openapi_json_is_current():
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(openapi_document())), "run `agentdeck export-openapi`"


def test_every_served_legacy_path_is_documented():
    """Rows marked documented must exist in the legacy contract (catches typos in paths)."""
    documented = documented_operations()
    ours = json.loads((ROOT / "openapi.json").read_text())["paths"]
    for path, item in ours.items():
        for method, op in item.items():
            if "agentdeck extension" not in op["description"]:
                assert (method.upper(), path) in documented, f"{method.upper()} {path}"


def test_served_openapi_is_the_committed_one(server):
    served = server.rest("GET", "/openapi.json").json()
    assert served == json.loads((ROOT / "openapi.json").read_text())
    assert "swagger-ui" in server.rest("GET", "/docs").text
