"""Stored objects: presigned upload and download through the local provider (served by agentdeck)
and through S3 (moto's server), limits, signatures, tenancy, and the GraphQL twins."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, unquote, urlencode, urlparse

import httpx
import pytest

from tests.harness import assert_documented, start_server
from tests.users import register

UPLOAD = "/api/v1/storage/objects/upload-url"
LIST = "/api/v1/storage/objects"
DOWNLOAD = "/api/v1/storage/objects/{object_id}/download-url"
DELETE = "/api/v1/storage/objects/{object_id}"
DATA = b"hello, stored world\n" * 10


def sqlite_server(tmp, env):
    return start_server(tmp, env=env, database_url=f"sqlite+aiosqlite:///{tmp / 'agentdeck.db'}")


@pytest.fixture
def owner(server):
    return register(server, verified=True)


def presign(server, token, body=None, **kw):
    body = body or {"filename": "notes.txt", "mime_type": "text/plain", "size_bytes": len(DATA)}
    r = server.rest("POST", UPLOAD, token=token, json={**body, **kw})
    if r.status_code == 201:
        assert_documented("POST", UPLOAD, r)
    return r


def put(presigned: dict, data: bytes = DATA, headers: dict | None = None) -> httpx.Response:
    h = {**presigned["headers"], **(headers or {})}
    return httpx.put(presigned["upload_url"], content=data, headers=h, timeout=10)


def upload(server, token, data: bytes = DATA, filename: str = "notes.txt", mime: str = "text/plain") -> dict:
    r = presign(server, token, {"filename": filename, "mime_type": mime, "size_bytes": len(data)})
    assert r.status_code == 201, r.text
    assert put(r.json(), data).status_code == 200
    return r.json()


def download(server, token, object_id) -> httpx.Response:
    r = server.rest("GET", DOWNLOAD.format(object_id=object_id), token=token)
    if r.status_code in (200, 404, 409):
        assert_documented("GET", DOWNLOAD, r)
    return r


def test_local_roundtrip_list_and_delete(server, owner):
    r = presign(server, owner.access_token, conversation_id=str(uuid.uuid4()), metadata={"a": 1})
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["method"] == "PUT" and up["headers"] == {"Content-Type": "text/plain"}
    assert up["object_key"] == f"{owner.tenant_id}/{up['object_id']}/notes.txt"
    assert up["bucket"] == f"agent-data-{uuid.UUID(owner.tenant_id).hex}"
    assert up["expires_in_seconds"] == 900

    listed = server.rest("GET", LIST, token=owner.access_token)
    assert_documented("GET", LIST, listed)
    assert listed.json()["items"][0]["status"] == "pending_upload"
    assert download(server, owner.access_token, up["object_id"]).status_code == 409

    assert put(up).status_code == 200
    assert put(up).status_code == 409  # one upload per URL
    item = server.rest("GET", LIST, token=owner.access_token).json()["items"][0]
    assert item["status"] == "available" and item["size_bytes"] == len(DATA)

    d = download(server, owner.access_token, up["object_id"])
    assert d.status_code == 200 and d.json()["method"] == "GET"
    got = httpx.get(d.json()["download_url"])
    assert got.status_code == 200 and got.content == DATA
    assert got.headers["content-type"].startswith("text/plain")

    r = server.rest("DELETE", DELETE.format(object_id=up["object_id"]), token=owner.access_token)
    assert r.status_code == 204 and r.content == b""
    assert_documented("DELETE", DELETE, r)
    assert download(server, owner.access_token, up["object_id"]).status_code == 404
    assert httpx.get(d.json()["download_url"]).status_code == 404
    r = server.rest("DELETE", DELETE.format(object_id=up["object_id"]), token=owner.access_token)
    assert r.status_code == 404


def test_list_paging_and_conversation_filter(server):
    owner = register(server, verified=True)
    conv = str(uuid.uuid4())
    for i in range(3):
        presign(server, owner.access_token, filename=f"f{i}.txt", conversation_id=conv if i else None)
    page = server.rest("GET", LIST, token=owner.access_token, params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_offset"] == 2
    rest = server.rest("GET", LIST, token=owner.access_token, params={"limit": 2, "offset": 2}).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    only = server.rest("GET", LIST, token=owner.access_token, params={"conversation_id": conv}).json()
    assert {i["filename"] for i in only["items"]} == {"f1.txt", "f2.txt"}
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"conversation_id": "nope"}):
        r = server.rest("GET", LIST, token=owner.access_token, params=params)
        assert r.status_code == 422, (params, r.text)
        assert_documented("GET", LIST, r)


def test_tampered_expired_and_wrong_method_urls_are_refused(server, owner):
    up = presign(server, owner.access_token).json()
    url = urlparse(up["upload_url"])
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    base = f"{url.scheme}://{url.netloc}{url.path}"
    bad_sig = {**q, "signature": ("0" if q["signature"][0] != "0" else "1") + q["signature"][1:]}
    later = {**q, "expires": str(int(q["expires"]) + 3600)}
    past = {**q, "expires": str(int(time.time()) - 10)}
    for params in (bad_sig, later, past, {}):
        r = httpx.put(f"{base}?{urlencode(params)}", content=DATA, headers=up["headers"])
        assert r.status_code == 403, r.text
        assert r.json()["success"] is False
    # A download signature is not an upload signature, and the reverse.
    assert put(up).status_code == 200
    d = download(server, owner.access_token, up["object_id"]).json()
    dq = parse_qs(urlparse(d["download_url"]).query)
    assert (
        httpx.put(
            f"{base}?{urlencode({k: v[0] for k, v in dq.items()})}", content=DATA, headers=up["headers"]
        ).status_code
        == 403
    )
    assert httpx.get(up["upload_url"]).status_code == 403


def test_expired_url_with_a_short_ttl(tmp_path):
    srv = sqlite_server(tmp_path, {"AGENTDECK_STORAGE_SIGNED_URL_TTL_SECONDS": "1"})
    try:
        owner = register(srv, verified=True)
        up = presign(srv, owner.access_token).json()
        assert up["expires_in_seconds"] == 1
        time.sleep(2.1)
        r = put(up)
        assert r.status_code == 403 and "expired" in r.json()["message"]
    finally:
        srv.stop()


def test_size_and_mime_limits(server, owner):
    r = presign(server, owner.access_token, size_bytes=512 * 1024 * 1024 + 1)
    assert r.status_code == 400 and r.json()["message"] == "File size exceeds allowed limit"
    assert_documented("POST", UPLOAD, r)
    r = presign(server, owner.access_token, mime_type="application/x-msdownload")
    assert r.status_code == 400 and r.json()["message"] == "MIME type is not allowed"
    # The upload itself must match what was signed: no more bytes, the same type.
    up = presign(server, owner.access_token).json()
    r = put(up, DATA + b"x")
    assert r.status_code == 413, r.text
    r = put(up, DATA, headers={"Content-Type": "application/pdf"})
    assert r.status_code == 400 and "Content-Type" in r.json()["message"]
    assert put(up).status_code == 200


def test_bigger_than_the_json_body_limit_uploads(server, owner):
    data = bytes(range(256)) * (5 * 4096)  # 5 MiB > AGENTDECK_MAX_BODY_BYTES
    up = upload(server, owner.access_token, data, "blob.bin", "application/octet-stream")
    d = download(server, owner.access_token, up["object_id"]).json()
    assert httpx.get(d["download_url"]).content == data


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"filename": "a.txt", "mime_type": "text/plain"}, ["body", "size_bytes"]),
        ({"filename": "a.txt", "mime_type": "text/plain", "size_bytes": -1}, ["body", "size_bytes"]),
        ({"filename": "x" * 257, "mime_type": "text/plain", "size_bytes": 1}, ["body", "filename"]),
        ({"filename": "a.txt", "mime_type": "text/plain", "size_bytes": 1, "colour": 1}, ["body", "colour"]),
        (
            {"filename": "a.txt", "mime_type": "text/plain", "size_bytes": 1, "conversation_id": "x"},
            ["body", "conversation_id"],
        ),
        # Values that end up in response headers (Content-Type, Content-Disposition).
        ({"filename": "a.txt", "mime_type": "text/plain\r\nX-Injected: 1", "size_bytes": 1}, ["body", "mime_type"]),
        ({"filename": "a.txt", "mime_type": "text/plain\x00", "size_bytes": 1}, ["body", "mime_type"]),
        ({"filename": "a.txt", "mime_type": "text/pl\u00e4in", "size_bytes": 1}, ["body", "mime_type"]),
        ({"filename": "a.txt", "mime_type": 'text/plain; charset="\u2713"', "size_bytes": 1}, ["body", "mime_type"]),
        ({"filename": "a.txt", "mime_type": "text", "size_bytes": 1}, ["body", "mime_type"]),
        ({"filename": "a\r\nX-Injected: 1.txt", "mime_type": "text/plain", "size_bytes": 1}, ["body", "filename"]),
        ({"filename": "a\x00.txt", "mime_type": "text/plain", "size_bytes": 1}, ["body", "filename"]),
        ({"filename": "a\u2028b.txt", "mime_type": "text/plain", "size_bytes": 1}, ["body", "filename"]),
    ],
)
def test_invalid_input_is_422(server, owner, body, loc):
    r = server.rest("POST", UPLOAD, token=owner.access_token, json=body)
    assert r.status_code == 422, r.text
    assert_documented("POST", UPLOAD, r)
    assert any(d["loc"] == loc for d in r.json()["details"]), r.json()["details"]
    assert server.rest("GET", LIST, token=owner.access_token).json()["items"] == []  # nothing stored


def test_header_values_with_control_characters_are_a_graphql_user_error(server, owner):
    out = server.gql(
        "mutation($i: CreateStorageUploadInput!) { createStorageUpload(input: $i) "
        "{ storageObject { id } userErrors { field message code } } }",
        {"i": {"filename": "a.txt", "mimeType": "text/plain\r\nX-Injected: 1", "sizeBytes": 1}},
        token=owner.access_token,
    )
    payload = out["data"]["createStorageUpload"]
    assert payload["storageObject"] is None
    (error,) = payload["userErrors"]
    assert (error["field"], error["code"]) == (["input", "mimeType"], "INVALID")
    assert "control characters" in error["message"]


def test_download_names_the_file_per_rfc_6266(server, owner):
    name = 'r\u00e9sum\u00e9 "final" \\ 100%.txt'
    up = upload(server, owner.access_token, filename=name)
    got = httpx.get(download(server, owner.access_token, up["object_id"]).json()["download_url"])
    assert got.status_code == 200 and got.content == DATA
    disposition = got.headers["content-disposition"]
    assert disposition == (
        'attachment; filename="resume final  100.txt"; '
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%20%5C%20100%25.txt"
    )
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == name  # the exact name, for modern clients
    # The tenant's bytes never run as our page, and the type is not guessed.
    assert "sandbox" in got.headers["content-security-policy"]
    assert got.headers["x-content-type-options"] == "nosniff"


def test_a_stored_type_that_cannot_be_a_header_is_served_as_opaque_bytes(server, owner):
    """Rows written before types were checked must not break (or forge) the download's headers."""
    up = upload(server, owner.access_token)
    _set_stored_mime_type(server, up["object_id"], "text/plain\r\nX-Injected: 1")
    got = httpx.get(download(server, owner.access_token, up["object_id"]).json()["download_url"])
    assert got.status_code == 200 and got.content == DATA
    assert got.headers["content-type"] == "application/octet-stream" and "x-injected" not in got.headers


