"""The upload API: stream, base64 and URL uploads, overwrites, sniffing, serving, refusals."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest

from kieframe.testing._emulator import Emulator
from kieframe.testing._emulator._store import sniff_mime
from kieframe.testing._emulator._uploads import UploadError, parse_multipart

from ._support import create_task, finished_record

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"\r\n--fake-boundary\r\n" * 50
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(64)


def check_answer(
    client: httpx.Client, answer: dict[str, Any], *, upload_path: str, data: bytes, mime: str
) -> str:
    assert answer["success"] is True
    assert answer["code"] == 200
    info = answer["data"]
    assert info["filePath"] == f"{upload_path}/{info['fileName']}"
    assert info["fileSize"] == len(data)
    assert info["mimeType"] == mime
    assert info["uploadedAt"].endswith("Z")
    url: str = info["downloadUrl"]
    assert client.get(url).content == data
    return url


def test_nothing_is_uploaded_at_first(emulator: Emulator) -> None:
    assert emulator.uploads == ()


def test_stream_upload(emulator: Emulator, client: httpx.Client) -> None:
    response = client.post(
        f"{emulator.upload_base_url}/api/file-stream-upload",
        files={"file": ("photo.jpg", JPEG, "image/jpeg")},
        data={"uploadPath": "images/user", "fileName": "first.jpg"},
    )
    answer = response.json()
    url = check_answer(client, answer, upload_path="images/user", data=JPEG, mime="image/jpeg")
    assert answer["data"]["fileName"] == "first.jpg"
    ranged = client.get(url, headers={"Range": "bytes=0-3"})
    assert (ranged.status_code, ranged.content) == (206, JPEG[:4])
    (info,) = emulator.uploads
    assert (info.method, info.file_path, info.size) == (
        "stream",
        "images/user/first.jpg",
        len(JPEG),
    )
    assert info.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert emulator.stats.requests["upload"] == 1


def test_stream_upload_without_a_name_gets_a_generated_one(client: httpx.Client) -> None:
    answer = client.post(
        "/api/file-stream-upload",
        files={"file": ("x.png", PNG, "image/png")},
        data={"uploadPath": "/a/b/"},
    ).json()
    assert answer["data"]["fileName"].endswith(".png")
    assert answer["data"]["filePath"].startswith("a/b/")


@pytest.mark.parametrize("as_data_url", [False, True])
def test_base64_upload(emulator: Emulator, client: httpx.Client, as_data_url: bool) -> None:
    encoded = base64.b64encode(PNG).decode()
    if as_data_url:
        encoded = f"data:image/png;base64,{encoded}"
    answer = client.post(
        "/api/file-base64-upload",
        json={"base64Data": encoded, "uploadPath": "b64", "fileName": "pic.png"},
    ).json()
    check_answer(client, answer, upload_path="b64", data=PNG, mime="image/png")
    assert emulator.uploads[0].method == "base64"


def test_url_upload_copies_a_file_this_emulator_serves(
    emulator: Emulator, client: httpx.Client
) -> None:
    record = finished_record(emulator, create_task(client))
    result = json.loads(record["resultJson"])["resultUrls"][0]
    answer = client.post(
        "/api/file-url-upload", json={"fileUrl": result, "uploadPath": "copies"}
    ).json()
    check_answer(
        client, answer, upload_path="copies", data=client.get(result).content, mime="video/mp4"
    )
    assert answer["data"]["fileName"].endswith(".mp4")
    assert emulator.uploads[0].method == "url"


def test_url_upload_refuses_other_hosts_and_expired_links(
    emulator: Emulator, client: httpx.Client
) -> None:
    foreign = client.post(
        "/api/file-url-upload", json={"fileUrl": "https://example.com/a.png", "uploadPath": "x"}
    ).json()
    assert foreign["success"] is False
    assert foreign["code"] == 400
    assert "no network" in foreign["msg"]
    record = finished_record(emulator, create_task(client))
    result = json.loads(record["resultJson"])["resultUrls"][0]
    emulator.expire_links()
    expired = client.post(
        "/api/file-url-upload", json={"fileUrl": result, "uploadPath": "x"}
    ).json()
    assert expired["success"] is False
    assert "expired" in expired["msg"]
    assert emulator.uploads == ()


def test_same_name_overwrites(emulator: Emulator, client: httpx.Client) -> None:
    first = client.post(
        "/api/file-base64-upload",
        json={"base64Data": base64.b64encode(PNG).decode(), "uploadPath": "p", "fileName": "f"},
    ).json()["data"]
    second = client.post(
        "/api/file-stream-upload",
        files={"file": ("f", WEBP, "image/webp")},
        data={"uploadPath": "p", "fileName": "f"},
    ).json()["data"]
    assert first["filePath"] == second["filePath"] == "p/f"
    (info,) = emulator.uploads
    assert (info.method, info.mime_type) == ("stream", "image/webp")
    assert client.get(second["downloadUrl"]).content == WEBP
    assert client.get(first["downloadUrl"]).content == WEBP  # same object, new content


def test_uploads_expire_and_can_be_refreshed(emulator: Emulator, client: httpx.Client) -> None:
    url = client.post(
        "/api/file-base64-upload",
        json={"base64Data": base64.b64encode(PNG).decode(), "uploadPath": "p"},
    ).json()["data"]["downloadUrl"]
    emulator.expire_links()
    assert client.get(url).status_code == 403
    fresh = client.post("/api/v1/common/download-url", json={"url": url}).json()["data"]
    assert client.get(fresh).content == PNG


@pytest.mark.parametrize(
    ("route", "body", "needle"),
    [
        ("/api/file-base64-upload", {"base64Data": "aGk=", "uploadPath": ""}, "uploadPath"),
        ("/api/file-base64-upload", {"base64Data": "not base64!", "uploadPath": "p"}, "base64"),
        ("/api/file-base64-upload", {"uploadPath": "p"}, "base64Data"),
        ("/api/file-base64-upload", {"base64Data": "aGk=", "uploadPath": "a/../b"}, "uploadPath"),
        (
            "/api/file-base64-upload",
            {"base64Data": "aGk=", "uploadPath": "p", "fileName": "a/b"},
            "fileName",
        ),
        ("/api/file-url-upload", {"fileUrl": "ftp://x", "uploadPath": "p"}, "fileUrl"),
        (
            "/api/file-base64-upload",
            {"base64Data": "data:text/plain,hi", "uploadPath": "p"},
            "base64",
        ),
    ],
)
def test_refused_uploads(
    emulator: Emulator, client: httpx.Client, route: str, body: dict[str, str], needle: str
) -> None:
    answer = client.post(route, json=body).json()
    assert answer["success"] is False
    assert answer["code"] == 400
    assert needle in answer["msg"]
    assert emulator.uploads == ()


def test_base64_over_10_mb_is_refused(emulator: Emulator, client: httpx.Client) -> None:
    big = base64.b64encode(bytes(10 * 1024 * 1024 + 1)).decode()
    answer = client.post(
        "/api/file-base64-upload", json={"base64Data": big, "uploadPath": "p"}
    ).json()
    assert answer["success"] is False
    assert "10 MB" in answer["msg"]
    assert emulator.uploads == ()


def test_stream_upload_needs_a_file_and_a_key(emulator: Emulator, client: httpx.Client) -> None:
    missing = client.post(
        "/api/file-stream-upload", files={"other": ("a", b"x")}, data={"uploadPath": "p"}
    ).json()
    assert (missing["success"], missing["msg"]) == (False, "file is required")
    unauthorized = httpx.post(
        f"{emulator.upload_base_url}/api/file-stream-upload",
        files={"file": ("a", b"x")},
        data={"uploadPath": "p"},
    ).json()
    assert (unauthorized["success"], unauthorized["code"]) == (False, 401)


def test_multipart_parser_keeps_binary_content_exact() -> None:
    content = b"--b\r\n--bb\r\n\r\n\x00\xff" * 20
    body = (
        b"preamble\r\n--XyZ\r\n"
        b'Content-Disposition: form-data; name="uploadPath"\r\n\r\nd\r\n'
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a b.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--XyZ--\r\n"
    )
    request, original = parse_multipart(body, 'multipart/form-data; boundary="XyZ"')
    assert request.data == content
    assert request.upload_path == "d"
    assert original == "a b.bin"
    with pytest.raises(UploadError, match="truncated"):
        parse_multipart(body[:-12], "multipart/form-data; boundary=XyZ")
    with pytest.raises(UploadError, match="boundary"):
        parse_multipart(body, "application/json")


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"hello", "application/octet-stream"),
    ],
)
def test_sniff_mime(data: bytes, mime: str) -> None:
    assert sniff_mime(data) == mime
