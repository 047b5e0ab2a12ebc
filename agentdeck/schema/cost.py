"""Query cost analysis: what an operation may cost, decided from its document before it runs.

The cost is static: it reads the validated document, its variables and the schema, never data.

- An object (or interface, union) field costs 1 for each object it returns, plus what its
  selection costs for each; a leaf field (scalar, enum) costs 0. A root field costs at least 1
  (`__typename` aside): it is a resolver call even when it answers a scalar or an empty list.
- A field with `first`/`last` arguments (a connection) returns a page of that many items,
  `graph.DEFAULT_PAGE` when neither is given: the lists in its selection (`edges`, `nodes`)
  count that many items, so nested connections multiply. A list field with an `ids` argument
  (`nodes(ids:)`) counts one item per id. Any other list counts `LIST_SIZE` items.
- Fragments and inline fragments count where they are spread. On an abstract type (a union or
  an interface) the cost is that of the most expensive possible type.
- `@skip`/`@include` are honoured; variables are coerced as execution will coerce them.
- Introspection (`__schema`, `__type`) costs `INTROSPECTION_COST`, whatever it selects; `__typename`
  costs 0.

`QueryCost` (the schema extension) refuses an operation over the per-request budget with
`QUERY_TOO_COSTLY` before anything executes, then spends its cost from the caller's budget per
minute (per tenant of the token; per principal without a tenant; per client address for
anonymous callers) on the platform's rate limiter (`providers/ratelimit.py`: shared through
Redis when configured, else this process's), refusing with `RATE_LIMITED` and `retryAfter` when it
is spent. Every response says `extensions.cost = {requested, budget, remaining}`. Over WebSocket
the check is made when the subscription starts (each event carries the same numbers).
The REST layer executes its stored operations with graphql-core directly: no cost applies there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_object_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from agentdeck.errors import RateLimited
from agentdeck.schema.documents import ByNode
from agentdeck.schema.error_reporting import QUERY_TOO_COSTLY
from agentdeck.schema.graph import DEFAULT_PAGE

# The length assumed for a list that does not say how long it is (no `first`/`last`, no `ids`):
# such lists in this schema are short by construction (a plan's features, an agent's tools, the
# members of a tenant), and 10 is a generous typical size, not a bound.
LIST_SIZE = 10
# What an introspection field (`__schema`, `__type`) costs, whatever it selects: GraphiQL's and
# codegen's full introspection query must pass, and introspection reads no data.
INTROSPECTION_COST = 100
INTROSPECTION = frozenset({"__schema", "__type"})
WINDOW_SECONDS = 60


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> int:
    """The cost of the operation `operation_name` (or the only one) of a validated document."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = _root(schema, operation)
    if root is None:
        return 0
    # An operation without variables costs the same every time: the parse cache hands back the
    # same document object for the same text, so its cost is kept while the document lives.
    fixed = not operation.variable_definitions
    known = _FIXED.get(schema)
    if known is None:
        known = _FIXED[schema] = ByNode()
    if fixed and (hit := known.get(operation)) is not None:
        return hit
    found = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    # Variables that execution refuses (it reports them): counted as if absent.
    coerced = None if isinstance(found, list) else found
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    cost = _Costing(schema, fragments, coerced).root(operation.selection_set, root)
    if fixed:
        known.put(operation, cost)
    return cost


_FIXED: WeakKeyDictionary[GraphQLSchema, ByNode[int]] = WeakKeyDictionary()