def _set_stored_mime_type(server, object_id: str, mime: str) -> None:
    import asyncio

    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import create_async_engine

    from agentdeck.db.models import StorageObject

    async def run() -> None:
        engine = create_async_engine(server.env["AGENTDECK_DATABASE_URL"])
        async with engine.begin() as conn:
            await conn.execute(
                update(StorageObject).where(StorageObject.id == uuid.UUID(object_id)).values(mime_type=mime)
            )
        await engine.dispose()

    asyncio.run(run())


def test_signed_urls_come_from_public_url_never_from_the_host_header(server, owner):
    spoofed = {"Host": "attacker.example:8443", "X-Forwarded-Host": "attacker.example"}
    r = server.rest(
        "POST",
        UPLOAD,
        token=owner.access_token,
        headers=spoofed,
        json={"filename": "a.txt", "mime_type": "text/plain", "size_bytes": len(DATA)},
    )
    assert r.status_code == 201, r.text
    assert r.json()["upload_url"].startswith(server.env["AGENTDECK_PUBLIC_URL"] + "/storage/blobs/")
    assert put(r.json()).status_code == 200
    d = server.rest("GET", DOWNLOAD.format(object_id=r.json()["object_id"]), token=owner.access_token, headers=spoofed)
    assert d.json()["download_url"].startswith(server.env["AGENTDECK_PUBLIC_URL"] + "/storage/blobs/")
    assert "attacker" not in d.text and "attacker" not in r.text


