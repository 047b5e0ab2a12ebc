"""REST names are the schema's own Python names (snake_case), read from Strawberry's definitions."""

from __future__ import annotations

from graphql import GraphQLArgument, GraphQLField, GraphQLInputField
from strawberry.schema.schema_converter import GraphQLCoreConverter

BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF  # where Strawberry keeps a field's definition


def rest_name(graphql_name: str, field: GraphQLField | GraphQLInputField | GraphQLArgument) -> str:
    definition = (field.extensions or {}).get(BACKREF)
    return getattr(definition, "python_name", None) or graphql_name


def rest_metadata(field: GraphQLField | GraphQLInputField) -> dict:
    """Per-field REST options, declared as `strawberry.field(metadata={"rest": {...}})`."""
    definition = (field.extensions or {}).get(BACKREF)
    return (getattr(definition, "metadata", None) or {}).get("rest", {})
