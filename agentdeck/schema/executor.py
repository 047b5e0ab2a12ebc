"""A faster executor for plain fields (docs/performance.md).

graphql-core spends ~3.5 µs on every field: a path, a resolve-info object, the resolver call and
the value-completion dispatch. Most of our fields are plain attributes of a dataclass with a
scalar or enum type: Strawberry marks their resolver `_is_default` (it only reads the attribute).
For those, this executor reads the attribute and coerces the leaf directly; every other field
(resolvers, arguments, objects, lists, abstract types) and every null where null is not allowed
goes through graphql-core's own path, so results and errors are the same. One executor serves
`/graphql`, subscriptions (per event) and the REST layer's stored operations.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple, cast
from weakref import WeakKeyDictionary

from graphql import (
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
    OperationType,
    Undefined,
)
from graphql.execution.collect_fields import collect_fields
from graphql.execution.executor import CollectedErrors
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from agentdeck.schema.documents import ByNode

BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF  # a GraphQL field's Strawberry definition

# A plain leaf: (response name, attribute, coerce, non-null, None, None); a plain object:
# (response name, attribute, None, non-null, its field's type, the object type's Python class);
# a plain union or interface: the same with ABSTRACT for the class (the value's own class names
# its type); a plain list of plain objects: the same with a `ListOf` for the class; a
# subscription's root field, whose value is the event itself: EVENT for the attribute; a resolved
# field: (response name, None, None, False, None, None).
Step = tuple[str, str | None, Any, bool, Any, "type | ListOf | None"]
EVENT = ""  # the attribute of a subscription root field: the event (the per-event root value)


class ABSTRACT:
    """Marks a plain field of a union or interface type in a Step."""


class ListOf:
    """Marks a plain field of a list of one object type in a Step: the items' Python class, their
    GraphQL type (as the list declares it, non-null or not) and that object type."""

    __slots__ = ("item_type", "object_type", "origin")

    def __init__(self, origin: type, item_type: Any, object_type: GraphQLObjectType) -> None:
        self.origin, self.item_type, self.object_type = origin, item_type, object_type


_RESOLVE: Any = object()  # a field's result not read directly: graphql-core's path gives it


Plans = dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Step, ...] | None]
_PLANS: WeakKeyDictionary[GraphQLSchema, Plans] = WeakKeyDictionary()  # per schema: the faces coerce apart
# Plans found by the grouped field set itself (collected once per document, see
# `collect_subfields`), per operation while its document lives.
PlansBySet = dict[int, tuple[Any, GraphQLObjectType, tuple[Step, ...] | None]]
_PLANS_BY_SET: WeakKeyDictionary[GraphQLSchema, ByNode[PlansBySet]] = WeakKeyDictionary()
_MAX_PLANS = 4096
# Subfields collected for (object type, field nodes), across executions: a subscription runs its
# one document once per event, and collecting an event union's fragments was most of an event's
# cost. Kept per operation, for as long as its document lives (`ByNode`); an entry keeps its
# nodes, so that their ids cannot be reused by another document meanwhile.
Collected = dict[tuple[str, tuple[int, ...]], tuple[tuple[Any, ...], Any]]
_SUBFIELDS: WeakKeyDictionary[GraphQLSchema, ByNode[Collected]] = WeakKeyDictionary()
_CONDITIONAL = frozenset({"skip", "include", "defer"})
_CONDITIONAL_OPS: ByNode[bool] = ByNode()


def _per_operation(
    store: WeakKeyDictionary[GraphQLSchema, ByNode[dict[Any, Any]]], schema: GraphQLSchema, operation: Any
) -> dict[Any, Any]:
    """`store`'s entries for this schema's `operation`, kept while its document lives."""
    by_operation = store.get(schema)
    if by_operation is None:
        by_operation = store[schema] = ByNode()
    return by_operation.setdefault(operation, dict)


def _keep(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """`cache[key] = value`, the cache emptied first when it holds _MAX_PLANS entries."""
    if len(cache) >= _MAX_PLANS:
        cache.clear()
    cache[key] = value


def _plan(schema: GraphQLSchema, operation: Any, parent: GraphQLObjectType, grouped: Any) -> tuple[Step, ...] | None:
    """How to produce each response key of `parent`'s selection; None when no field is plain.
    Found by the grouped field set itself first (collected once per document: see
    `collect_subfields`), else by the response keys and field names it holds."""
    by_set = _per_operation(_PLANS_BY_SET, schema, operation)
    hit = by_set.get(id(grouped))
    if hit is not None and hit[0] is grouped and hit[1] is parent:
        return hit[2]
    plan = _plan_for(schema, parent, grouped)
    _keep(by_set, id(grouped), (grouped, parent, plan))  # the entry keeps the set alive: its id stays its own
    return plan


def _plan_for(schema: GraphQLSchema, parent: GraphQLObjectType, grouped: Any) -> tuple[Step, ...] | None:
    names = tuple((response, details[0].node.name.value) for response, details in grouped.items())
    key = (parent.name, names)
    plans = _PLANS.get(schema)
    if plans is None:
        plans = _PLANS[schema] = {}
    try:
        return plans[key]
    except KeyError:
        pass
    steps: list[Step] = []
    for response, field_name in names:
        field = schema.get_field(parent, field_name)
        step: Step = (response, None, None, False, None, None)
        event = field is not None and parent is schema.subscription_type and _yields_the_event(field.resolve)
        if field is not None and (event or (not field.args and getattr(field.resolve, "_is_default", False))):
            definition = (field.extensions or {}).get(BACKREF)
            attr = EVENT if event else getattr(definition, "python_name", None)
            leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            non_null = isinstance(field.type, GraphQLNonNull)
            if attr is None:
                pass
            elif isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
                step = (response, attr, leaf.coerce_output_value, non_null, None, None)
            elif isinstance(leaf, GraphQLObjectType):
                origin = getattr((leaf.extensions or {}).get(BACKREF), "origin", None)
                if isinstance(origin, type):
                    step = (response, attr, None, non_null, field.type, origin)
            elif isinstance(leaf, GraphQLUnionType | GraphQLInterfaceType):
                step = (response, attr, None, non_null, field.type, ABSTRACT)
            elif isinstance(leaf, GraphQLList):
                item_type = leaf.of_type
                item = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
                if isinstance(item, GraphQLObjectType):
                    origin = getattr((item.extensions or {}).get(BACKREF), "origin", None)
                    if isinstance(origin, type):
                        step = (response, attr, None, non_null, field.type, ListOf(origin, item_type, item))
        elif field_name == "__typename":  # the type's name: any attribute every value has, then a constant
            step = (response, "__class__", partial(_constant, parent.name), True, None, None)
        elif field is not None and field_name == "id":
            step = _global_id_step(response, parent) or step
        steps.append(step)
    plan = tuple(steps) if any(s[1] is not None for s in steps) else None
    _keep(plans, key, plan)
    return plan


def _constant(value: str, _: Any) -> str:
    return value


def _yields_the_event(resolve: Any) -> bool:
    """Strawberry's resolver of a subscription field, which returns the event it is given."""
    return getattr(resolve, "__name__", "") == "<lambda>" and resolve.__module__ == "strawberry.schema.schema_converter"