def test_without_public_url_the_default_is_used_not_the_host(tmp_path):
    srv = sqlite_server(tmp_path, {"AGENTDECK_PUBLIC_URL": None})  # the embedded default applies
    try:
        owner = register(srv, verified=True)
        r = srv.rest(
            "POST",
            UPLOAD,
            token=owner.access_token,
            headers={"Host": "attacker.example"},
            json={"filename": "a.txt", "mime_type": "text/plain", "size_bytes": 1},
        )
        assert r.status_code == 201, r.text
        assert r.json()["upload_url"].startswith("http://127.0.0.1:8000/storage/blobs/")
    finally:
        srv.stop()


def test_other_tenants_objects_are_not_found_and_viewers_cannot_write(server, owner):
    up = upload(server, owner.access_token)
    other = register(server, verified=True)
    assert download(server, other.access_token, up["object_id"]).status_code == 404
    r = server.rest("DELETE", DELETE.format(object_id=up["object_id"]), token=other.access_token)
    assert r.status_code == 404
    assert server.rest("GET", LIST, token=other.access_token).json()["items"] == []
    viewer = {"X-Tenant-Role": "viewer"}
    r = server.rest(
        "POST",
        UPLOAD,
        token=owner.access_token,
        headers=viewer,
        json={"filename": "a.txt", "mime_type": "text/plain", "size_bytes": 1},
    )
    assert r.status_code == 403
    r = server.rest("DELETE", DELETE.format(object_id=up["object_id"]), token=owner.access_token, headers=viewer)
    assert r.status_code == 403
    assert download(server, owner.access_token, up["object_id"]).status_code == 200
    assert server.rest("GET", LIST, token=None).status_code == 401


