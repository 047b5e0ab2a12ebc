"""The committed contract fixtures are whole, prose-free and in canonical form.

They are read from `tests/contract/` only: the legacy documents they came from are not part of
the repository (see `derive.py`)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.contract.derive import derive, render
from tests.harness import CONTRACT_DIR, contract_document, contract_operations

EXPECTED_OPERATIONS = {"documented": 88, "extended": 117}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _pointer(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref}: only local references are expected"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


@pytest.mark.parametrize("name", EXPECTED_OPERATIONS)
def test_every_ref_resolves(name):
    doc = contract_document(name)
    refs = set(_refs(doc))
    assert refs, "a fixture without a single $ref is not the contract"
    for ref in sorted(refs):
        _pointer(doc, ref)


@pytest.mark.parametrize("name", EXPECTED_OPERATIONS)
def test_fixture_holds_exactly_the_target_operations(name):
    assert len(contract_operations(name)) == EXPECTED_OPERATIONS[name]


def test_extended_is_documented_plus_29():
    documented, extended = contract_operations("documented"), contract_operations("extended")
    assert documented <= extended
    assert len(extended - documented) == 29


@pytest.mark.parametrize("name", EXPECTED_OPERATIONS)
def test_fixture_is_canonical_and_prose_free(name):
    """Written by derive.py and not edited since: re-deriving it changes nothing, and re-rendering
    it gives the committed bytes."""
    doc = contract_document(name)
    source = {k: v for k, v in doc.items() if k != "derived_from"}
    assert derive(source) == source
    committed = (CONTRACT_DIR / f"{name}.json").read_text()
    assert committed == render(doc)


@pytest.mark.parametrize("name", EXPECTED_OPERATIONS)
def test_every_schema_is_valid_json_schema(name):
    doc = contract_document(name)
    for schema_name, schema in doc["components"]["schemas"].items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:  # the name is what a reader needs
            raise AssertionError(f"{schema_name}: {exc}") from exc


def test_derive_keeps_properties_named_like_prose_and_drops_the_prose():
    source = {
        "openapi": "3.1.0",
        "info": {"title": "legacy", "version": "1"},
        "paths": {
            "/x/{id}": {
                "summary": "path prose",
                "get": {
                    "summary": "Get x",
                    "description": "Long text",
                    "operationId": "get_x",
                    "tags": ["x"],
                    "x-contract-source": "somewhere.py",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "description": "The id",
                            "schema": {"type": "string", "title": "Id"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/X"},
                                    "example": {"title": "t"},
                                }
                            },
                        },
                        "204": {"description": "Nothing"},
                    },
                },
            }
        },
        "components": {
            "schemas": {
                "X": {
                    "title": "X",
                    "description": "An x",
                    "type": "object",
                    "examples": [{"title": "a"}],
                    "required": ["title", "description"],
                    "properties": {
                        "title": {"type": "string", "title": "Title", "maxLength": 5},
                        "description": {"anyOf": [{"type": "string", "description": "d"}, {"type": "null"}]},
                    },
                }
            },
            "securitySchemes": {"HTTPBearer": {"type": "http"}},
        },
    }
    assert derive(source) == {
        "openapi": "3.1.0",
        "paths": {
            "/x/{id}": {
                "get": {
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}},
                        "204": {},
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "X": {
                    "type": "object",
                    "required": ["title", "description"],
                    "properties": {
                        "title": {"type": "string", "maxLength": 5},
                        "description": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                }
            }
        },
    }


def test_derive_refuses_a_schema_keyword_it_does_not_know():
    from tests.contract.derive import UnknownConstruct

    source = {
        "openapi": "3.1.0",
        "paths": {},
        "components": {
            "schemas": {"X": {"type": "object", "x-unknown-but-prose": 1, "someNewKeyword": {"type": "string"}}}
        },
    }
    with pytest.raises(UnknownConstruct, match="someNewKeyword"):
        derive(source)
