"""What validating a GraphQL document costs is bounded before validation runs, and no document a
client makes up stays in memory for the cyclic GC to walk.

graphql-core's OverlappingFieldsCanBeMerged compares, one pair at a time, every two fields that
share a response path: 149 copies of `health { status }` (298 fields, under the field limit)
took 45-80 ms of CPU for each new operation name, and three unused fragments of 120 copies each
0.6 s. The costliest documents the server accepts now validate in a few ms; every document the
project itself sends is accepted.
"""

from __future__ import annotations

import ast
import gc
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping
from graphql import GraphQLError, OperationDefinitionNode, get_introspection_query, parse, print_ast, specified_rules
from strawberry.extensions import AddValidationRules
from strawberry.schema.schema import validate_document

from agentdeck.rest_compat.build import compile_op
from agentdeck.rest_compat.routes import ROUTES
from agentdeck.schema import REST, build_schema
from agentdeck.schema.error_reporting import PARSE_FAILED, VALIDATION_FAILED, BoundedValidation
from agentdeck.settings import Settings
from tests.inprocess import client, platform

ROOT = Path(__file__).resolve().parents[2]
# The overlap rule's work on the costliest accepted document, in graphql-core's own units
# (`MAX_COMPLEXITY_BUDGET`, 500,000 by default; about 1 µs each): 149 copies of
# `health { status }` spend 55,000. The REST layer's largest stored operation spends 2,970.
OVERLAP_BUDGET = 5_000


def _repeat(text: str, times: int) -> str:
    return " ".join([text] * times)


# Documents that are costly to validate, by how many times they repeat something.
SHAPES: dict[str, Callable[[int], str]] = {
    "one field repeated": lambda k: "{" + _repeat("health { status }", k) + "}",
    "one leaf repeated": lambda k: "{" + _repeat("__typename", k) + "}",
    "repeats within repeats": lambda k: "{" + _repeat("health {" + _repeat("status", 5) + "}", k) + "}",
    "a fragment each": lambda k: (
        "{"
        + " ".join(f"...F{i}" for i in range(k))
        + "} "
        + " ".join(f"fragment F{i} on Query {{ health {{ status }} }}" for i in range(k))
    ),
    "inline fragments": lambda k: "{" + _repeat("... on Query { health { status } }", k) + "}",
    "unused fragments": lambda k: (
        "{ __typename } "
        + " ".join(f"fragment U{i} on Query {{ {_repeat('health { status }', k)} }}" for i in range(3))
    ),
}


def _refused_before_validation(result) -> bool:
    """Refused as too large: by the token limit (a parse error) or the limits on fields."""
    codes = {((e.extensions or {}).get("code"), e.message.startswith("The document ")) for e in result.errors or ()}
    return (PARSE_FAILED, False) in codes or (VALIDATION_FAILED, True) in codes


def _rules(schema) -> tuple:
    """The rules the server validates with: graphql-core's, then the schema's own."""
    added = next(e for e in schema.extensions if isinstance(e, AddValidationRules))
    return (*specified_rules, *added.validation_rules)


async def test_the_costliest_accepted_documents_validate_in_a_few_ms(tmp_path, monkeypatch):
    async with platform(tmp_path) as services:
        schema = build_schema(services.settings)

        async def accepted(text: str) -> bool:
            result = await schema.execute(f"query Q{uuid.uuid4().hex} {text}", context_value=client(services))
            return not _refused_before_validation(result)

        rules = _rules(schema)

        def validation_time(document) -> float:
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter()
                validate_document(schema._schema, document, rules)
                best = min(best, time.perf_counter() - start)
            return best

        # 10 ms, or on a busy machine 4x what the full introspection query takes (242 fields,
        # ~3.5 ms on an idle one): the costliest accepted documents take up to 2.7x it; 149
        # copies of `health { status }` took 17x.
        bound = max(0.010, 4 * validation_time(parse(_project_documents()[-1][1])))
        monkeypatch.setattr(overlapping, "MAX_COMPLEXITY_BUDGET", OVERLAP_BUDGET)
        for shape, make in SHAPES.items():
            low, high = 1, 300  # the most repeats accepted; 300 fields are refused in any case
            assert await accepted(make(low))
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if await accepted(make(mid)) else (low, mid)
            document = parse(make(low))
            errors = validate_document(schema._schema, document, rules)
            assert not [e for e in errors if "aborted" in e.message], (shape, low)  # within OVERLAP_BUDGET
            took = validation_time(document)
            assert took < bound, (shape, low, took, bound)
            # One more repeat is refused, and quickly (each time a new document).
            took = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                assert not await accepted(make(high)), (shape, high)
                took = min(took, time.perf_counter() - start)
            assert took < bound, (shape, high, took)
        too_many = await schema.execute(SHAPES["one field repeated"](149), context_value=client(services))
        [error] = too_many.errors
        assert "'health' 149 times" in error.message and "Select each field once" in error.message