def test_graphql_upload_list_download_and_delete(server, owner):
    created = server.gql(
        """mutation($i: CreateStorageUploadInput!) { createStorageUpload(input: $i) {
             storageObject { id databaseId status } upload { url method headers { name value } expiresAt }
             userErrors { message } } }""",
        {"i": {"filename": "g.md", "mimeType": "text/markdown", "sizeBytes": len(DATA)}},
        token=owner.access_token,
    )["data"]["createStorageUpload"]
    assert created["userErrors"] == [] and created["storageObject"]["status"] == "PENDING_UPLOAD"
    upload = created["upload"]
    headers = {h["name"]: h["value"] for h in upload["headers"]}
    assert upload["method"] == "PUT"
    assert put({"upload_url": upload["url"], "headers": headers}).status_code == 200
    oid = created["storageObject"]["id"]
    listed = server.gql(
        "{ storageObjects(first: 5) { totalCount nodes { id status downloadUrl { url method } } } }",
        token=owner.access_token,
    )["data"]["storageObjects"]
    (mine,) = [n for n in listed["nodes"] if n["id"] == oid]
    assert mine["status"] == "AVAILABLE" and mine["downloadUrl"]["method"] == "GET"
    assert httpx.get(mine["downloadUrl"]["url"]).content == DATA
    # The REST layer names the object by its databaseId.
    rest = download(server, owner.access_token, created["storageObject"]["databaseId"])
    assert rest.status_code == 200
    gone = server.gql(
        "mutation($id: ID!) { deleteStorageObject(input: {id: $id}) { deletedId userErrors { code } } }",
        {"id": oid},
        token=owner.access_token,
    )
    assert gone["data"]["deleteStorageObject"] == {"deletedId": oid, "userErrors": []}
    missing = server.gql(
        "query($id: ID!) { storageObject(id: $id) { downloadUrl { url } } }", {"id": oid}, token=owner.access_token
    )
    assert missing["data"]["storageObject"] is None
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND" and missing["errors"][0]["path"] == [
        "storageObject"
    ]