_RUNTIME_TYPES: WeakKeyDictionary[GraphQLSchema, dict[type, GraphQLObjectType]] = WeakKeyDictionary()


def _runtime_type(schema: GraphQLSchema, abstract: Any, value: Any) -> GraphQLObjectType | None:
    """The object type of `value` (by its Python class) if it is one of `abstract`'s; else None
    (graphql-core's own resolution then decides, and reports what it must)."""
    return _runtime_type_of(schema, abstract, type(value))


def _runtime_type_of(schema: GraphQLSchema, abstract: Any, cls: type) -> GraphQLObjectType | None:
    types = _RUNTIME_TYPES.get(schema)
    if types is None:
        types = _RUNTIME_TYPES[schema] = {}
        for named in schema.type_map.values():
            origin = getattr((getattr(named, "extensions", None) or {}).get(BACKREF), "origin", None)
            if isinstance(named, GraphQLObjectType) and isinstance(origin, type):
                types[origin] = named
    runtime = types.get(cls)
    return runtime if runtime is not None and schema.is_sub_type(abstract, runtime) else None


def _global_id_step(response: str, parent: GraphQLObjectType) -> Step | None:
    """A relay Node's `id` as a plain field: its NodeID attribute, encoded with the GraphQL type's
    name as Strawberry's `Node.id` does, for a type that keeps Node's own `resolve_id` and
    `resolve_typename` (anything else goes through the resolver)."""
    origin = getattr((parent.extensions or {}).get(BACKREF), "origin", None)
    if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
        return None
    inherited = getattr(origin.resolve_id, "__func__", None) is getattr(relay.Node.resolve_id, "__func__", None)
    named = getattr(origin.resolve_typename, "__func__", None) is getattr(relay.Node.resolve_typename, "__func__", None)
    if not (inherited and named):
        return None
    return (response, origin.resolve_id_attr(), partial(to_base64, parent.name), True, None, None)


