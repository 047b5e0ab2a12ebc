"""The native graph of stored objects, in-process (tests/inprocess.py): `StorageObject` nodes
(node(id:) round trip, another tenant's id is null), the `storageObject` lookup (null +
NOT_FOUND at its path), the `storageObjects` connection (pages, filter), `downloadUrl`, and the
mutations' payloads (user errors with input paths, permissions as top-level errors)."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry import relay

from agentdeck.domain.files import storage
from agentdeck.schema import build_schema
from tests.inprocess import platform, tenant_member

SCHEMA = build_schema()
FIELDS = "id databaseId filename mimeType sizeBytes status conversationId createdAt"
UPLOAD = """mutation($i: CreateStorageUploadInput!, $k: String) {
  createStorageUpload(input: $i, idempotencyKey: $k) {
    storageObject { id databaseId status sizeBytes filename downloadUrl { url } }
    upload { url method headers { name value } expiresAt }
    userErrors { field message code }
  } }"""
DELETE = """mutation($id: ID!) { deleteStorageObject(input: {id: $id}) {
  deletedId userErrors { field message code } } }"""


async def run(ctx, query: str, **variables: Any) -> Any:
    return await SCHEMA.execute(query, variable_values=variables, context_value=ctx)


def gid(type_name: str, key: Any) -> str:
    return str(relay.GlobalID(type_name, str(key)))


async def test_an_upload_request_returns_the_object_and_its_presigned_upload(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        out = await run(admin, UPLOAD, i={"filename": "notes.txt", "mimeType": "text/plain", "sizeBytes": 5})
        assert out.errors is None, out.errors
        payload = out.data["createStorageUpload"]
        assert payload["userErrors"] == []
        obj = payload["storageObject"]
        assert obj["status"] == "PENDING_UPLOAD" and obj["downloadUrl"] is None  # nothing to download yet
        assert obj["id"] == gid("StorageObject", obj["databaseId"])
        upload = payload["upload"]
        assert upload["method"] == "PUT" and upload["headers"] == [{"name": "Content-Type", "value": "text/plain"}]
        assert obj["databaseId"] in upload["url"] and upload["expiresAt"]

        # Once its bytes are in, the object has a download URL.
        row = await storage.get_object(admin, uuid.UUID(obj["databaseId"]))
        row.status = "available"
        async with admin.session() as s:
            await s.merge(row)
            await s.commit()
        got = await run(
            admin, "query($id: ID!) { storageObject(id: $id) { status downloadUrl { method url } } }", id=obj["id"]
        )
        assert got.data["storageObject"]["status"] == "AVAILABLE"
        assert got.data["storageObject"]["downloadUrl"]["method"] == "GET"


async def test_mistakes_in_an_upload_request_are_user_errors_at_their_input_paths(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        bad = await run(admin, UPLOAD, i={"filename": "a.txt", "mimeType": "text/plain\r\nX-Evil: 1", "sizeBytes": 1})
        assert bad.errors is None, bad.errors
        payload = bad.data["createStorageUpload"]
        assert payload["storageObject"] is None and payload["upload"] is None
        assert payload["userErrors"] == [
            {
                "field": ["input", "mimeType"],
                "message": "MIME type must not contain control characters.",
                "code": "INVALID",
            }
        ]
        empty = await run(admin, UPLOAD, i={"filename": " ", "mimeType": "text/plain", "sizeBytes": 1})
        assert empty.data["createStorageUpload"]["userErrors"][0]["field"] == ["input", "filename"]
        refused = await run(admin, UPLOAD, i={"filename": "m.mp4", "mimeType": "video/mp4", "sizeBytes": 1})
        assert refused.data["createStorageUpload"]["userErrors"] == [
            {"field": ["input", "mimeType"], "message": "MIME type is not allowed", "code": "INVALID"}
        ]
        too_big = await run(admin, UPLOAD, i={"filename": "b.bin", "mimeType": "text/plain", "sizeBytes": 2**30})
        assert too_big.data["createStorageUpload"]["userErrors"] == [
            {"field": ["input", "sizeBytes"], "message": "File size exceeds allowed limit", "code": "INVALID"}
        ]
        not_a_conversation = await run(
            admin,
            UPLOAD,
            i={"filename": "a.txt", "mimeType": "text/plain", "sizeBytes": 1, "conversationId": "nope"},
        )
        errors = not_a_conversation.data["createStorageUpload"]["userErrors"]
        assert errors[0]["field"] == ["input", "conversationId"]
        # A reused idempotency key names the argument.
        await run(admin, UPLOAD, i={"filename": "k.txt", "mimeType": "text/plain", "sizeBytes": 1}, k="key-1")
        reused = await run(admin, UPLOAD, i={"filename": "k.txt", "mimeType": "text/plain", "sizeBytes": 2}, k="key-1")
        assert reused.data["createStorageUpload"]["userErrors"][0]["field"] == ["idempotencyKey"]
        listed = await run(admin, "{ storageObjects { totalCount } }")
        assert listed.data["storageObjects"]["totalCount"] == 1  # only the keyed one was created


async def test_writing_takes_an_admin_a_top_level_forbidden(tmp_path):
    async with platform(tmp_path) as services:
        viewer = await tenant_member(services, role="viewer")
        out = await run(viewer, UPLOAD, i={"filename": "a.txt", "mimeType": "text/plain", "sizeBytes": 1})
        assert out.data is None or out.data.get("createStorageUpload") is None
        assert out.errors[0].extensions["code"] == "FORBIDDEN"
        listed = await run(viewer, "{ storageObjects { totalCount } }")  # reading takes a viewer
        assert listed.errors is None and listed.data["storageObjects"]["totalCount"] == 0


async def test_nodes_lookups_and_other_tenants(tmp_path):
    async with platform(tmp_path) as services:
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        row = await storage.store_bytes(a, "a.txt", "text/plain", b"tenant a")
        node_id = gid("StorageObject", row.id)
        query = f"""query($id: ID!) {{ node(id: $id) {{ ... on StorageObject {{ {FIELDS} }} }}
                    storageObjects {{ totalCount }} }}"""
        mine = await run(a, query, id=node_id)
        assert mine.errors is None, mine.errors
        assert mine.data["node"]["databaseId"] == str(row.id)
        assert (mine.data["node"]["status"], mine.data["node"]["sizeBytes"]) == ("AVAILABLE", 8)
        theirs = await run(b, query, id=node_id)
        assert theirs.errors is None and theirs.data["node"] is None

        lookup = "query($id: ID!) { storageObject(id: $id) { id } storageObjects { totalCount } }"
        for who, missing in ((b, node_id), (a, gid("StorageObject", uuid.uuid4())), (a, gid("VectorStore", row.id))):
            out = await run(who, lookup, id=missing)
            assert out.data["storageObject"] is None
            assert out.data["storageObjects"] is not None  # the rest of the answer stands
            assert out.errors[0].path == ["storageObject"]
            assert out.errors[0].extensions["code"] == "NOT_FOUND"


async def test_the_connection_pages_newest_first_and_filters_by_conversation(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        rows = [await storage.store_bytes(admin, f"{i}.txt", "text/plain", b"x") for i in range(5)]
        conversation = uuid.uuid4()
        rows[1].conversation_id = conversation
        async with admin.session() as s:
            await s.merge(rows[1])
            await s.commit()
        page = """query($after: String, $f: StorageObjectFilter) { storageObjects(first: 2, after: $after, filter: $f) {
                    nodes { filename conversationId } totalCount pageInfo { hasNextPage endCursor } } }"""
        seen: list[str] = []
        after = None
        while True:
            out = await run(admin, page, after=after)
            assert out.errors is None, out.errors
            conn = out.data["storageObjects"]
            assert conn["totalCount"] == 5
            seen += [n["filename"] for n in conn["nodes"]]
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        assert sorted(seen) == sorted(f"{i}.txt" for i in range(5)) and len(seen) == 5

        filtered = await run(admin, page, f={"conversationId": gid("Conversation", conversation)})
        conn = filtered.data["storageObjects"]
        assert conn["totalCount"] == 1
        assert conn["nodes"] == [{"filename": "1.txt", "conversationId": gid("Conversation", conversation)}]
        bad = await run(admin, page, f={"conversationId": gid("StorageObject", conversation)})
        assert bad.errors[0].extensions["code"] == "INVALID_INPUT"


async def test_delete_returns_the_deleted_id_and_a_second_delete_is_a_user_error(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        other = await tenant_member(services, role="admin", tenant_name="Other")
        row = await storage.store_bytes(admin, "a.txt", "text/plain", b"bytes")
        node_id = gid("StorageObject", row.id)
        foreign = await run(other, DELETE, id=node_id)
        assert foreign.data["deleteStorageObject"]["userErrors"][0]["code"] == "NOT_FOUND"
        gone = await run(admin, DELETE, id=node_id)
        assert gone.data["deleteStorageObject"] == {"deletedId": node_id, "userErrors": []}
        again = await run(admin, DELETE, id=node_id)
        assert again.data["deleteStorageObject"]["deletedId"] is None
        assert again.data["deleteStorageObject"]["userErrors"] == [
            {"field": ["input", "id"], "message": "Object not found", "code": "NOT_FOUND"}
        ]
        malformed = await run(admin, DELETE, id="not-an-id")
        assert malformed.data["deleteStorageObject"]["userErrors"][0]["field"] == ["input", "id"]
