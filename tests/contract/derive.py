"""Derive the test fixtures from the legacy OpenAPI documents.

    python -m tests.contract.derive /path/to/shared/contract

The legacy documents are reference data outside the repository; the tests must run on a clone
alone. This script keeps the structural facts the tests check — paths, methods, parameters,
request and response schemas per status and content type, and `components.schemas` — and drops
the prose (descriptions, titles, summaries, examples, vendor extensions). It writes
`documented.json` and `extended.json` beside itself, in one canonical form (sorted keys, fixed
indent), so a re-run on unchanged input changes nothing. Commit the output.

Schemas are walked by keyword, not blindly: `properties` maps *names* to schemas, and a property
may well be called `description` or `title`. A keyword this script does not know is an error, so
a new construct in the source cannot slip prose (or an unwalked subschema) into the fixture.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGETS = {"documented": "documented.openapi.json", "extended": "extended.openapi.json"}

PROSE = {"description", "title", "summary", "example", "examples", "externalDocs", "$comment"}
# JSON Schema keywords whose value is a schema, a list of schemas, or a map of name -> schema.
SUBSCHEMA = {
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
}
SUBSCHEMA_LIST = {"allOf", "anyOf", "oneOf", "prefixItems"}
SUBSCHEMA_MAP = {"properties", "patternProperties", "$defs", "dependentSchemas"}
# Keywords whose value is data (kept verbatim): types, bounds, enums, defaults, references.
VALUE = {
    "$ref",
    "type",
    "format",
    "enum",
    "const",
    "default",
    "required",
    "nullable",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "dependentRequired",
    "contentEncoding",
    "contentMediaType",
    "readOnly",
    "writeOnly",
    "deprecated",
    "discriminator",
}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class UnknownConstruct(ValueError):
    """The source uses something this script does not know how to keep or drop."""


def is_prose(key: str) -> bool:
    return key in PROSE or key.startswith("x-")


def strip_schema(schema: Any, where: str) -> Any:
    """A JSON Schema without its prose; subschemas are stripped too."""
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        raise UnknownConstruct(f"{where}: a schema must be an object or a boolean")
    out: dict[str, Any] = {}
    for key, value in schema.items():
        at = f"{where}/{key}"
        if is_prose(key):
            continue
        if key in SUBSCHEMA:
            out[key] = strip_schema(value, at)
        elif key in SUBSCHEMA_LIST:
            out[key] = [strip_schema(s, f"{at}/{i}") for i, s in enumerate(value)]
        elif key in SUBSCHEMA_MAP:
            out[key] = {name: strip_schema(s, f"{at}/{name}") for name, s in value.items()}
        elif key in VALUE:
            out[key] = value
        else:
            raise UnknownConstruct(f"{at}: unknown schema keyword")
    return out


def _content(content: dict[str, Any], where: str) -> dict[str, Any]:
    """Content type -> {"schema": ...}; a media type without a schema stays an empty object."""
    out = {}
    for media_type, media in content.items():
        unknown = set(media) - {"schema"} - {k for k in media if is_prose(k)}
        if unknown:
            raise UnknownConstruct(f"{where}/{media_type}: {sorted(unknown)}")
        out[media_type] = (
            {"schema": strip_schema(media["schema"], f"{where}/{media_type}/schema")} if "schema" in media else {}
        )
    return out


def _parameter(param: dict[str, Any], where: str) -> dict[str, Any]:
    if "$ref" in param:
        raise UnknownConstruct(f"{where}: parameter $refs are not supported")
    out = {"name": param["name"], "in": param["in"], "required": param.get("required", False)}
    if "schema" in param:
        out["schema"] = strip_schema(param["schema"], f"{where}/schema")
    return out


def _response(response: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "content" in response:
        out["content"] = _content(response["content"], f"{where}/content")
    if "headers" in response:
        out["headers"] = {
            name: {"schema": strip_schema(h.get("schema", {}), f"{where}/headers/{name}")}
            for name, h in response["headers"].items()
        }
    return out


def _operation(op: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "responses": {status: _response(r, f"{where}/responses/{status}") for status, r in op["responses"].items()},
    }
    if op.get("parameters"):
        out["parameters"] = [_parameter(p, f"{where}/parameters/{i}") for i, p in enumerate(op["parameters"])]
    if "requestBody" in op:
        body = op["requestBody"]
        out["requestBody"] = {
            "required": body.get("required", False),
            "content": _content(body["content"], f"{where}/requestBody/content"),
        }
    return out


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    """The structural part of an OpenAPI 3.1 document, in the same shape (so JSON pointers into
    it, such as `#/components/schemas/X`, read the same)."""
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():
        unknown = {k for k in item if k not in METHODS and not is_prose(k)}
        if unknown:
            raise UnknownConstruct(f"{path}: path-level {sorted(unknown)}")
        paths[path] = {m: _operation(op, f"{path}/{m}") for m, op in item.items() if m in METHODS}
    schemas = doc.get("components", {}).get("schemas", {})
    return {
        "openapi": doc["openapi"],
        "paths": paths,
        "components": {"schemas": {name: strip_schema(s, f"components/schemas/{name}") for name, s in schemas.items()}},
    }


def render(fixture: dict[str, Any]) -> str:
    """The one canonical text of a fixture; the tests check the committed files are in it."""
    return json.dumps(fixture, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    source_dir = Path(argv[0])
    for name, filename in TARGETS.items():
        raw = (source_dir / filename).read_bytes()
        fixture = derive(json.loads(raw))
        # Which source the fixture came from, so a stale fixture can be told from a fresh one.
        fixture["derived_from"] = {"file": filename, "sha256": hashlib.sha256(raw).hexdigest()}
        target = HERE / f"{name}.json"
        target.write_text(render(fixture), encoding="utf-8")
        count = sum(len(item) for item in fixture["paths"].values())
        print(f"{target}: {count} operations, {len(fixture['components']['schemas'])} schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