def _project_documents() -> list[tuple[str, str]]:
    """Every document the project sends: the typed client's operations (each with the
    fragments of its file), GraphiQL's default document and introspection queries."""
    found = []
    for path in sorted((ROOT / "tests" / "operations").glob("*.graphql")):
        document = parse(path.read_text())
        fragments = [d for d in document.definitions if not isinstance(d, OperationDefinitionNode)]
        for d in document.definitions:
            if isinstance(d, OperationDefinitionNode):
                found.append((f"{path.name} {d.name.value}", print_ast(type(document)(definitions=(d, *fragments)))))
    graphiql = (ROOT / "agentdeck" / "static" / "graphiql.js").read_text()
    found.append(("GraphiQL's default", re.search(r"DEFAULT_QUERY = `(.*?)`;", graphiql, re.S).group(1)))
    found.append(("introspection", get_introspection_query()))
    everything = dict(specified_by_url=True, directive_is_repeatable=True, schema_description=True)
    found.append(
        ("full introspection", get_introspection_query(input_value_deprecation=True, one_of=True, **everything))
    )
    return found


def _suite_documents() -> list[tuple[str, str]]:
    """The GraphQL operations written as string literals in the suite (an f-string's
    placeholders read as `1`)."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            elif isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "1" for v in node.values)
            else:
                continue
            if "{" not in text:
                continue
            try:
                document = parse(text)
            except GraphQLError:
                continue
            if any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return found


def test_every_document_the_project_sends_is_within_the_bounds():
    settings = Settings()
    graphql_face, rest_face = build_schema(settings), build_schema(settings, face=REST)
    bounds = next(e for e in graphql_face.extensions if isinstance(e, BoundedValidation))
    documents = _project_documents()
    assert len(documents) > 20
    for name, text in documents:
        assert bounds.refusal(parse(text).definitions) is None, name
        assert not validate_document(graphql_face._schema, parse(text), _rules(graphql_face)), name
    suite = _suite_documents()
    assert len(suite) > 300
    for name, text in suite:
        assert bounds.refusal(parse(text).definitions) is None, name
    # The REST layer's stored operations (validated once, at start-up) are within them too:
    # the chat and workflow streams select every event type's fields, 287 fields in 1,100 pairs.
    for op in ROUTES:
        compiled = compile_op(rest_face._schema, op)
        assert bounds.refusal(compiled.document.definitions) is None, (op.method, op.path)


async def test_a_document_sent_once_is_not_kept(tmp_path):
    """A parsed document is thousands of objects, and each full collection of the cyclic GC
    walks every object the process holds: a client inventing documents kept up to 512 of them
    in the parse cache and 4,096 in the executor's and the cost's per-document memos (collections
    of 0.2-0.8 s). Only a document sent again is kept."""
    async with platform(tmp_path) as services:
        schema = build_schema(services.settings)

        def operations() -> int:
            gc.collect()
            return sum(isinstance(o, OperationDefinitionNode) for o in gc.get_objects())

        before = operations()
        for _ in range(50):
            text = f"query Q{uuid.uuid4().hex} {{ " + _repeat("health { status }", 10) + " }"
            result = await schema.execute(text, context_value=client(services))
            assert result.errors is None, result.errors
        assert operations() - before <= 2  # the last one's, which a request may still hold
        again = "query Again { health { status } }"
        for _ in range(3):
            assert (await schema.execute(again, context_value=client(services))).errors is None
        assert operations() - before <= 3


async def test_a_one_of_literal_with_two_members_is_a_validation_error(tmp_path):
    """Strawberry's own rules (`@oneOf` literals) run with ours: this was masked as a fault."""
    async with platform(tmp_path) as services:
        schema = build_schema(services.settings)
        query = (
            '{ searchVectorStore(id: "x", query: "q", filter: {attributes: '
            '{comparison: {key: "a", operator: EQ, value: 1}, all: []}}) { totalCount } }'
        )
        [error] = (await schema.execute(query, context_value=client(services))).errors
        assert error.extensions["code"] == VALIDATION_FAILED
        assert error.message == "OneOf Input Object 'FileAttributeFilter' must specify exactly one key."