def test_storage_health_reports_the_local_provider(server):
    r = server.rest("GET", "/health/storage")
    assert r.status_code == 200 and r.json()["status"] == "healthy"


# S3 through a local S3-compatible server (moto): real presigned URLs, PUT to and GET from. -----


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import boto3

    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket="agentdeck-test")
    srv = sqlite_server(
        tmp_path_factory.mktemp("s3"),
        {
            "AGENTDECK_STORAGE_URL": "s3://agentdeck-test",
            "AGENTDECK_STORAGE_S3_ENDPOINT_URL": endpoint,
            "AGENTDECK_STORAGE_S3_ACCESS_KEY_ID": "test",
            "AGENTDECK_STORAGE_S3_SECRET_ACCESS_KEY": "test",
        },
    )
    yield srv, endpoint
    srv.stop()
    moto.stop()


def test_s3_presigned_roundtrip(s3_server):
    srv, endpoint = s3_server
    assert srv.rest("GET", "/health/storage").json()["status"] == "healthy"
    owner = register(srv, verified=True)
    r = presign(srv, owner.access_token)
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["upload_url"].startswith(endpoint) and "X-Amz-Signature" in up["upload_url"]
    assert up["bucket"] == "agentdeck-test"
    item = srv.rest("GET", LIST, token=owner.access_token).json()["items"][0]
    assert item["status"] == "pending_upload"

    assert put(up).status_code == 200
    item = srv.rest("GET", LIST, token=owner.access_token).json()["items"][0]
    assert item["status"] == "available"  # the bytes were seen (HEAD)
    d = download(srv, owner.access_token, up["object_id"])
    assert d.status_code == 200
    assert d.json()["download_url"].startswith(endpoint)
    assert httpx.get(d.json()["download_url"]).content == DATA

    r = srv.rest("DELETE", DELETE.format(object_id=up["object_id"]), token=owner.access_token)
    assert r.status_code == 204
    assert httpx.get(d.json()["download_url"]).status_code == 404


def test_s3_oversized_upload_is_rejected_when_seen(s3_server):
    srv, _ = s3_server
    owner = register(srv, verified=True)
    up = presign(srv, owner.access_token).json()
    assert put(up, DATA * 2).status_code == 200  # S3 cannot bound a presigned PUT's size...
    # ...so the object is checked when its bytes are first seen, and refused.
    assert download(srv, owner.access_token, up["object_id"]).status_code == 404
    assert srv.rest("GET", LIST, token=owner.access_token).json()["items"] == []


def test_s3_health_reports_a_missing_bucket(s3_server, tmp_path):
    _, endpoint = s3_server
    srv = sqlite_server(
        tmp_path,
        {
            "AGENTDECK_STORAGE_URL": "s3://no-such-bucket",
            "AGENTDECK_STORAGE_S3_ENDPOINT_URL": endpoint,
            "AGENTDECK_STORAGE_S3_ACCESS_KEY_ID": "test",
            "AGENTDECK_STORAGE_S3_SECRET_ACCESS_KEY": "test",
        },
    )
    try:
        r = srv.rest("GET", "/health/storage")
        assert r.status_code == 503, r.text
        assert_documented("GET", "/health/storage", r)
    finally:
        srv.stop()