# A subscription event shaped without graphql-core's per-event execution: the data of one event
# type (a Python class) of one operation is its root field's response name and, per response key
# of the event's selection, (response name, attribute, coerce, non-null, subfields, exact type),
# subfields being (class, fields) for a plain object, `_Items(class, fields)` for a list of them
# and None for a leaf (whose value is its own serialisation when of the exact type). Compiled once per (operation,
# event class); None where any field selected is not a plain attribute (graphql-core executes
# every event of that class, as before).
Fields = tuple[tuple[str, str, Any, bool, Any, type | None], ...]
EventPlan = tuple[str, Fields, Callable[[Any], dict[str, Any]]] | None
_EVENT_PLANS: WeakKeyDictionary[GraphQLSchema, ByNode[dict[type, EventPlan]]] = WeakKeyDictionary()
# A plain list's items shaped the same way, per (item type, the list field's nodes) of an operation;
# an entry keeps its nodes, so that their ids cannot be reused by another document meanwhile.
ItemShapers = dict[tuple[str, tuple[int, ...]], tuple[tuple[Any, ...], Callable[[Any], dict[str, Any]] | None]]
_ITEM_SHAPERS: WeakKeyDictionary[GraphQLSchema, ByNode[ItemShapers]] = WeakKeyDictionary()


# Scalars whose serialisation of a value of exactly this type is the value itself.
_EXACT: dict[Any, type] = {GraphQLString: str, GraphQLBoolean: bool, GraphQLInt: int}  # Int: in 32 bits


class _Items(NamedTuple):
    """In a plan's fields, the subfields of a list of plain objects: their class and fields."""

    origin: type
    fields: Fields


class _Unplanned(Exception):
    """An event's value the plan does not produce (a null where none is allowed, a value its
    type cannot coerce, an object of another class): graphql-core executes that event, and
    reports what it must exactly as it always did."""


