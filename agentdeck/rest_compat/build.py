"""Turn the route table into Starlette routes, once, at start-up.

For each row: derive the selection set from the GraphQL return type (aliased to the schema's
Python names, so the result is already in REST shape), build and validate the operation document,
and prepare the argument binders. A request then only binds, executes and serialises.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

import orjson
import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    execute,
    get_named_type,
    is_leaf_type,
    parse,
    subscribe,
    validate,
)
from graphql.pyutils import Undefined
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Match, NoMatchFound, Route

from agentdeck.errors import DomainError, as_unavailable
from agentdeck.logs import log_client_error
from agentdeck.metrics import observe_operation
from agentdeck.rest_compat import errors, sse
from agentdeck.rest_compat.binding import (
    Binder,
    InputNames,
    Source,
    coercion_errors,
    parse_text,
    unsafe_problems,
)
from agentdeck.rest_compat.names import rest_metadata, rest_name
from agentdeck.rest_compat.spec import Op
from agentdeck.schema.error_reporting import log_graphql_error

PATH_PARAM = re.compile(r"{(\w+)}")
# The result's type name, selected (and removed from the body) on rows with `status_by_type`.
TYPE_KEY = "restResultType"
MAX_SELECTION_DEPTH = 8
ContextFactory = Callable[[Request], Awaitable[Any]]
# Answers that carry a credential (`Op.no_store`) are kept by no cache, HTTP/1.0 ones included.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class RouteTableError(ValueError):
    """A row of the route table does not match the schema (raised at start-up)."""


@dataclass
class Compiled:
    op: Op
    name: str
    kind: str  # query | mutation | subscription
    document: DocumentNode
    binders: list[Binder]
    result_field: str
    arg_locs: dict[str, tuple[Source, str]]  # GraphQL argument -> (source, REST name)


def selection(schema: GraphQLSchema, t: Any, stack: tuple[str, ...] = ()) -> str:
    named = get_named_type(t)
    if is_leaf_type(named):
        return ""
    if len(stack) >= MAX_SELECTION_DEPTH or named.name in stack:
        raise RouteTableError(f"selection through {'.'.join(stack)} is cyclic or too deep")
    stack = (*stack, named.name)
    if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
        members = schema.get_possible_types(named)
        return "{ %s }" % " ".join(f"... on {m.name} {selection(schema, m, stack)}" for m in members)
    assert isinstance(named, GraphQLObjectType)
    parts = []
    for name, field in named.fields.items():
        if rest_metadata(field).get("skip") or has_required_args(field):
            continue
        alias = rest_name(name, field)
        head = name if alias == name else f"{alias}: {name}"
        parts.append(f"{head} {selection(schema, field.type, stack)}".rstrip())
    return "{ %s }" % " ".join(parts)


def _required(arg: GraphQLArgument) -> bool:
    return isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined


def has_required_args(field: GraphQLField) -> bool:
    return any(_required(a) for a in field.args.values())


def compile_op(schema: GraphQLSchema, op: Op) -> Compiled:
    roots = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }
    kind = "subscription" if op.stream else ("query" if op.method == "GET" else "mutation")
    root = roots[kind]
    field = root.fields.get(op.field) if root else None
    if field is None:
        raise RouteTableError(f"{op.method} {op.path}: no {kind} field '{op.field}'")

    wanted: list[tuple[Source, str, str]] = []  # (source, key, argument)
    for param in PATH_PARAM.findall(op.path):
        arg = op.path_args.get(param) or next((n for n, a in field.args.items() if rest_name(n, a) == param), param)
        wanted.append(("path", param, arg))
    wanted += [("query", k, a) for k, a in op.query.items()]
    wanted += [("header", k, a) for k, a in op.header.items()]
    if op.body:
        wanted.append(("body", "", op.body))
    if op.stream and op.stream.resume_arg:
        wanted.append(("header", "Last-Event-ID", op.stream.resume_arg))

    binders, arg_locs, var_defs, call_args = [], {}, [], []
    for source, key, arg_name in wanted:
        arg = field.args.get(arg_name)
        if arg is None:
            raise RouteTableError(f"{op.method} {op.path}: '{op.field}' has no argument '{arg_name}'")
        required = _required(arg)
        var_type = arg.type if required or source == "path" else _nullable(arg.type)
        binders.append(Binder(source, key, arg_name, arg.type, required or source == "path"))
        arg_locs[arg_name] = (source, key)
        var_defs.append(f"${arg_name}: {var_type}")
        call_args.append(f"{arg_name}: ${arg_name}")
    missing = [n for n, a in field.args.items() if _required(a) and n not in arg_locs]
    if missing:
        raise RouteTableError(f"{op.method} {op.path}: required arguments not bound: {missing}")

    name = "Rest_" + re.sub(r"\W+", "_", f"{op.method} {op.path}").strip("_")
    selected = selection(schema, field.type)
    if op.status_by_type:
        if not isinstance(get_named_type(field.type), GraphQLUnionType | GraphQLInterfaceType):
            raise RouteTableError(f"{op.method} {op.path}: status_by_type needs a union or interface result")
        selected = "{ %s %s" % (TYPE_KEY + ": __typename", selected[1:])
    text = "%s %s%s { %s%s %s }" % (
        kind,
        name,
        f"({', '.join(var_defs)})" if var_defs else "",
        op.field,
        f"({', '.join(call_args)})" if call_args else "",
        selected,
    )
    document = parse(text)
    problems = validate(schema, document)
    if problems:
        raise RouteTableError(f"{op.method} {op.path}: {problems[0].message}\n{text}")
    return Compiled(op, name, kind, document, binders, op.field, arg_locs)


def _nullable(t: Any) -> Any:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


class RestOperation:
    """All the methods served on one path (one Starlette route, so 405s list every method)."""

    def __init__(self, schema: strawberry.Schema, context_factory: ContextFactory) -> None:
        self.schema = schema
        self.gql = schema._schema
        self.executor = schema.execution_context_class
        self.context_factory = context_factory
        self.names = InputNames()
        self.by_method: dict[str, Compiled] = {}

    async def handle(self, request: Request) -> Response:
        compiled = self.by_method.get(request.method) or self.by_method["GET"]  # HEAD → GET
        response = await self.answer(compiled, request)
        if compiled.op.no_store:
            response.headers.update(NO_STORE)
        return response

    async def answer(self, compiled: Compiled, request: Request) -> Response:
        start = time.perf_counter()
        ok = False
        try:
            variables, problems = await self.bind(compiled, request)
            if problems:
                first = problems[0]
                log_client_error(
                    compiled.name,
                    "BAD_USER_INPUT",
                    f"{'.'.join(map(str, first['loc']))}: {first['msg']} ({len(problems)} problem(s))",
                )
                return errors.validation_failed(problems)
            context = await self.context_factory(request)
            if compiled.kind == "subscription":
                response = await self.stream(compiled, context, variables)
            else:
                result = execute(
                    self.gql,
                    compiled.document,
                    context_value=context,
                    variable_values=variables,
                    operation_name=compiled.name,
                    executor_class=self.executor,
                )
                if isawaitable(result):
                    result = await result
                response = self.render(compiled, result)
            ok = response.status_code < 400
            return response
        finally:
            observe_operation(compiled.name, compiled.kind, "rest", ok, time.perf_counter() - start)

    async def bind(self, c: Compiled, request: Request) -> tuple[dict[str, Any], list[dict]]:
        variables: dict[str, Any] = {}
        problems: list[dict] = []
        for b in c.binders:
            if b.source == "body":
                raw = await request.body()
                if not raw:
                    if b.required:
                        problems.append({"type": "missing", "loc": ["body"], "msg": "Field required", "input": None})
                    continue
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    problems.append(
                        {
                            "type": "json_invalid",
                            "loc": ["body", exc.pos],
                            "msg": "JSON decode error",
                            "input": {},
                            "ctx": {"error": exc.msg},
                        }
                    )
                    continue
                if unsafe := unsafe_problems(body, ["body"]):
                    problems += unsafe
                    continue
                value = self.names.to_graphql(body, b.type, ["body"], problems)
                loc = ["body"]
            else:
                if b.source == "path":
                    raw_text = request.path_params.get(b.key)
                elif b.source == "query":
                    values = request.query_params.getlist(b.key)
                    raw_text = values if len(values) > 1 else (values[0] if values else None)
                else:
                    raw_text = request.headers.get(b.key)
                loc = [b.source, b.key]
                if raw_text is None:
                    if b.required:
                        problems.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
                    continue
                if unsafe := unsafe_problems(raw_text, loc):
                    problems += unsafe
                    continue
                value, parse_error = parse_text(raw_text, b.type)
                if parse_error:
                    kind, msg = parse_error
                    problems.append({"type": kind, "loc": loc, "msg": msg, "input": raw_text})
                    continue
            if not problems:
                problems += coercion_errors(self.names, value, b.type, loc)
            variables[b.var] = value
        return variables, problems

    def render(self, c: Compiled, result: ExecutionResult) -> Response:
        if result.errors:
            return self.error_response(c, result.errors[0])
        data = result.data[c.result_field] if result.data else None
        status = c.op.status
        if c.op.status_by_type and isinstance(data, dict):
            status = c.op.status_by_type.get(data.pop(TYPE_KEY, ""), status)
        if status == 204:
            return Response(status_code=204)
        if c.op.media_type:
            return Response(data, status, media_type=c.op.media_type)
        headers = {"ETag": f'"{data[c.op.etag]}"'} if c.op.etag and isinstance(data, dict) else None
        if c.op.envelope and isinstance(data, dict):
            data = {"success": True, **data}
        return Response(orjson.dumps(data), status, headers=headers, media_type="application/json")

    def error_response(self, c: Compiled, error: GraphQLError) -> Response:
        original = as_unavailable(error.original_error) or error.original_error
        log_graphql_error(c.name, error)
        to_loc = functools.partial(self.loc, c)
        if isinstance(original, DomainError):
            return errors.from_extensions(original.message, original.extensions, to_loc)
        code = (error.extensions or {}).get("code")
        if code is not None:
            # A GraphQL error raised with a code: answered as the table says, and a code missing
            # from it raises UnknownErrorCode here (a 500 and a traceback, not a made-up status).
            return errors.from_extensions(error.message, error.extensions, to_loc)
        if original is None:  # a request error the binder did not catch (should not happen)
            return errors.from_extensions(error.message, {"code": "BAD_REQUEST"}, to_loc)
        return errors.internal_error()

    def loc(self, c: Compiled, field_path: str) -> list:
        """`input.password` → ["body", "password"]; `first` → ["query", "limit"]."""
        head, *tail = field_path.split(".") if field_path else [""]
        rest = [int(part) if part.isdigit() else part for part in tail]
        source, key = c.arg_locs.get(head, ("body", head))
        return [source, *rest] if source == "body" else [source, key, *rest]

    async def stream(self, c: Compiled, context: Any, variables: dict[str, Any]) -> Response:
        spec = c.op.stream
        assert spec is not None
        result = subscribe(
            self.gql,
            c.document,
            context_value=context,
            variable_values=variables,
            operation_name=c.name,
            executor_class=self.executor,
        )
        if isawaitable(result):
            result = await result
        if isinstance(result, ExecutionResult):
            return self.render(c, result)
        # graphql-core declares an AsyncIterator; what it returns is the async generator of
        # map_source_to_response_event, which is closed below when the client goes away.
        if not isinstance(result, AsyncGenerator):
            raise TypeError(f"subscribe returned a {type(result).__name__}, not an async generator")
        stream = result
        # Wait for the first event (as long as the route allows) so that errors raised as the
        # stream starts are ordinary JSON error responses, not an empty stream.
        head = asyncio.ensure_future(anext(stream))
        await asyncio.wait({head}, timeout=spec.first_event_seconds)
        if head.done():
            failure = head.exception()
            if failure is None and head.result().errors:
                await stream.aclose()
                return self.render(c, head.result())
            if failure is not None and not isinstance(failure, StopAsyncIteration):
                await stream.aclose()
                if isinstance(failure, GraphQLError):
                    return self.error_response(c, failure)
                if isinstance(failure, Exception):
                    return self.error_response(c, GraphQLError(str(failure), original_error=failure))
                raise failure  # KeyboardInterrupt, SystemExit: the process is stopping, not this request failing

        async def payloads() -> AsyncIterator[Any]:
            # The headers are sent: a failure can only end the stream (logged, not raised into
            # the server, which would drop the connection mid-frame).
            try:
                item = await head
                while True:
                    if item.errors:
                        log_graphql_error(c.name, item.errors[0])
                        return
                    if item.data is None:
                        raise RuntimeError(f"{c.name}: a subscription event with neither data nor errors")
                    yield item.data[c.result_field]
                    item = await anext(stream)
            except StopAsyncIteration:
                return
            except DomainError as exc:
                log_client_error(c.name, exc.code, exc.message)

        async def close() -> None:
            head.cancel()
            await stream.aclose()

        body = sse.frames(payloads(), spec, on_close=close)
        # The content type is sent exactly as the route declares it (Starlette would otherwise
        # append a charset to text/* types, which the legacy chat stream did not have).
        headers = {"Content-Type": spec.media_type, "Cache-Control": "no-cache", **spec.headers}
        return StreamingResponse(body, headers=headers)


def build_routes(
    schema: strawberry.Schema, table: tuple[Op, ...], context_factory: ContextFactory
) -> tuple[list[RestRoute], list[Compiled]]:
    """Compile and validate every row; raise `RouteTableError` naming the first bad one."""
    by_path: dict[str, RestOperation] = defaultdict(lambda: RestOperation(schema, context_factory))
    compiled_all = []
    for op in table:
        compiled = compile_op(schema._schema, op)
        handler = by_path[op.path]
        if op.method in handler.by_method:
            raise RouteTableError(f"{op.method} {op.path} appears twice")
        handler.by_method[op.method] = compiled
        compiled_all.append(compiled)
    routes = [RestRoute(path, handler.handle, methods=list(handler.by_method)) for path, handler in by_path.items()]
    for route in routes:
        route.yields_to = [other for other in routes if more_specific(other.path, route.path)]
    return routes, compiled_all


class RestRoute(Route):
    """A route that leaves to a more specific sibling the paths both match.

    `/conversations/{conversation_id}` would otherwise take `DELETE /conversations/search` and
    answer 422 for a malformed id; the path is `/conversations/search`'s, so the answer is its
    405 with its `Allow`. A malformed id on the parameterised route itself still gets the 422.
    """

    yields_to: list[Route]

    def matches(self, scope: Any) -> tuple[Match, Any]:
        match, child = super().matches(scope)
        if match is not Match.NONE and any(o.matches(scope)[0] is not Match.NONE for o in self.yields_to):
            return Match.NONE, {}
        return match, child


class RouteIndex(BaseRoute):
    """The REST routes as one route that looks a request's path up instead of trying ~100
    templates in turn (a regex match each: ~0.1 ms of every request, `/graphql`'s included, when
    they led the router's list). A path that is some route's literal template goes to that route
    only (its siblings with parameters yield it anyway, see `RestRoute`); any other path tries
    the parameterised templates with its number of segments. The router then sees the route that
    matched in `scope["route"]`, as before."""

    def __init__(self, routes: list[RestRoute]) -> None:
        self.routes = routes
        self.literal = {r.path: r for r in routes if not PATH_PARAM.search(r.path)}
        self.templated: dict[int, list[RestRoute]] = defaultdict(list)
        for r in routes:
            if PATH_PARAM.search(r.path):
                self.templated[r.path.count("/")].append(r)

    def matches(self, scope: Any) -> tuple[Match, Any]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = get_route_path(scope)
        literal = self.literal.get(path)
        partial: tuple[Any, Route] | None = None
        for route in [literal] if literal is not None else self.templated.get(path.count("/"), ()):
            match, child = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child, "route": route}
            if match is Match.PARTIAL and partial is None:
                partial = (child, route)
        if partial is not None:
            return Match.PARTIAL, {**partial[0], "route": partial[1]}
        return Match.NONE, {}

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        await scope["route"].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)


def more_specific(path: str, than: str) -> bool:
    """Both templates can match one path, and `path` spells out the first segment in which one
    of them is a literal and the other a parameter."""
    a, b = path.strip("/").split("/"), than.strip("/").split("/")
    if len(a) != len(b):
        return False
    decided = None
    for x, y in zip(a, b, strict=True):
        x_param, y_param = PATH_PARAM.fullmatch(x) is not None, PATH_PARAM.fullmatch(y) is not None
        if not x_param and not y_param and x != y:
            return False  # different literals: never the same path
        if decided is None and x_param != y_param:
            decided = y_param
    return bool(decided)
