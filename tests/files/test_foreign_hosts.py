"""File hosts and upload answers the emulator would not give: never saved as success, never raw.

An error page answered with 200, an empty file, a redirect loop: the link is refreshed, then the
download fails with DownloadError, and no result file is left. Both clients.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import kieframe
from kieframe.testing import Emulator
from kieframe.testing._emulator import FaultKind, build_mp4

from ._images import png
from .conftest import HAILUO, RESULT_SIZE

INPUT = {"prompt": "a slow pan", "image_url": "https://example.com/a.png"}
PAGE = b"<html><body>This link has expired</body></html>"
S3_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
)
#: Answers from a file host that are not the file: (fault kind, its options).
NOT_THE_FILE: dict[str, tuple[FaultKind, dict[str, Any]]] = {
    "html-page": ("raw", {"code": 200, "body": PAGE, "headers": {"content-type": "text/html"}}),
    "empty-file": ("raw", {"code": 200, "body": b"", "headers": {"content-type": "video/mp4"}}),
    "redirect-loop": ("redirect_loop", {}),
    "json-error": (
        "raw",
        {"code": 200, "body": b'{"code":403,"msg":"link expired","data":null}',
         "headers": {"content-type": "application/json"}},
    ),
    "xml-error": (
        "raw",
        {"code": 200, "body": S3_ERROR, "headers": {"content-type": "application/xml"}},
    ),
    "unlabelled-xml-error": (
        "raw",
        {"code": 200, "body": S3_ERROR, "headers": {"content-type": "application/octet-stream"}},
    ),
}  # fmt: skip
#: Error bodies answered with 200 in place of the file.
ERROR_BODIES = ["json-error", "xml-error", "unlabelled-xml-error"]


def results(folder: Path) -> list[str]:
    return (
        [path.name for path in folder.iterdir() if path.suffix == ".mp4"] if folder.exists() else []
    )


@pytest.mark.parametrize("answer", ["html-page", "empty-file", *ERROR_BODIES])
def test_a_link_that_answers_a_page_or_nothing_is_refreshed(
    emu: Emulator, client: kieframe.Client, tmp_path: Path, answer: str
) -> None:
    kind, options = NOT_THE_FILE[answer]
    record = client.wait(client.submit(HAILUO, INPUT))
    emu.fault("files", kind, **options)  # once: the fresh link gives the file
    (path,) = client.download(record, to=tmp_path)
    assert path.read_bytes() == build_mp4(size=RESULT_SIZE, seed=record.task_id)
    assert emu.stats.requests["download-url"] == 1


@pytest.mark.parametrize("answer", NOT_THE_FILE, ids=list(NOT_THE_FILE))
def test_a_link_that_never_gives_the_file_is_refreshed_then_given_up(
    emu: Emulator, client: kieframe.Client, tmp_path: Path, answer: str
) -> None:
    kind, options = NOT_THE_FILE[answer]
    record = client.wait(client.submit(HAILUO, INPUT))
    emu.fault("files", kind, probability=1.0, **options)
    with pytest.raises(kieframe.DownloadError):
        client.download(record, to=tmp_path)
    assert emu.stats.requests["download-url"] == 2  # each fresh link tried
    assert results(tmp_path) == []


@pytest.mark.parametrize("answer", ["html-page", "redirect-loop", "xml-error"])
async def test_async_a_link_that_never_gives_the_file_is_a_download_error(
    emu: Emulator, aclient: kieframe.AsyncClient, tmp_path: Path, answer: str
) -> None:
    kind, options = NOT_THE_FILE[answer]
    record = await aclient.wait(await aclient.submit(HAILUO, INPUT))
    emu.fault("files", kind, probability=1.0, **options)
    with pytest.raises(kieframe.DownloadError):
        await aclient.download(record, to=tmp_path)
    assert results(tmp_path) == []


def test_download_url_retried_at_once_and_answered_as_an_object(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    record = client.wait(client.submit(HAILUO, INPUT))
    (link,) = record.result_urls
    emu.fault("files", "code", code=403)
    busy = json.dumps({"code": 503, "msg": "busy"}).encode()
    emu.fault("download-url", "raw", code=503, body=busy, headers={"retry-after": "0"})
    wrapped = json.dumps({"code": 200, "msg": "ok", "data": {"url": link}}).encode()
    emu.fault("download-url", "raw", code=200, body=wrapped)
    (path,) = client.download(record, to=tmp_path)
    assert path.read_bytes() == build_mp4(size=RESULT_SIZE, seed=record.task_id)
    assert emu.stats.requests["download-url"] == 2


def test_a_failed_upload_keeps_kies_message(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    image = tmp_path / "start.png"
    image.write_bytes(png(16, 16, seed=3))
    refusal = json.dumps({"success": False, "code": 200, "msg": "storage quota exceeded"})
    emu.fault("upload", "raw", code=200, body=refusal.encode(), probability=1.0)
    with pytest.raises(kieframe.KieError, match="storage quota exceeded") as caught:
        client.submit(HAILUO, {"prompt": "go", "image_url": image})
    assert emu.tasks == ()
    assert caught.value.code == 200  # kie.ai's own code, not an invented 500
    assert emu.stats.requests["upload"] == 1  # a refusal: not sent again