def _shaper(fields: Fields) -> Callable[[Any], dict[str, Any]]:
    """A function that shapes a value as graphql-core completes `fields` of it, as straight-line
    code made once per plan (a loop over the fields, calling a helper per value, was the largest
    item of a streamed delta's server time, and of a page's nodes). It raises `_Unplanned` for
    anything it does not produce as graphql-core would: a missing attribute, a null where none
    is allowed, a value its type does not coerce, a plain object of another class."""
    names: dict[str, Any] = {"U": Undefined, "N": _Unplanned, "LO": GRAPHQL_MIN_INT, "HI": GRAPHQL_MAX_INT}
    lines, out = ["def shape(value):", "    try:"], []
    for i, (response, attr, coerce, non_null, sub, exact) in enumerate(fields):
        x = f"x{i}"
        lines += [
            f"        {x} = value.{attr}",
            f"        if {x} is None:",
            f"            {'raise N' if non_null else 'pass'}",
        ]
        if exact is int:  # a str of a String, a bool of a Boolean, an int of an Int: as it is
            lines.append(f"        elif type({x}) is not int or not LO <= {x} <= HI:")
        elif exact is not None:
            names[f"e{i}"] = exact
            lines.append(f"        elif type({x}) is not e{i}:")
        else:
            lines.append("        else:")
        if sub is None:
            names[f"c{i}"] = coerce
            lines += [
                f"            {x} = c{i}({x})",
                f"            if {x} is None or {x} is U:",
                "                raise N",
            ]
        elif type(sub) is _Items:  # a list whose items are all plain objects of exactly its type
            names[f"t{i}"], names[f"s{i}"] = sub.origin, _shaper(sub.fields)
            lines += [
                f"            if type({x}) is not list or any(type(v) is not t{i} for v in {x}):",
                "                raise N",
                f"            {x} = [s{i}(v) for v in {x}]",
            ]
        else:
            names[f"t{i}"], names[f"s{i}"] = sub[0], _shaper(sub[1])
            lines += [
                f"            if type({x}) is not t{i}:",
                "                raise N",
                f"            {x} = s{i}({x})",
            ]
        out.append(f"{response!r}: {x}")
    # graphql-core reports a coercion's error on its own path: here it only means "not planned".
    lines += ["    except N:", "        raise", "    except Exception:", "        raise N from None"]
    lines.append(f"    return {{{', '.join(out)}}}")
    exec("\n".join(lines), names)  # noqa: S102 - the code is made here from attribute names and indices
    return cast("Callable[[Any], dict[str, Any]]", names["shape"])


