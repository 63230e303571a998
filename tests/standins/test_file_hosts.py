"""Result files from file hosts kieframe does not control: redirects, extensionless links, gzip.

A tiny HTTP server on 127.0.0.1 stands in for the file host.
"""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import stamina

import kieframe
from kieframe import RateLimits
from kieframe._records import parse_record

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
PACKED = gzip.compress(VIDEO)
OPAQUE = b"no magic bytes here " * 50  # content sniffing cannot name it


class FileHost(http.server.BaseHTTPRequestHandler):
    """Answers by path; every request's Range header is noted in ``ranges``."""

    ranges: ClassVar[list[str | None]] = []

    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        FileHost.ranges.append(self.headers.get("Range"))
        port = self.server.server_address[1]  # type: ignore[index]  # an (address, port) pair
        if self.path == "/r/v":
            self.send(302, b"", Location=f"http://127.0.0.1:{port}/real/clip.mp4?sig=1")
        elif self.path.startswith("/real/clip.mp4"):
            self.send(200, OPAQUE, Content_Type="application/octet-stream")
        elif self.path == "/typed":
            self.send(200, OPAQUE, Content_Type="video/mp4; charset=binary")
        elif self.path == "/untyped":
            self.send(200, VIDEO, Content_Type="application/octet-stream")
        elif self.path == "/text":
            self.send(200, OPAQUE, Content_Type="application/octet-stream")
        elif self.path == "/packed.mp4":
            if self.headers.get("Range"):  # a compressed range: useless for resuming
                end = len(PACKED) - 1
                self.send(
                    206,
                    PACKED[10:],
                    Content_Encoding="gzip",
                    Content_Range=f"bytes 10-{end}/{len(PACKED)}",
                )
            else:
                self.send(200, PACKED, Content_Type="video/mp4", Content_Encoding="gzip")
        elif self.path == "/broken.mp4":
            self.send(200, b"not gzip at all" * 10, Content_Encoding="gzip")
        elif self.path == "/packed-br.mp4":
            self.send(200, PACKED, Content_Encoding="br")
        else:
            self.send(404, b"")


@pytest.fixture
def host() -> Iterator[str]:
    FileHost.ranges = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FileHost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def finished(url: str) -> kieframe.TaskRecord:
    result = json.dumps({"resultUrls": [url]})
    return parse_record({"taskId": "t1", "state": "success", "resultJson": result})


def download(url: str, folder: Path) -> Path:
    # The API is never asked: these links do not expire.
    with kieframe.Client("key", base_url="http://127.0.0.1:9", rate_limits=RateLimits.off()) as kie:
        (path,) = kie.download(finished(url), to=folder)
    return path


@pytest.mark.parametrize("path", ["/r/v", "/typed"])
def test_an_extensionless_link_gets_the_extension_its_answer_says(
    host: str, path: str, tmp_path: Path
) -> None:
    saved = download(host + path, tmp_path)
    assert saved.name == "t1-1.mp4"
    assert saved.read_bytes() == OPAQUE


def test_a_link_saying_nothing_is_named_by_its_content(host: str, tmp_path: Path) -> None:
    assert download(host + "/untyped", tmp_path).name == "t1-1.mp4"


def test_content_nothing_recognises_is_saved_as_bin(host: str, tmp_path: Path) -> None:
    assert download(host + "/text", tmp_path).name == "t1-1.bin"


def test_a_gzip_answer_is_saved_decoded(host: str, tmp_path: Path) -> None:
    saved = download(host + "/packed.mp4", tmp_path)
    assert saved.read_bytes() == VIDEO
    meta = json.loads(saved.with_name(saved.name + ".json").read_text())
    assert meta["size"] == len(VIDEO)


async def test_an_async_gzip_answer_is_saved_decoded(host: str, tmp_path: Path) -> None:
    async with kieframe.AsyncClient(
        "key", base_url="http://127.0.0.1:9", rate_limits=RateLimits.off()
    ) as kie:
        (saved,) = await kie.download(finished(host + "/packed.mp4"), to=tmp_path)
    assert saved.read_bytes() == VIDEO


def test_a_compressed_range_is_not_resumed_but_restarted(host: str, tmp_path: Path) -> None:
    (tmp_path / ".t1-1.mp4.kieframe-part").write_bytes(VIDEO[:100])  # an earlier attempt's
    saved = download(host + "/packed.mp4", tmp_path)
    assert saved.read_bytes() == VIDEO
    assert FileHost.ranges == ["bytes=100-", None]


@pytest.mark.parametrize("path", ["/broken.mp4", "/packed-br.mp4"])
def test_a_body_that_cannot_be_decoded_is_a_download_error(
    host: str, path: str, tmp_path: Path
) -> None:
    with pytest.raises(kieframe.DownloadError, match="result 1"):
        download(host + path, tmp_path)
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
