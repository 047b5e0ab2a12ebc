"""Generated artefacts are committed; these fail when they are stale."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

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


def test_every_operation_of_the_extended_contract_is_served():
    """All 117: the documented 88 and the extended inventory's 29, each a row of the route table."""
    ours = json.loads((ROOT / "openapi.json").read_text())["paths"]
    served = {(method.upper(), path) for path, item in ours.items() for method in item}
    assert sorted(documented_operations(extended=True) - served) == []


def test_every_served_legacy_path_is_documented():
    """Rows marked documented must exist in the legacy contract, its extended inventory included
    (catches typos in paths)."""
    documented = documented_operations(extended=True)
    ours = json.loads((ROOT / "openapi.json").read_text())["paths"]
    for path, item in ours.items():
        for method, op in item.items():
            if "agentdeck extension" not in op["description"]:
                assert (method.upper(), path) in documented, f"{method.upper()} {path}"


def test_served_openapi_is_the_committed_one(server):
    served = server.rest("GET", "/openapi.json").json()
    assert served == json.loads((ROOT / "openapi.json").read_text())
    assert "swagger-ui" in server.rest("GET", "/docs").text


def test_the_typed_client_is_current(tmp_path):
    """tests/graphql_client is what ariadne-codegen makes of schema.graphql and tests/operations."""
    generator = ROOT / ".venv" / "codegen" / "bin" / "ariadne-codegen"
    assert generator.exists(), "`make install` installs the generator (.venv/codegen)"
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ariadne-codegen"]
    settings = {**settings, "target_package_path": str(tmp_path)}
    for key in ("schema_path", "queries_path"):
        settings[key] = str(ROOT / settings[key])
    config = tmp_path / "codegen.toml"
    config.write_text("[tool.ariadne-codegen]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    subprocess.run([generator, "--config", config, "client"], check=True, capture_output=True, cwd=tmp_path)

    def files(root: Path) -> dict[str, str]:
        return {p.name: p.read_text() for p in sorted(root.glob("*.py"))}

    package = settings["target_package_name"]
    assert files(ROOT / "tests" / package) == files(tmp_path / package), "run `make client`"
