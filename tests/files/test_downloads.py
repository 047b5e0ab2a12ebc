"""Streamed file downloads over a real server (extended contract: `GET
/api/v1/openai/files/{file_id}/download` and `GET
/api/v1/openai/containers/{container_id}/files/{file_id}/download`, validated with
`assert_documented(..., "application/octet-stream", extended=True)`): offline from our storage,
with OpenAI configured from OpenAI through the real SDK (the OpenAI stub's files endpoints);
another tenant's file is 404, as is anything the tenant does not hold; GraphQL's
`VectorStoreFile.downloadUrl` leads there."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest
from strawberry import relay

from tests.files.test_storage import upload
from tests.harness import assert_documented, server_with_openai_stub
from tests.users import register

pytestmark = pytest.mark.e2e

FILE = "/api/v1/openai/files/{file_id}/download"
CONTAINER_FILE = "/api/v1/openai/containers/{container_id}/files/{file_id}/download"
OCTETS = "application/octet-stream"
TEXT = b"Sourdough bread rises slowly. Feed the sourdough starter with rye flour."


def download(server, token, template, expect, params=None, headers=None, **path):
    r = server.rest("GET", template.format(**path), token=token, params=params, headers=headers or {})
    assert r.status_code == expect, r.text
    assert_documented("GET", template, r, OCTETS if expect == 200 else "application/json", extended=True)
    return r


def stored_file(server, token, data: bytes = TEXT, filename: str = "Brot – recipe.txt") -> dict:
    """A file attached to a new store: its REST answer (`openai_file_id` is `file-<hex>`)."""
    store = server.rest("POST", "/api/v1/vector-stores", token=token, json={"name": f"kb-{uuid.uuid4().hex[:6]}"})
    obj = upload(server, token, data, filename, "text/plain")
    r = server.rest(
        "POST",
        f"/api/v1/vector-stores/{store.json()['id']}/files/upload",
        token=token,
        json={"object_id": obj["object_id"]},
    )
    assert r.status_code == 201, r.text
    return r.json()


def container(server, token, file_ids: list[str]) -> dict:
    r = server.rest("POST", "/api/v1/containers", token=token, json={"name": "box", "file_ids": file_ids})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_tenants_file_streams_from_storage(server):
    owner = register(server, verified=True)
    t = owner.access_token
    big = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    f = stored_file(server, t, big, "Brot – recipe.txt")
    r = download(server, t, FILE, 200, file_id=f["openai_file_id"])
    assert r.content == big
    assert r.headers["content-type"] == OCTETS
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"Brot _ recipe.txt\"; filename*=UTF-8''Brot%20%E2%80%93%20recipe.txt"
    )
    assert r.headers["cache-control"] == "private, max-age=300"
    # Any role of the tenant reads it.
    assert download(server, t, FILE, 200, headers={"X-Tenant-Role": "viewer"}, file_id=f["openai_file_id"]).content

    # The native graph's file says where: the same operation, on the public URL.
    q = "query($id: ID!) { vectorStoreFile: node(id: $id) { ... on VectorStoreFile { downloadUrl } } }"
    node = str(relay.GlobalID("VectorStoreFile", f["id"]))
    url = server.gql(q, {"id": node}, token=t)["data"]["vectorStoreFile"]["downloadUrl"]
    assert url == f"{server.base_url}{FILE.format(file_id=f['openai_file_id'])}"
    assert httpx.get(url, headers={"Authorization": f"Bearer {t}"}, timeout=10).content == big


def test_what_is_not_the_tenants_is_not_found(server):
    t = register(server, verified=True).access_token
    f = stored_file(server, t)
    other = register(server, verified=True).access_token
    r = download(server, other, FILE, 404, file_id=f["openai_file_id"])
    assert r.json()["message"] == "File not found"
    for missing in ("file-" + uuid.uuid4().hex, "file-nope", "x" * 300, "nul%00", "file-remote"):
        download(server, t, FILE, 404, file_id=missing)
    download(server, None, FILE, 401, file_id=f["openai_file_id"])


def test_a_local_containers_files_are_its_stored_objects(server):
    t = register(server, verified=True).access_token
    f = stored_file(server, t)
    c = container(server, t, [f["openai_file_id"]])
    r = download(
        server,
        t,
        CONTAINER_FILE,
        200,
        params={"filename": "loaf.txt", "conversation_id": str(uuid.uuid4())},
        container_id=c["openai_id"],
        file_id=f["openai_file_id"],
    )
    assert r.content == TEXT and 'filename="loaf.txt"' in r.headers["content-disposition"]
    by_uuid = download(server, t, CONTAINER_FILE, 200, container_id=c["id"], file_id=f["openai_file_id"])
    assert by_uuid.content == TEXT
    # The native graph's container lists its files with where each is downloaded.
    q = "query($id: ID!) { container(id: $id) { files { nodes { fileId downloadUrl } } } }"
    (listed,) = server.gql(q, {"id": str(relay.GlobalID("Container", c["id"]))}, token=t)["data"]["container"]["files"][
        "nodes"
    ]
    assert listed["fileId"] == f["openai_file_id"]
    got = httpx.get(listed["downloadUrl"], headers={"Authorization": f"Bearer {t}"}, timeout=10)
    assert got.status_code == 200 and got.content == TEXT

    r = download(server, t, CONTAINER_FILE, 422, params={"filename": "a\r\nb"}, container_id=c["id"], file_id="f")
    assert r.json()["details"][0]["loc"] == ["query", "filename"]
    other_file = stored_file(server, t, b"elsewhere", "other.txt")
    download(server, t, CONTAINER_FILE, 404, container_id=c["id"], file_id=other_file["openai_file_id"])
    download(server, t, CONTAINER_FILE, 404, container_id="cntr_nope", file_id=f["openai_file_id"])
    other = register(server, verified=True).access_token
    r = download(server, other, CONTAINER_FILE, 404, container_id=c["openai_id"], file_id=f["openai_file_id"])
    assert r.json()["message"] == "Container not found"
    download(server, None, CONTAINER_FILE, 401, container_id=c["id"], file_id=f["openai_file_id"])


# OpenAI configured: the SDK fetches OpenAI's files (the stub's /v1/files/{id}/content). ------------


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory):
    with server_with_openai_stub(tmp_path_factory.mktemp("downloads-openai"), "responses") as srv:
        yield srv


def test_openai_files_stream_through_the_sdk(openai_server):
    srv, stub = openai_server, openai_server.stub
    stub.reset()
    t = register(srv, verified=True).access_token
    report = os.urandom(200_000)
    stub.files["file-remote1"] = ("report.pdf", report)
    stub.files["file-nobodys"] = ("secret.bin", b"not held by any tenant")
    c = container(srv, t, ["file-remote1", "file-gone"])  # an OpenAI container (the stub's)
    assert c["openai_id"].startswith("cntr_stub")

    r = download(srv, t, FILE, 200, file_id="file-remote1")
    assert r.content == report and 'filename="report.pdf"' in r.headers["content-disposition"]
    assert [q.path for q in stub.requests if "/files/" in q.path] == ["/v1/files/file-remote1/content"]
    # Held, but gone at OpenAI: 404; not held by this tenant: 404 without asking OpenAI.
    download(srv, t, FILE, 404, file_id="file-gone")
    stub.requests.clear()
    download(srv, t, FILE, 404, file_id="file-nobodys")
    other = register(srv, verified=True).access_token
    download(srv, other, FILE, 404, file_id="file-remote1")
    assert stub.requests == []

    # Our own files are still ours to serve, OpenAI or not.
    f = stored_file(srv, t)
    assert download(srv, t, FILE, 200, file_id=f["openai_file_id"]).content == TEXT

    # An OpenAI container's files come from OpenAI.
    stub.container_files[(c["openai_id"], "cfile_1")] = b"chart bytes"
    r = download(
        srv, t, CONTAINER_FILE, 200, params={"filename": "chart.png"}, container_id=c["openai_id"], file_id="cfile_1"
    )
    assert r.content == b"chart bytes" and 'filename="chart.png"' in r.headers["content-disposition"]
    assert stub.requests[-1].path == f"/v1/containers/{c['openai_id']}/files/cfile_1/content"
    r = download(srv, t, CONTAINER_FILE, 200, container_id=c["openai_id"], file_id="cfile_1")
    assert 'filename="cfile_1.bin"' in r.headers["content-disposition"]  # OpenAI named none
    download(srv, t, CONTAINER_FILE, 404, container_id=c["openai_id"], file_id="cfile_missing")
    download(srv, other, CONTAINER_FILE, 404, container_id=c["openai_id"], file_id="cfile_1")


def test_head_answers_the_headers_without_the_bytes(server):
    t = register(server, verified=True).access_token
    f = stored_file(server, t)
    r = server.rest("HEAD", FILE.format(file_id=f["openai_file_id"]), token=t)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == OCTETS and r.headers["content-disposition"].startswith("attachment;")
