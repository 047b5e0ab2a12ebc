"""The REST layer's OpenAPI document, generated from the same compiled table as the routes."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
)
from graphql.pyutils import Undefined
from strawberry.permission import PermissionExtension

from agentdeck import __version__
from agentdeck.domain.common.limits import Limit
from agentdeck.rest_compat.binding import INT_MAX, INT_MIN, Binder
from agentdeck.rest_compat.build import Compiled, RouteTableError, has_required_args
from agentdeck.rest_compat.errors import NAMES
from agentdeck.rest_compat.names import BACKREF, rest_metadata, rest_name
from agentdeck.rest_compat.spec import RawOp
from agentdeck.schema.limits import limit_of

# What GraphQL's Int accepts (a 32-bit signed integer): declared on every integer a request sends,
# since the server refuses anything else (a `Limit` on the argument may bound it further).
INT32 = {"format": "int32", "minimum": INT_MIN, "maximum": INT_MAX}

SCALARS: dict[str, dict[str, Any]] = {
    "String": {"type": "string"},
    "ID": {"type": "string"},
    "Int": {"type": "integer"},
    "Float": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "UUID": {"type": "string", "format": "uuid"},
    "DateTime": {"type": "string", "format": "date-time"},
    "Date": {"type": "string", "format": "date"},
    "JSON": {},
}

ERROR_RESPONSE = {
    "type": "object",
    "title": "ErrorResponse",
    "properties": {
        "success": {"type": "boolean", "default": False},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "details": {},
    },
    "required": ["success", "error", "message"],
}
VALIDATION_ERROR_RESPONSE = {
    "type": "object",
    "title": "ValidationErrorResponse",
    "properties": {
        "success": {"type": "boolean", "default": False},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["success", "error", "message", "details"],
}


class SchemaWriter:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.components: dict[str, Any] = {
            "ErrorResponse": ERROR_RESPONSE,
            "ValidationErrorResponse": VALIDATION_ERROR_RESPONSE,
        }

    def ref(self, t: Any, request: bool = False) -> dict[str, Any]:
        """JSON Schema of a GraphQL type; nullable unless wrapped in NonNull. `request`: what a
        request sends (an argument or input field), which the server coerces as GraphQL does."""
        if isinstance(t, GraphQLNonNull):
            return self._inner(t.of_type, request)
        return {"anyOf": [self._inner(t, request), {"type": "null"}]}

    def _inner(self, t: Any, request: bool = False) -> dict[str, Any]:
        if isinstance(t, GraphQLList):
            return {"type": "array", "items": self.ref(t.of_type, request)}
        if isinstance(t, GraphQLScalarType):
            schema = dict(SCALARS.get(t.name, {"type": "string"}))
            return {**schema, **INT32} if request and t.name == "Int" else schema
        if isinstance(t, GraphQLEnumType):
            return {"type": "string", "enum": [v.value for v in t.values.values()]}
        if t.name not in self.components:
            self.components[t.name] = {}  # placeholder breaks cycles
            self.components[t.name] = self._component(t)
        return {"$ref": f"#/components/schemas/{t.name}"}

    def _component(self, t: Any) -> dict[str, Any]:
        if isinstance(t, GraphQLUnionType | GraphQLInterfaceType):
            return {"anyOf": [self._inner(m) for m in self.schema.get_possible_types(t)], "title": t.name}
        props, required = {}, []
        for name, field in t.fields.items():
            if isinstance(t, GraphQLObjectType) and (rest_metadata(field).get("skip") or has_required_args(field)):
                continue
            key = rest_name(name, field)
            props[key] = bounded(self.ref(field.type, request=isinstance(t, GraphQLInputObjectType)), field)
            if field.description:
                props[key]["description"] = field.description
            if isinstance(field.type, GraphQLNonNull) and not (
                isinstance(t, GraphQLInputObjectType) and field.default_value is not Undefined
            ):
                required.append(key)
        out: dict[str, Any] = {"type": "object", "title": t.name, "properties": props}
        if required:
            out["required"] = required
        if isinstance(t, GraphQLInputObjectType):
            out["additionalProperties"] = False
        if t.description:
            out["description"] = t.description
        return out


BEARER_AUTH = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from /api/v1/auth/token (or a service-account token).",
}


def _security(field: GraphQLField) -> list[dict[str, list]] | None:
    """From the permissions the field declares (`schema/permissions.py`): none = public."""
    definition = (field.extensions or {}).get(BACKREF)
    permissions = [
        p for e in getattr(definition, "extensions", ()) if isinstance(e, PermissionExtension) for p in e.permissions
    ]
    if not permissions:
        return None
    if all(getattr(p, "bearer", "required") == "optional" for p in permissions):
        return [{}, {"bearerAuth": []}]
    return [{"bearerAuth": []}]


def bounded(schema: dict[str, Any], field: Any) -> dict[str, Any]:
    """`schema` with the `Limit` the argument or input field declares (the one it enforces)."""
    limit = limit_of((field.extensions or {}).get(BACKREF))
    if limit is None:
        return schema
    if "anyOf" in schema:  # nullable: the bounds belong to the non-null branch
        return {**schema, "anyOf": [bounded_inner(schema["anyOf"][0], limit), *schema["anyOf"][1:]]}
    return bounded_inner(schema, limit)


def bounded_inner(schema: dict[str, Any], limit: Limit) -> dict[str, Any]:
    return {**schema, **limit.json_schema(is_list=schema.get("type") == "array")}


def _parameter(b: Binder, field: GraphQLField, writer: SchemaWriter) -> dict[str, Any]:
    schema = writer.ref(b.type, request=True) if not b.required else writer._inner(_strip(b.type), request=True)
    arg = field.args[b.var]
    out = {"name": b.key, "in": b.source, "required": b.required, "schema": bounded(schema, arg)}
    if arg.description:
        out["description"] = arg.description
    return out


def _strip(t: Any) -> Any:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


def _error_responses() -> dict[str, Any]:
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    out: dict[str, Any] = {"default": {"description": "Error Response", **ref}}
    for status in (400, 401, 403, 404, 409, 413, 429, 500, 502, 503):
        out[str(status)] = {"description": NAMES[status], **ref}
    out["422"] = {
        "description": "Validation Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrorResponse"}}},
    }
    return out


def _other_successes(c: Compiled, writer: SchemaWriter) -> dict[str, Any]:
    """The statuses a union result's members answer other than the row's own (`status_by_type`)."""
    out: dict[str, Any] = {}
    for type_name, status in c.op.status_by_type.items():
        member = writer.schema.get_type(type_name)
        if member is None:
            raise RouteTableError(f"{c.op.method} {c.op.path}: status_by_type names no type {type_name!r}")
        schema = writer._inner(member)
        out[str(status)] = {"description": type_name, "content": {"application/json": {"schema": schema}}}
    return out


def build_openapi(schema: GraphQLSchema, compiled: list[Compiled], raw: tuple[RawOp, ...] = ()) -> dict[str, Any]:
    writer = SchemaWriter(schema)
    paths: dict[str, Any] = {}
    roots = {"query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type}
    for c in compiled:
        root = roots[c.kind]
        if root is None:  # `compiled` was built against another schema
            raise RouteTableError(f"{c.op.method} {c.op.path}: the schema has no {c.kind} type")
        field = root.fields[c.op.field]
        result_schema = writer._inner(_strip(field.type))
        if c.op.envelope:
            result_schema = {
                "type": "object",
                "properties": {
                    "success": {"type": "boolean", "default": True},
                    "message": {"type": "string"},
                    "data": {},
                },
                "required": ["success", "message"],
                "description": f"Success envelope; `message` and `data` come from {result_schema.get('$ref', '')}",
            }
        if c.op.status == 204:
            ok: dict[str, Any] = {"description": "No Content"}
        elif c.op.stream:
            ok = {
                "description": "Server-Sent Events: one `data:` frame per event",
                "content": {c.op.stream.media_type: {"schema": result_schema}},
            }
        elif c.op.media_type:
            ok = {
                "description": "Successful Response",
                "content": {c.op.media_type.split(";")[0].strip(): {"schema": {"type": "string"}}},
            }
        else:
            ok = {"description": "Successful Response", "content": {"application/json": {"schema": result_schema}}}
        operation: dict[str, Any] = {
            "tags": list(c.op.tags),
            "summary": c.op.summary or c.op.field,
            "operationId": c.name,
            "description": f"Executes GraphQL {c.kind} field `{c.op.field}`."
            + ("" if c.op.documented else " (agentdeck extension, not in the legacy contract)"),
            "responses": {str(c.op.status): ok, **_other_successes(c, writer), **_error_responses()},
        }
        security = _security(field)
        if security is not None:
            operation["security"] = security
        params = [_parameter(b, field, writer) for b in c.binders if b.source != "body"]
        if params:
            operation["parameters"] = params
        body = next((b for b in c.binders if b.source == "body"), None)
        if body is not None:
            operation["requestBody"] = {
                "required": body.required,
                "content": {"application/json": {"schema": writer._inner(_strip(body.type), request=True)}},
            }
        paths.setdefault(c.op.path, {})[c.op.method.lower()] = operation
    for r in raw:
        success: dict[str, Any] = {
            "description": {202: "Accepted"}.get(r.status, "Successful Response"),
            "content": {r.response_media_type: {"schema": r.response}},
        }
        if r.response_headers:
            success["headers"] = {h: {"schema": {"type": "string"}} for h in r.response_headers}
        raw_op: dict[str, Any] = {
            "tags": list(r.tags),
            "summary": r.summary,
            "description": r.description,
            "operationId": "Raw_" + r.path.strip("/").replace("/", "_").replace("{", "").replace("}", ""),
        }
        if r.parameters:
            raw_op["parameters"] = list(r.parameters)
        if r.request_media_type is not None:
            raw_op["requestBody"] = {
                "required": True,
                "content": {r.request_media_type: {"schema": {"type": "object"}}},
            }
        raw_op["responses"] = {str(r.status): success, **_error_responses()}
        if r.bearer:
            raw_op["security"] = [{"bearerAuth": []}]
        paths.setdefault(r.path, {})[r.method.lower()] = raw_op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agentdeck REST compatibility API",
            "version": __version__,
            "description": "Generated from agentdeck's route table; every operation runs a GraphQL field.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(writer.components.items())),
            "securitySchemes": {"bearerAuth": BEARER_AUTH},
        },
    }


def openapi_document() -> dict[str, Any]:
    """The document for the current schema and route table (what `/openapi.json` serves)."""
    from agentdeck.rest_compat.build import compile_op
    from agentdeck.rest_compat.routes import RAW_ROUTES, ROUTES
    from agentdeck.schema import REST, build_schema

    schema = build_schema(face=REST)._schema
    return build_openapi(schema, [compile_op(schema, op) for op in ROUTES], RAW_ROUTES)