class _PlannedEvent:
    """The per-event executor of an event its plan shapes: what graphql-core's subscription loop
    calls (`execute_operation(False)`), without a copy of the subscription's executor unless the
    event turns out not to fit the plan."""

    __slots__ = ("executor", "payload", "plan")

    def __init__(
        self, executor: FastExecutor, payload: Any, plan: tuple[str, Fields, Callable[[Any], dict[str, Any]]]
    ) -> None:
        self.executor, self.payload, self.plan = executor, payload, plan

    def execute_operation(self, serially: bool | None = None) -> Any:
        if serially is False:
            try:
                return ExecutionResult({self.plan[0]: self.plan[2](self.payload)}, None)
            except _Unplanned:
                pass
        return self.executor._per_event_copy(self.payload).execute_operation(serially)


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # This execution's plans by grouped field set (a page of 50 objects completes the same
        # set 50 times): one dict lookup, before the per-operation caches and their weak
        # references. Shared with sub-executors (shallow copies), like graphql-core's own memos.
        self._plans: dict[int, tuple[Any, GraphQLObjectType, tuple[Step, ...] | None]] = {}

    def build_per_event_executor(self, payload: Any) -> Any:
        # An event its plan shapes needs no executor of its own: copying this one's attributes
        # was ~5% of a streamed delta's server time.
        if self._plannable_events():
            plan = self._event_plan(type(payload))
            if plan is not None:
                return _PlannedEvent(self, payload, plan)
        return self._per_event_copy(payload)

    def _plannable_events(self) -> bool:
        """Whether this subscription's events may be shaped by plan (see `execute_operation`)."""
        try:
            return self.__dict__["_plannable"]
        except KeyError:
            plannable = (
                self.operation.operation is OperationType.SUBSCRIPTION
                and self.abort_signal is None
                and self.hooks is None
            )
            self.__dict__["_plannable"] = plannable
            return plannable

    def _per_event_copy(self, payload: Any) -> Any:
        # graphql-core's `copy(self)` (copy's generic reduce and reconstruct) was ~5% of an
        # event; an executor has no slots, so this is the same copy.
        executor = object.__new__(type(self))
        executor.__dict__.update(self.__dict__)
        executor.root_value = payload
        executor.collected_errors = CollectedErrors()
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        """A subscription event whose selection is plain attributes is shaped by its plan (see
        `EventPlan`), as graphql-core would complete it; any other event, and any operation
        with an abort signal, hooks or field middleware, goes through graphql-core."""
        if (
            serially is False
            and self.operation.operation is OperationType.SUBSCRIPTION
            and self.abort_signal is None
            and self.hooks is None
        ):
            plan = self._event_plan(type(self.root_value))
            if plan is not None:
                try:
                    return ExecutionResult({plan[0]: plan[2](self.root_value)}, None)
                except _Unplanned:
                    pass
        return super().execute_operation(serially)

    def _event_plan(self, event_class: type) -> EventPlan:
        plans = self.__dict__.get("_event_plans")  # this operation's, found once per subscription
        if plans is not None and event_class in plans:
            return plans[event_class]
        plans = _per_operation(_EVENT_PLANS, self.schema, self.operation)
        self.__dict__["_event_plans"] = plans
        try:
            return plans[event_class]
        except KeyError:
            pass
        plan = self._compile_event_plan(event_class)
        _keep(plans, event_class, plan)
        return plan

    def _compile_event_plan(self, event_class: type) -> EventPlan:
        middleware = self.middleware_manager
        root = self.schema.subscription_type
        if (middleware is not None and middleware.middlewares) or root is None or self._conditional():
            return None
        grouped = collect_fields(
            self.schema, self.fragments, self.variable_values, root, self.operation, self.hide_suggestions
        ).grouped_field_set
        if len(grouped) != 1:
            return None
        ((response, details),) = grouped.items()
        field = self.schema.get_field(root, details[0].node.name.value)
        if field is None or not _yields_the_event(field.resolve):
            return None
        leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        runtime: GraphQLObjectType | None = None
        if isinstance(leaf, GraphQLUnionType | GraphQLInterfaceType):
            runtime = _runtime_type_of(self.schema, leaf, event_class)
        elif isinstance(leaf, GraphQLObjectType):
            origin = getattr((leaf.extensions or {}).get(BACKREF), "origin", None)
            runtime = leaf if origin is event_class else None
        if runtime is None:
            return None
        fields = self._plain_fields(runtime, details, 0)
        return None if fields is None else (response, fields, _shaper(fields))

    def _plain_fields(self, parent: GraphQLObjectType, details: Any, depth: int) -> Fields | None:
        """The plan of `parent`'s selection in `details`, if every field of it is plain."""
        if depth > 8:
            return None
        out: list[tuple[str, str, Any, bool, Any, type | None]] = []
        for response, subdetails in self.collect_subfields(parent, details).grouped_field_set.items():
            name = subdetails[0].node.name.value
            if name == "__typename":
                out.append((response, "__class__", partial(_constant, parent.name), True, None, None))
                continue
            field = self.schema.get_field(parent, name)
            if field is not None and name == "id" and not getattr(field.resolve, "_is_default", False):
                step = _global_id_step(response, parent)
                if step is None:
                    return None
                out.append((response, cast(str, step[1]), step[2], True, None, None))
                continue
            if field is None or field.args or not getattr(field.resolve, "_is_default", False):
                return None
            attr = getattr((field.extensions or {}).get(BACKREF), "python_name", None)
            non_null = isinstance(field.type, GraphQLNonNull)
            leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if attr is None:
                return None
            if isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
                out.append((response, attr, leaf.coerce_output_value, non_null, None, _EXACT.get(leaf)))
            elif isinstance(leaf, GraphQLObjectType):
                origin = getattr((leaf.extensions or {}).get(BACKREF), "origin", None)
                sub = self._plain_fields(leaf, subdetails, depth + 1) if isinstance(origin, type) else None
                if sub is None:
                    return None
                out.append((response, attr, None, non_null, (origin, sub), None))
            elif isinstance(leaf, GraphQLList) and not any(d.node.directives for d in subdetails):
                item = leaf.of_type.of_type if isinstance(leaf.of_type, GraphQLNonNull) else leaf.of_type
                origin = getattr((getattr(item, "extensions", None) or {}).get(BACKREF), "origin", None)
                if not (isinstance(item, GraphQLObjectType) and isinstance(origin, type)):
                    return None  # a list of scalars, unions or interfaces: graphql-core's path
                sub = self._plain_fields(item, subdetails, depth + 1)
                if sub is None:
                    return None
                out.append((response, attr, None, non_null, _Items(origin, sub), None))
            else:  # unions and interfaces below the event: graphql-core's path
                return None
        return tuple(out)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        hit = self._plans.get(id(grouped_field_set))
        if hit is not None and hit[0] is grouped_field_set and hit[1] is parent_type:
            plan = hit[2]
        else:
            # Strawberry always passes a MiddlewareManager, empty unless an extension resolves
            # fields: only a manager with middlewares needs every field to go through graphql-core.
            middleware = self.middleware_manager
            plan = (
                None
                if middleware is not None and middleware.middlewares
                else _plan(self.schema, self.operation, parent_type, grouped_field_set)
            )
            self._plans[id(grouped_field_set)] = (grouped_field_set, parent_type, plan)  # keeps the set alive
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        pending: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response, attr, coerce, non_null, object_field_type, origin in plan:
                result: Any = _RESOLVE
                if attr is not None:
                    value = source_value if attr is EVENT else getattr(source_value, attr, Undefined)
                    if value is None and not non_null:
                        results[response] = None
                        continue
                    if type(origin) is ListOf:
                        result = self._complete_list(
                            object_field_type,
                            origin,
                            grouped_field_set[response],
                            Path(path, response, parent_type.name),
                            value,
                            position_context,
                        )
                    elif origin is not None:
                        # A plain object of exactly its type (what `is_type_of` would check), or
                        # of a union's or interface's type named by its class: its subfields, as
                        # graphql-core completes an object, errors handled alike.
                        leaf = getattr(object_field_type, "of_type", object_field_type)
                        if origin is ABSTRACT:
                            runtime = _runtime_type(self.schema, leaf, value)
                        else:
                            runtime = leaf if type(value) is origin else None
                        if runtime is not None:
                            result = self._complete_object(
                                object_field_type,
                                runtime,
                                grouped_field_set[response],
                                Path(path, response, parent_type.name),
                                value,
                                position_context,
                            )
                    elif value is not None and value is not Undefined:
                        try:
                            coerced = coerce(value)
                        except Exception:  # noqa: BLE001 - graphql-core reports it, below
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            results[response] = coerced
                            continue
                if result is _RESOLVE:
                    # Resolved fields, and plain ones whose value graphql-core must turn into an error.
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        grouped_field_set[response],
                        Path(path, response, parent_type.name),
                        position_context,
                    )
                if result is not Undefined:
                    results[response] = result
                    if is_awaitable(result):
                        pending.append(response)
        except Exception:
            if pending:
                self.settle_in_background([results[r] for r in pending])
            raise
        if not pending:
            return results
        return self._await_fields(results, pending)

    def _complete_object(
        self, field_type: Any, object_type: GraphQLObjectType, details: Any, field_path: Path, value: Any, position: Any
    ) -> Any:
        try:
            grouped, new_defer_usages, _forbidden = self.collect_subfields(object_type, details)
            if position is None and not new_defer_usages:
                # What graphql-core's `collect_and_execute_subfields` comes to without @defer.
                completed = self.execute_fields(object_type, value, field_path, grouped, None)
            else:
                completed = self.collect_and_execute_subfields(object_type, details, field_path, value, position)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_type, details, field_path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def later() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, field_type, details, field_path)
                return None

        return later()

    def _complete_list(
        self, field_type: Any, of: ListOf, details: Any, field_path: Path, value: Any, position: Any
    ) -> Any:
        """A plain list whose items are all plain objects of exactly its item type: each item
        completed as graphql-core's `complete_iterable_value` does (an item's error handled at the
        item, then at the list), without its per-item resolve info and dispatch. Anything else (a
        value that is not a list, an item of another class or None, `@stream` or any directive on
        the field) returns _RESOLVE, for graphql-core's own path."""
        if type(value) is not list or any(d.node.directives for d in details):
            return _RESOLVE
        origin = of.origin
        for item in value:
            if type(item) is not origin:
                return _RESOLVE
        item_type, object_type = of.item_type, of.object_type
        if position is None:
            shape = self._item_shaper(object_type, details)
            if shape is not None:
                try:
                    return [shape(item) for item in value]
                except _Unplanned:
                    pass  # an item the plan does not produce: every item as below, errors and all
        complete = self._complete_object
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(value):
                done = complete(item_type, object_type, details, Path(field_path, index, None), item, position)
                if is_awaitable(done):
                    awaitable_indices.append(index)
                completed.append(done)
        except Exception as raw_error:
            if awaitable_indices:
                self.settle_in_background([completed[i] for i in awaitable_indices])
            self.handle_field_error(raw_error, field_type, details, field_path)
            return None
        if not awaitable_indices:
            return completed

        async def later() -> Any:
            try:
                if len(awaitable_indices) == 1:
                    completed[awaitable_indices[0]] = await completed[awaitable_indices[0]]
                else:
                    values = await gather_with_cancel(*(completed[i] for i in awaitable_indices))
                    for i, item_value in zip(awaitable_indices, values, strict=True):
                        completed[i] = item_value
            except Exception as raw_error:
                self.handle_field_error(raw_error, field_type, details, field_path)
                return None
            return completed

        return later()

    def _item_shaper(self, object_type: GraphQLObjectType, details: Any) -> Callable[[Any], dict[str, Any]] | None:
        """The items of a plain list as straight-line code (see `_shaper`), when every field
        selected on them, down to their plain objects, is a plain attribute: a page of 50 nodes
        was ~40% of its server time in `execute_fields`. None for any operation whose selection
        depends on variables or defers, and with field middleware, hooks or an abort signal."""
        middleware = self.middleware_manager
        if (
            (middleware is not None and middleware.middlewares)
            or self.abort_signal is not None
            or self.hooks is not None
            or self._conditional()
        ):
            return None
        nodes = tuple(detail.node for detail in details)
        key = (object_type.name, tuple(map(id, nodes)))
        cache = _per_operation(_ITEM_SHAPERS, self.schema, self.operation)
        hit = cache.get(key)
        if hit is not None:
            return hit[1]
        fields = self._plain_fields(object_type, details, 0)
        shape = None if fields is None else _shaper(fields)
        _keep(cache, key, (nodes, shape))
        return shape

    def collect_subfields(self, return_type: GraphQLObjectType, field_details_list: Any) -> Any:
        # This execution's memo first (graphql-core's own: by the list's identity, kept alive).
        local = self._relevant_sub_fields.get((return_type, id(field_details_list)))
        if local is not None:
            return local[1]
        if self._conditional():  # what @skip/@include keep depends on this execution's variables
            return super().collect_subfields(return_type, field_details_list)
        nodes = tuple(detail.node for detail in field_details_list)
        key = (return_type.name, tuple(map(id, nodes)))
        cache = _per_operation(_SUBFIELDS, self.schema, self.operation)
        hit = cache.get(key)
        if hit is not None:
            self._relevant_sub_fields[(return_type, id(field_details_list))] = (field_details_list, hit[1])
            return hit[1]
        collected = super().collect_subfields(return_type, field_details_list)
        _keep(cache, key, (nodes, collected))
        return collected

    def _conditional(self) -> bool:
        """Whether the operation's document uses a directive that makes field collection depend
        on variables (decided once per operation node, while its document lives)."""
        hit = _CONDITIONAL_OPS.get(self.operation)
        if hit is not None:
            return hit
        found = any(
            directive.name.value in _CONDITIONAL
            for definition in (self.operation, *(f.definition for f in self.fragments.values()))
            for directive in _directives(definition)
        )
        _CONDITIONAL_OPS.put(self.operation, found)
        return found

    async def _await_fields(self, results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
        # Like graphql-core: one awaitable is awaited in place, several concurrently.
        if len(pending) == 1:
            results[pending[0]] = await results[pending[0]]
        else:
            values = await gather_with_cancel(*(results[r] for r in pending))
            results.update(zip(pending, values, strict=True))
        return results


def _directives(node: Any) -> Any:
    """Every directive used in a definition's selections (and on the definition itself)."""
    yield from getattr(node, "directives", None) or ()
    selection_set = getattr(node, "selection_set", None)
    for selection in selection_set.selections if selection_set else ():
        yield from _directives(selection)
