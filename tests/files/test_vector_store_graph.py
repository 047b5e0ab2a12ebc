"""The native graph of vector stores, in-process (tests/inprocess.py): `VectorStore` and
`VectorStoreFile` nodes (node(id:) round trip, another tenant's id is null), the `vectorStore`
lookup (null + NOT_FOUND at its path), the connections (pages, the file status filter), nested
fields through DataLoaders (a constant number of SQL statements), `searchVectorStore` as a query,
and the mutations' payloads (user errors at input paths, permissions as top-level errors)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from strawberry import relay

from agentdeck.domain.files import vector_stores as vs
from agentdeck.domain.files.storage import UploadRequest, create_upload, store_bytes
from agentdeck.schema import build_schema
from tests.inprocess import platform, tenant_member

SCHEMA = build_schema()
TEXTS = {
    "bread.txt": "Sourdough bread rises slowly. Feed the sourdough starter with flour; sourdough loves warmth.",
    "ops.txt": "Kubernetes pods restart on failure. The canteen once served sourdough toast.",
    "db.txt": "Indexes make database queries fast; vacuum reclaims dead rows.",
}
TOPICS = {"bread.txt": "baking", "ops.txt": "ops", "db.txt": "ops"}
CREATE = """mutation($i: CreateVectorStoreInput!) { createVectorStore(input: $i) {
  vectorStore { id name status expiresAfter { anchor days } fileCounts { total } }
  userErrors { field message code } } }"""
UPLOAD = """mutation($i: UploadVectorStoreFileInput!) { uploadVectorStoreFile(input: $i) {
  vectorStoreFile { id fileId status lastError chunkingStrategy { type } }
  userErrors { field message code } } }"""
SEARCH = """query($id: ID!, $q: String!, $first: Int, $f: VectorStoreSearchFilter) {
  searchVectorStore(id: $id, query: $q, first: $first, filter: $f) {
    totalCount pageInfo { hasNextPage } nodes { score text file { filename } } } }"""


async def run(ctx, query: str, **variables: Any) -> Any:
    return await SCHEMA.execute(query, variable_values=variables, context_value=ctx)


def gid(type_name: str, key: Any) -> str:
    return str(relay.GlobalID(type_name, str(key)))


async def _store_with_files(ctx, name: str = "kb"):
    store = await vs.create_store(ctx, name, None, None, None)
    files = {}
    for filename, body in TEXTS.items():
        obj = await store_bytes(ctx, filename, "text/plain", body.encode())
        files[filename] = await vs.attach_object(ctx, store.id, obj, {"topic": TOPICS[filename]}, None, poll=True)
    return store, files


@contextmanager
def statements(services) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_nodes_and_lookups_and_another_tenants_ids(tmp_path):
    async with platform(tmp_path) as services:
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        store, files = await _store_with_files(a)
        store_id, file_id = gid("VectorStore", store.id), gid("VectorStoreFile", files["bread.txt"].id)
        query = """query($s: ID!, $f: ID!) {
          store: node(id: $s) { id ... on VectorStore { databaseId name status chunkCount } }
          file: node(id: $f) { ... on VectorStoreFile { fileId filename status vectorStore { id } } } }"""
        mine = await run(a, query, s=store_id, f=file_id)
        assert mine.errors is None, mine.errors
        assert mine.data["store"] == {
            "id": store_id,
            "databaseId": str(store.id),
            "name": "kb",
            "status": "COMPLETED",
            "chunkCount": 3,
        }
        assert mine.data["file"] == {
            "fileId": files["bread.txt"].openai_file_id,
            "filename": "bread.txt",
            "status": "COMPLETED",
            "vectorStore": {"id": store_id},
        }
        theirs = await run(b, query, s=store_id, f=file_id)
        assert theirs.errors is None and theirs.data == {"store": None, "file": None}

        lookup = "query($id: ID!) { vectorStore(id: $id) { id } vectorStores { totalCount } }"
        for who, missing in ((b, store_id), (a, gid("VectorStore", uuid.uuid4())), (a, file_id), (a, "garbage")):
            out = await run(who, lookup, id=missing)
            assert out.data["vectorStore"] is None and out.data["vectorStores"] is not None
            assert out.errors[0].path == ["vectorStore"] and out.errors[0].extensions["code"] == "NOT_FOUND"


async def test_connections_page_and_filter_files_by_status(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        store, _ = await _store_with_files(admin)
        broken = await store_bytes(admin, "broken.pdf", "application/pdf", b"this is not a pdf")
        await vs.attach_object(admin, store.id, broken, None, None, poll=True)
        for i in range(3):
            await vs.create_store(admin, f"more-{i}", None, None, None)

        stores = await run(admin, "{ vectorStores(first: 3) { totalCount pageInfo { hasNextPage endCursor } } }")
        page = stores.data["vectorStores"]
        assert page["totalCount"] == 4 and page["pageInfo"]["hasNextPage"]
        rest = await run(
            admin,
            "query($a: String) { vectorStores(first: 3, after: $a) { nodes { name } pageInfo { hasNextPage } } }",
            a=page["pageInfo"]["endCursor"],
        )
        assert len(rest.data["vectorStores"]["nodes"]) == 1 and not rest.data["vectorStores"]["pageInfo"]["hasNextPage"]

        files = """query($id: ID!, $status: VectorStoreFileStatus) { vectorStore(id: $id) {
          fileCounts { inProgress completed failed cancelled total }
          files(first: 2, filter: {status: $status}) { totalCount nodes { filename status lastError } } } }"""
        out = await run(admin, files, id=gid("VectorStore", store.id))
        got = out.data["vectorStore"]
        assert got["fileCounts"] == {"inProgress": 0, "completed": 3, "failed": 1, "cancelled": 0, "total": 4}
        assert got["files"]["totalCount"] == 4 and len(got["files"]["nodes"]) == 2
        failed = await run(admin, files, id=gid("VectorStore", store.id), status="FAILED")
        (node,) = failed.data["vectorStore"]["files"]["nodes"]
        assert node["filename"] == "broken.pdf" and node["status"] == "FAILED" and node["lastError"]
        bad = await run(admin, files, id=gid("VectorStore", store.id), status="DONE")
        assert bad.errors and bad.data is None  # not a member of the enum: refused before it runs


async def test_nested_fields_cost_a_constant_number_of_statements(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        query = """{ vectorStores(first: 50) { nodes { name fileCounts { total } } } }"""
        files_query = """query($id: ID!) { vectorStore(id: $id) { files(first: 50) {
          nodes { filename vectorStore { name } storageObject { filename } } } } }"""

        async def cost(q: str, **variables: Any) -> int:
            with statements(services) as seen:
                out = await run(admin, q, **variables)
            assert out.errors is None, out.errors
            return len(seen)

        store, _ = await _store_with_files(admin, "first")
        one = await cost(query), await cost(files_query, id=gid("VectorStore", store.id))
        for i in range(4):
            await _store_with_files(admin, f"kb-{i}")
        more_files = await store_bytes(admin, "extra.txt", "text/plain", b"extra words")
        await vs.attach_object(admin, store.id, more_files, None, None, poll=True)
        many = await cost(query), await cost(files_query, id=gid("VectorStore", store.id))
        assert many == one


async def test_search_is_a_query_with_a_typed_filter(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        viewer = await tenant_member(services, role="viewer")
        store, _ = await _store_with_files(admin)
        store_id = gid("VectorStore", store.id)

        out = await run(admin, SEARCH, id=store_id, q="sourdough")
        assert out.errors is None, out.errors
        found = out.data["searchVectorStore"]
        assert [n["file"]["filename"] for n in found["nodes"]] == ["bread.txt", "ops.txt"]
        assert found["totalCount"] == 2 and not found["pageInfo"]["hasNextPage"]
        scores = [n["score"] for n in found["nodes"]]
        assert 1 > scores[0] > scores[1] > 0

        top = await run(admin, SEARCH, id=store_id, q="sourdough", first=1)
        assert [n["file"]["filename"] for n in top.data["searchVectorStore"]["nodes"]] == ["bread.txt"]
        ops = {"attributes": {"comparison": {"key": "topic", "operator": "EQ", "value": "ops"}}}
        filtered = await run(admin, SEARCH, id=store_id, q="sourdough vacuum", f=ops)
        assert {n["file"]["filename"] for n in filtered.data["searchVectorStore"]["nodes"]} == {"ops.txt", "db.txt"}
        either = {
            "attributes": {
                "any": [
                    {"comparison": {"key": "topic", "operator": "EQ", "value": "baking"}},
                    {"comparison": {"key": "topic", "operator": "IN", "value": ["nothing"]}},
                ]
            },
            "minScore": scores[0],
        }
        best = await run(admin, SEARCH, id=store_id, q="sourdough", f=either)
        assert [n["score"] for n in best.data["searchVectorStore"]["nodes"]] == [scores[0]]

        # Bounds and a missing store: top-level errors (a query has no payload).
        too_many = await run(admin, SEARCH, id=store_id, q="sourdough", first=51)
        assert too_many.errors[0].extensions["code"] == "INVALID_INPUT"
        assert too_many.data["searchVectorStore"] is None
        blank = await run(admin, SEARCH, id=store_id, q="  ")
        assert blank.errors[0].extensions["code"] == "INVALID_INPUT"
        gone = await run(admin, SEARCH, id=gid("VectorStore", uuid.uuid4()), q="sourdough")
        assert gone.data["searchVectorStore"] is None
        assert gone.errors[0].extensions["code"] == "NOT_FOUND" and gone.errors[0].path == ["searchVectorStore"]
        # Searching reads: a viewer may (here: a viewer of another tenant, who finds nothing).
        assert (await run(viewer, SEARCH, id=store_id, q="sourdough")).errors[0].extensions["code"] == "NOT_FOUND"


async def test_mutations_answer_user_errors_at_input_paths(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        viewer = await tenant_member(services, role="viewer")
        created = await run(admin, CREATE, i={"name": " kb ", "expiresAfterDays": 30})
        assert created.errors is None, created.errors
        payload = created.data["createVectorStore"]
        assert payload["userErrors"] == []
        assert payload["vectorStore"]["name"] == "kb" and payload["vectorStore"]["status"] == "COMPLETED"
        assert payload["vectorStore"]["expiresAfter"] == {"anchor": "LAST_ACTIVE_AT", "days": 30}
        assert payload["vectorStore"]["fileCounts"] == {"total": 0}
        store_id = payload["vectorStore"]["id"]

        def errors(out: Any, field: str) -> list[dict]:
            assert out.errors is None, out.errors
            assert next(v for k, v in out.data[field].items() if k != "userErrors") is None
            return out.data[field]["userErrors"]

        assert errors(await run(admin, CREATE, i={"name": "kb"}), "createVectorStore") == [
            {"field": None, "message": "A vector store named 'kb' already exists.", "code": "CONFLICT"}
        ]
        (blank,) = errors(await run(admin, CREATE, i={"name": "   "}), "createVectorStore")
        assert (blank["field"], blank["code"]) == (["input", "name"], "INVALID")
        (expiry,) = errors(await run(admin, CREATE, i={"name": "x", "expiresAfterDays": 400}), "createVectorStore")
        assert expiry["field"] == ["input", "expiresAfterDays"]

        obj = await store_bytes(admin, "a.txt", "text/plain", b"some words to index")
        upload = {"vectorStoreId": store_id, "storageObjectId": gid("StorageObject", obj.id)}
        (chunking,) = errors(
            await run(admin, UPLOAD, i={**upload, "chunking": {"maxChunkSizeTokens": 200, "chunkOverlapTokens": 150}}),
            "uploadVectorStoreFile",
        )
        assert chunking["field"] == ["input", "chunking"]
        (no_store,) = errors(
            await run(admin, UPLOAD, i={**upload, "vectorStoreId": gid("StorageObject", obj.id)}),
            "uploadVectorStoreFile",
        )
        assert (no_store["field"], no_store["code"]) == (["input", "vectorStoreId"], "NOT_FOUND")
        (no_object,) = errors(
            await run(admin, UPLOAD, i={**upload, "storageObjectId": gid("StorageObject", uuid.uuid4())}),
            "uploadVectorStoreFile",
        )
        assert (no_object["field"], no_object["code"]) == (["input", "storageObjectId"], "NOT_FOUND")
        (no_agent,) = errors(
            await run(admin, UPLOAD, i={**upload, "agentKey": "no_such_agent"}), "uploadVectorStoreFile"
        )
        assert (no_agent["field"], no_agent["code"]) == (["input", "agentKey"], "NOT_FOUND")
        pending = (await create_upload(admin, UploadRequest("later.txt", "text/plain", 4))).row
        (not_yet,) = errors(
            await run(admin, UPLOAD, i={**upload, "storageObjectId": gid("StorageObject", pending.id)}),
            "uploadVectorStoreFile",
        )
        assert not_yet == {
            "field": ["input", "storageObjectId"],
            "message": "Object has not been uploaded yet.",
            "code": "INVALID",
        }

        done = await run(admin, UPLOAD, i=upload)
        file = done.data["uploadVectorStoreFile"]["vectorStoreFile"]
        assert (file["status"], file["chunkingStrategy"]) == ("COMPLETED", {"type": "AUTO"})
        (twice,) = errors(await run(admin, UPLOAD, i=upload), "uploadVectorStoreFile")
        assert twice["code"] == "CONFLICT"
        attach = """mutation($i: AttachVectorStoreFileInput!) { attachVectorStoreFile(input: $i) {
          vectorStoreFile { id } userErrors { field message code } } }"""
        (unknown,) = errors(
            await run(admin, attach, i={"vectorStoreId": store_id, "fileId": "file-nope"}), "attachVectorStoreFile"
        )
        assert (unknown["field"], unknown["code"]) == (["input", "fileId"], "NOT_FOUND")

        # Writing takes an admin: a top-level FORBIDDEN, no payload.
        refused = await run(viewer, CREATE, i={"name": "mine"})
        assert refused.errors[0].extensions["code"] == "FORBIDDEN"

        delete_file = """mutation($id: ID!) { deleteVectorStoreFile(input: {id: $id}) {
          deletedId userErrors { field code } } }"""
        assert (await run(admin, delete_file, id=file["id"])).data["deleteVectorStoreFile"] == {
            "deletedId": file["id"],
            "userErrors": [],
        }
        assert (await run(admin, delete_file, id=file["id"])).data["deleteVectorStoreFile"] == {
            "deletedId": None,
            "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}],
        }
        delete_store = """mutation($id: ID!) { deleteVectorStore(input: {id: $id}) {
          deletedId userErrors { field code } } }"""
        assert (await run(admin, delete_store, id=store_id)).data["deleteVectorStore"]["deletedId"] == store_id
        again = (await run(admin, delete_store, id=store_id)).data["deleteVectorStore"]
        assert again == {"deletedId": None, "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}]}
