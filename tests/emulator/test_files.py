"""Result files: ranges, HEAD, cut downloads, link expiry and download-url refresh."""

from __future__ import annotations

import json

import httpx
import pytest

from kieframe.testing._emulator import Emulator, Lifetimes, build_mp4
from kieframe.testing._emulator._files import parse_range

from ._support import CONNECTION_CUT, FAST, HEADERS, create_task, finished_record


def result_url(emulator: Emulator, client: httpx.Client) -> str:
    record = finished_record(emulator, create_task(client))
    url: str = json.loads(record["resultJson"])["resultUrls"][0]
    return url


def test_result_is_the_task_mp4(emulator: Emulator, client: httpx.Client) -> None:
    task_id = create_task(client)
    url = json.loads(finished_record(emulator, task_id)["resultJson"])["resultUrls"][0]
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == build_mp4(size=64 * 1024, seed=task_id)
    head = client.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(64 * 1024)
    assert head.content == b""
    assert emulator.stats.requests["files"] == 2


def test_ranges(emulator: Emulator, client: httpx.Client) -> None:
    url = result_url(emulator, client)
    full = client.get(url).content
    size = len(full)
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=100-": (100, size - 1),
        "bytes=-16": (size - 16, size - 1),
        f"bytes=10-{size + 50}": (10, size - 1),
    }
    for header, (first, last) in cases.items():
        response = client.get(url, headers={"Range": header})
        assert response.status_code == 206
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert response.headers["content-length"] == str(last - first + 1)
        assert response.content == full[first : last + 1]
    unsatisfiable = client.get(url, headers={"Range": f"bytes={size}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"
    etag = client.head(url).headers["etag"]
    assert client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    assert client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'}).status_code == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-0", (0, 0)),
        ("bytes=5-2", False),
        ("bytes=-0", False),
        ("bytes=0-1,4-5", None),
        ("items=0-1", None),
        ("bytes=-", False),
    ],
)
def test_parse_range(header: str | None, expected: object) -> None:
    assert parse_range(header, 10) == expected


def _read_into(response: httpx.Response, received: bytearray) -> None:
    for chunk in response.iter_bytes():
        received += chunk


def test_cut_download_then_resume(emulator: Emulator, client: httpx.Client) -> None:
    url = result_url(emulator, client)
    full = client.get(url).content
    emulator.fault("files", "drop", cut_after=10_000)
    received = bytearray()
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        with pytest.raises(CONNECTION_CUT):
            _read_into(response, received)
    assert len(received) == 10_000
    rest = client.get(url, headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206
    assert bytes(received) + rest.content == full


def test_expired_links_and_download_url(emulator: Emulator, client: httpx.Client) -> None:
    url = result_url(emulator, client)
    assert client.get(url).status_code == 200
    emulator.expire_links()
    expired = client.get(url)
    assert expired.status_code == 403
    assert b"expired" in expired.content
    answer = client.post("/api/v1/common/download-url", json={"url": url}).json()
    assert answer["code"] == 200
    fresh = answer["data"]
    assert isinstance(fresh, str)
    assert fresh != url
    assert client.get(fresh).status_code == 200
    assert emulator.stats.requests["download-url"] == 1


def test_result_links_expire_with_their_lifetime() -> None:
    with (
        Emulator(timing=FAST, lifetimes=Lifetimes(result=0)) as emu,
        httpx.Client(base_url=emu.base_url, headers=HEADERS) as http,
    ):
        url = result_url(emu, http)
        assert http.get(url).status_code == 403
        fresh = http.post("/api/v1/common/download-url", json={"url": url}).json()["data"]
        assert http.get(fresh).status_code == 200


def test_download_url_refuses_foreign_urls(emulator: Emulator, client: httpx.Client) -> None:
    for url in (
        "https://example.com/files/results/x/video-1.mp4",
        f"{emulator.base_url}/files/results/unknown/video-1.mp4",
    ):
        answer = client.post("/api/v1/common/download-url", json={"url": url}).json()
        assert answer["code"] == 422
    assert client.post("/api/v1/common/download-url", json={}).json()["code"] == 422


def test_tampered_and_unknown_links(emulator: Emulator, client: httpx.Client) -> None:
    url = result_url(emulator, client)
    assert client.get(url.replace("sig=", "sig=0")).status_code == 403
    assert client.get(url.split("?")[0]).status_code == 403
    assert client.get(f"{emulator.base_url}/files/results/nope/video-1.mp4").status_code == 404
    assert client.post(url).status_code == 405


def test_file_faults(emulator: Emulator, client: httpx.Client) -> None:
    url = result_url(emulator, client)
    emulator.fault("files", "http_500")
    assert client.get(url).status_code == 500
    emulator.fault("files", "code", code=503, retry_after=2)
    unavailable = client.get(url)
    assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "2")
    emulator.fault("files", "drop_before")
    with pytest.raises(CONNECTION_CUT):
        client.get(url)
    assert client.get(url).status_code == 200
