"""The native graph of containers, in-process (tests/inprocess.py): the `Container` node and
`node(id:)` across tenants, the `container(id:)` lookup (null + NOT_FOUND at its path), the
`containers` connection's pages, the enums and typed inputs, mutation payloads with user errors,
the agent bindings seen from a container, and who may do what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from strawberry.relay import GlobalID

from agentdeck.context import Context
from agentdeck.schema import build_schema
from tests.inprocess import platform, tenant_member

SCHEMA = build_schema()

CREATE = """mutation($i: CreateContainerInput!) {
  createContainer(input: $i) {
    container { id databaseId name memoryLimit status expiresAfter { anchor minutes } fileIds metadata createdAt }
    userErrors { field message code }
  }
}"""


async def gql(ctx: Context, query: str, **variables: Any) -> dict[str, Any]:
    ctx.loaders.clear()
    result = await SCHEMA.execute(query, variable_values=variables, context_value=ctx)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [{"path": e.path, "message": e.message, **(e.extensions or {})} for e in result.errors]
    return out


async def create(ctx: Context, **fields: Any) -> dict[str, Any]:
    out = await gql(ctx, CREATE, i={"name": "box", **fields})
    assert "errors" not in out, out
    return out["data"]["createContainer"]


async def test_node_lookup_and_tenants(tmp_path):
    async with platform(tmp_path) as services:
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        made = (
            await create(
                a,
                name="  sandbox ",
                memoryLimit="GB_4",
                expiresAfter={"minutes": 5},
                fileIds=["file-1"],
                metadata={"k": "v"},
            )
        )["container"]
        assert made["name"] == "sandbox" and made["memoryLimit"] == "GB_4" and made["status"] == "RUNNING"
        assert made["expiresAfter"] == {"anchor": "LAST_ACTIVE_AT", "minutes": 5}
        assert made["fileIds"] == ["file-1"] and made["metadata"] == {"k": "v"}
        assert GlobalID.from_id(made["id"]).node_id == made["databaseId"]

        q = "query($id: ID!) { node(id: $id) { id ... on Container { name } } }"
        assert (await gql(a, q, id=made["id"]))["data"]["node"] == {"id": made["id"], "name": "sandbox"}
        assert (await gql(b, q, id=made["id"]))["data"]["node"] is None  # another tenant's: null

        lookup = "query($id: ID!) { container(id: $id) { name } containers { totalCount } }"
        assert (await gql(a, lookup, id=made["id"]))["data"]["container"] == {"name": "sandbox"}
        for caller, wanted in ((b, made["id"]), (a, str(GlobalID("Container", "not-a-uuid"))), (a, "garbage")):
            out = await gql(caller, lookup, id=wanted)
            assert out["data"]["container"] is None
            assert [(e["path"], e["code"]) for e in out["errors"]] == [(["container"], "NOT_FOUND")]
            assert out["data"]["containers"]["totalCount"] == (1 if caller is a else 0)  # the rest stands


async def test_connection_pages(tmp_path):
    async with platform(tmp_path, container_max_per_tenant=10) as services:
        a = await tenant_member(services, role="admin")
        names = [f"c{i}" for i in range(5)]
        for name in names:
            await create(a, name=name)
        page = "query($after: String) { containers(first: 2, after: $after) { totalCount nodes { name } pageInfo { hasNextPage hasPreviousPage endCursor } } }"
        seen, after = [], None
        while True:
            out = (await gql(a, page, after=after))["data"]["containers"]
            assert out["totalCount"] == 5
            seen += [n["name"] for n in out["nodes"]]
            assert out["pageInfo"]["hasPreviousPage"] == (after is not None)
            if not out["pageInfo"]["hasNextPage"]:
                break
            after = out["pageInfo"]["endCursor"]
        assert sorted(seen) == names and len(seen) == 5
        out = await gql(a, "{ containers(first: 101) { totalCount } }")
        assert out["errors"][0]["code"] == "INVALID_INPUT"


async def test_mutations_user_errors_and_bindings(tmp_path):
    async with platform(tmp_path, container_max_per_tenant=2) as services:
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        viewer = await tenant_member(services, role="viewer", tenant_name="Tenant V")

        bad = (await gql(a, CREATE, i={"name": "", "expiresAfter": {"minutes": 30}}))["data"]["createContainer"]
        assert bad["container"] is None
        assert bad["userErrors"] == [
            {"field": ["input", "name"], "message": "String should have at least 1 character", "code": "INVALID"}
        ]
        bad = (await gql(a, CREATE, i={"name": "x", "expiresAfter": {"minutes": 30}}))["data"]["createContainer"]
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(["input", "expiresAfter"], "INVALID")]
        out = await gql(a, CREATE, i={"name": "x", "memoryLimit": "2g"})
        assert out["data"] is None and "ContainerMemoryLimit" in out["errors"][0]["message"]  # not in the enum

        first = (await create(a, name="first"))["container"]
        second = (await create(a, name="second"))["container"]
        quota = await gql(a, CREATE, i={"name": "third"})  # over the quota: a permission error, top level
        assert quota["data"] is None and quota["errors"][0]["code"] == "FORBIDDEN"

        bind = """mutation($i: BindAgentContainerInput!) {
          bindAgentContainer(input: $i) { agentKey container { name agentKeys } userErrors { field code } }
        }"""
        done = (await gql(a, bind, i={"agentKey": "code_assistant", "containerId": first["id"]}))["data"]
        assert done["bindAgentContainer"] == {
            "agentKey": "code_assistant",
            "container": {"name": "first", "agentKeys": ["code_assistant"]},
            "userErrors": [],
        }
        for agent, container, field, code in (
            ("no_such_agent", first["id"], ["input", "agentKey"], "NOT_FOUND"),
            ("bad key!", first["id"], ["input", "agentKey"], "INVALID"),
            ("code_assistant", "garbage", ["input", "containerId"], "NOT_FOUND"),
        ):
            out = (await gql(a, bind, i={"agentKey": agent, "containerId": container}))["data"]["bindAgentContainer"]
            assert out["container"] is None and out["userErrors"] == [{"field": field, "code": code}], agent
        theirs = (await gql(b, bind, i={"agentKey": "code_assistant", "containerId": first["id"]}))["data"]
        assert theirs["bindAgentContainer"]["userErrors"] == [{"field": ["input", "containerId"], "code": "NOT_FOUND"}]

        listed = '{ containers { nodes { name agentKeys } } agentContainer(agentKey: "code_assistant") { name } }'
        out = (await gql(a, listed))["data"]
        assert {n["name"]: n["agentKeys"] for n in out["containers"]["nodes"]} == {
            "first": ["code_assistant"],
            "second": [],
        }
        assert out["agentContainer"] == {"name": "first"}

        unbind = "mutation($k: String!) { unbindAgentContainer(input: {agentKey: $k}) { agentKey userErrors { field code } } }"
        for _ in range(2):  # idempotent
            out = (await gql(a, unbind, k="code_assistant"))["data"]["unbindAgentContainer"]
            assert out == {"agentKey": "code_assistant", "userErrors": []}
        assert (await gql(a, listed))["data"]["agentContainer"] is None

        delete = "mutation($id: ID!) { deleteContainer(input: {id: $id}) { deletedId userErrors { field code } } }"
        denied = await gql(viewer, delete, id=second["id"])
        assert denied["data"] is None and denied["errors"][0]["code"] == "FORBIDDEN"
        assert (await gql(b, delete, id=second["id"]))["data"]["deleteContainer"] == {
            "deletedId": None,
            "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}],
        }
        out = (await gql(a, delete, id=second["id"]))["data"]["deleteContainer"]
        assert out == {"deletedId": second["id"], "userErrors": []}
        again = (await gql(a, delete, id=second["id"]))["data"]["deleteContainer"]
        assert again["userErrors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]
        assert (await gql(viewer, "{ containers { totalCount } }"))["data"]["containers"]["totalCount"] == 0


async def test_a_page_with_its_bindings_costs_constant_statements(tmp_path):
    async with platform(tmp_path, container_max_per_tenant=30) as services:
        a = await tenant_member(services, role="admin")
        bind = "mutation($i: BindAgentContainerInput!) { bindAgentContainer(input: $i) { userErrors { code } } }"
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = services.db.engine.sync_engine
        query = "{ containers(first: 50) { nodes { name agentKeys } } }"
        sizes = {}
        for n in (2, 20):
            while len((await gql(a, query))["data"]["containers"]["nodes"]) < n:
                made = (await create(a, name="c"))["container"]
                await gql(a, bind, i={"agentKey": "code_assistant", "containerId": made["id"]})
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            try:
                out = await gql(a, query)
            finally:
                event.remove(engine, "before_cursor_execute", count)
            assert len(out["data"]["containers"]["nodes"]) == n
            sizes[n] = len(statements)
        assert 0 < sizes[2] == sizes[20], sizes