def _root(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
    if operation.operation is OperationType.MUTATION:
        return schema.mutation_type
    if operation.operation is OperationType.SUBSCRIPTION:
        return schema.subscription_type
    return schema.query_type


class _Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues | None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        # (selection set, runtime type, page) -> cost: a fragment spread in many places, or a
        # field under an abstract type, is costed once per runtime type.
        self.memo: dict[tuple[int, str, int | None], int] = {}

    def root(self, selection_set: SelectionSetNode, root: GraphQLObjectType) -> int:
        total = 0
        for node, _ in self._fields(selection_set, root):
            cost = self._field(node, root, None)
            total += cost if node.name.value == "__typename" else max(1, cost)
        return total

    def _fields(self, selection_set: SelectionSetNode, runtime: GraphQLObjectType) -> list[tuple[FieldNode, Any]]:
        """The field nodes of a selection set that apply to `runtime` (fragments flattened)."""
        out: list[tuple[FieldNode, Any]] = []
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                out.append((selection, runtime))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, runtime):
                    out.extend(self._fields(selection.selection_set, runtime))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and self._applies(fragment.type_condition.name.value, runtime):
                    out.extend(self._fields(fragment.selection_set, runtime))
        return out

    def _applies(self, type_name: str, runtime: GraphQLObjectType) -> bool:
        condition = self.schema.get_type(type_name)
        if condition is None:
            return False
        if is_abstract_type(condition):
            return self.schema.is_sub_type(condition, runtime)
        return condition is runtime

    def _included(self, node: Any) -> bool:
        try:
            skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
            include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        except GraphQLError:
            return True  # execution reports it; count the selection meanwhile
        return not (skip and skip.get("if") is True) and not (include and include.get("if") is False)

    def selections(self, selection_set: SelectionSetNode, parent: Any, page: int | None) -> int:
        """What a selection set costs on `parent`: on an abstract type, its most expensive type."""
        if is_object_type(parent):
            runtimes: list[GraphQLObjectType] = [parent]
        elif is_abstract_type(parent):
            runtimes = list(self.schema.get_possible_types(parent))
        else:
            return 0
        best = 0
        for runtime in runtimes:
            key = (id(selection_set), runtime.name, page)
            cost = self.memo.get(key)
            if cost is None:
                cost = sum(self._field(node, runtime, page) for node, _ in self._fields(selection_set, runtime))
                self.memo[key] = cost
            best = max(best, cost)
        return best

    def _field(self, node: FieldNode, parent: GraphQLObjectType, page: int | None) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        if name in INTROSPECTION:
            return INTROSPECTION_COST
        definition = parent.fields.get(name)
        if definition is None:  # validation refuses it; nothing to count
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named) or node.selection_set is None:
            return 0
        size = self._size(definition, node)
        if is_list_type(get_nullable_type(definition.type)):
            # A list: as long as its arguments say, else its connection's page, else LIST_SIZE.
            count = size if size is not None else page if page is not None else LIST_SIZE
            inner = None
        else:
            # One object; if it is a connection, its lists hold `size` items.
            count, inner = 1, size
        return count * (1 + self.selections(node.selection_set, named, inner))

    def _size(self, definition: Any, node: FieldNode) -> int | None:
        """How many items the field's arguments ask for, or None when they do not say."""
        arguments = definition.args
        paged = "first" in arguments or "last" in arguments
        if not paged and "ids" not in arguments:
            return None
        try:
            values = get_argument_values(definition, node, self.variables)
        except GraphQLError:  # execution refuses it; until then, the default page
            values = {}
        ids = values.get("ids")
        if isinstance(ids, list | tuple):
            return len(ids)
        if not paged:
            return None
        for argument in ("first", "last"):
            value = values.get(argument)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(0, value)
        return DEFAULT_PAGE


# -- the schema extension ----------------------------------------------------------------------


def budget_key(context: Any) -> str:
    """Whose budget per minute an operation spends: the token's tenant; a principal without one
    (the bootstrap operator) its own; an anonymous caller (or one whose token did not verify)
    its client address."""
    principal = getattr(context, "principal", None)
    if principal is not None:
        if principal.tenant_id is not None:
            return f"tenant:{principal.tenant_id}"
        return f"principal:{principal.subject}"
    request = getattr(context, "request", None)
    client = getattr(request, "client", None)
    return f"address:{client.host if client else 'unknown'}"


class QueryCost(SchemaExtension):
    """One per request (see `query_cost`): the cost check before execution, and
    `extensions.cost` on the response (every result of a subscription)."""

    def __init__(self, max_cost: int, per_minute: int) -> None:
        self.max_cost = max_cost
        self.per_minute = per_minute
        self.requested = 0
        self.remaining: int | None = None
        self.checked = False

    def _limiter(self) -> Any:
        services = getattr(self.execution_context.context, "services", None)
        return getattr(services, "limiter", None) if self.per_minute > 0 else None

    def _key(self) -> str:
        return f"graphql-cost:{budget_key(self.execution_context.context)}"

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        if document is None:  # Strawberry executes only a parsed document
            raise RuntimeError("on_execute ran without a parsed document")
        self.requested = operation_cost(ec.schema._schema, document, ec.variables, ec.operation_name)
        if self.requested > self.max_cost:
            raise GraphQLError(
                f"The operation costs {self.requested}, more than the budget of {self.max_cost} per "
                "operation: ask for smaller pages (`first`/`last`) or split it into several operations.",
                extensions={"code": QUERY_TOO_COSTLY, "cost": self.requested, "budget": self.max_cost},
            )
        limiter = self._limiter()
        if limiter is not None:
            decision = await limiter.hit(self._key(), self.per_minute, WINDOW_SECONDS, amount=self.requested)
            self.remaining = max(0, self.per_minute - decision.count)
            self.checked = True
            if not decision.allowed:
                refusal = RateLimited(
                    f"The GraphQL cost budget of {self.per_minute} per minute is spent (this operation costs "
                    f"{self.requested}). Retry after {decision.retry_after}s.",
                    retry_after=decision.retry_after,
                    limit=self.per_minute,
                    remaining=self.remaining,
                )
                response = getattr(ec.context, "response", None)
                if isinstance(response, Response):
                    response.headers["Retry-After"] = str(decision.retry_after)
                raise GraphQLError(refusal.message, original_error=refusal, extensions=refusal.extensions)
        self.checked = True
        yield

    async def get_results(self) -> dict[str, Any]:
        if not self.checked and self.remaining is None:
            # Refused before execution (parse, validation, cost): nothing spent; what is left.
            limiter = self._limiter()
            if limiter is not None:
                decision = await limiter.peek(self._key(), self.per_minute, WINDOW_SECONDS)
                self.remaining = max(0, self.per_minute - decision.count)
            self.checked = True
        return {"cost": {"requested": self.requested, "budget": self.max_cost, "remaining": self.remaining}}


def query_cost(max_cost: int, per_minute: int) -> Callable[[], QueryCost]:
    """The extension factory for `Schema(extensions=[...])`: a fresh extension per request."""

    def factory() -> QueryCost:
        return QueryCost(max_cost, per_minute)

    return factory
