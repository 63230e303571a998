"""Local inputs against the emulator: each upload route, refusals before any upload, the cache."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from kieframe_hailuo import HailuoImageToVideoProInput

import kieframe
from kieframe.files import Rehost
from kieframe.testing import Emulator

from ._images import GIF, WEBP, jpeg, png
from .conftest import HAILUO, make_client


def served(client: kieframe.Client, task: kieframe.Task, field: str = "image_url") -> bytes:
    """The bytes behind the URL the task was created with."""
    url = task.input[field]
    assert url.startswith("http")
    return httpx.get(url).content


def uploads(emu: Emulator) -> int:
    return emu.stats.requests.get("upload", 0)


def test_a_small_path_goes_base64_and_round_trips(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    image = tmp_path / "start.png"
    image.write_bytes(png(8, 8, seed=3))
    task = client.submit(HAILUO, {"prompt": "pan", "image_url": image})
    assert served(client, task) == image.read_bytes()
    (info,) = emu.uploads
    assert info.method == "base64"
    assert info.sha256 == hashlib.sha256(image.read_bytes()).hexdigest()
    assert info.file_name == f"kf-{info.sha256[:40]}.png"
    assert emu.tasks[0].input["image_url"] == task.input["image_url"]


def test_a_large_file_goes_multipart_and_round_trips(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    data = png(700, 700, noise=True)
    assert len(data) > 1 << 20
    image = tmp_path / "big.png"
    image.write_bytes(data)
    task = client.submit(HAILUO, {"prompt": "pan", "image_url": image})
    assert served(client, task) == data
    assert [info.method for info in emu.uploads] == ["stream"]


def test_bytes_file_objects_and_structs(emu: Emulator, client: kieframe.Client) -> None:
    with_bytes = client.submit(HAILUO, {"prompt": "a", "image_url": jpeg(10)})
    assert served(client, with_bytes) == jpeg(10)
    with_file = client.submit(
        HAILUO, {"prompt": "a", "image_url": io.BytesIO(WEBP), "end_image_url": jpeg(20)}
    )
    assert served(client, with_file) == WEBP
    assert served(client, with_file, "end_image_url") == jpeg(20)
    value = HailuoImageToVideoProInput(prompt="a", image_url=png(seed=9))  # type: ignore[arg-type]  # a local input where a URL is typed
    assert served(client, client.submit(HAILUO, value)) == png(seed=9)
    assert {info.mime_type for info in emu.uploads} == {"image/jpeg", "image/webp", "image/png"}


def test_rehost_goes_through_the_url_route(emu: Emulator, client: kieframe.Client) -> None:
    first = client.submit(HAILUO, {"prompt": "a", "image_url": png(seed=5)})
    source = first.input["image_url"]
    again = client.submit(HAILUO, {"prompt": "a", "image_url": Rehost(source)})
    assert again.input["image_url"] != source
    assert served(client, again) == png(seed=5)
    assert [info.method for info in emu.uploads] == ["base64", "url"]


def test_a_rehost_is_checked_from_kies_answer(emu: Emulator, client: kieframe.Client) -> None:
    answer = httpx.post(
        f"{emu.upload_base_url}/api/file-base64-upload",
        json={"base64Data": base64.b64encode(GIF).decode(), "uploadPath": "elsewhere"},
        headers={"Authorization": f"Bearer {Emulator.API_KEY}", "User-Agent": "tests"},
    ).json()
    gif_url = answer["data"]["downloadUrl"]
    with pytest.raises(kieframe.InputValidationError) as caught:
        client.submit(HAILUO, {"prompt": "a", "image_url": Rehost(gif_url)})
    # The emulator's file host types a file by its content, as kie.ai's does.
    assert "is image/gif (expected image/jpeg" in str(caught.value)
    assert emu.tasks == ()
    with pytest.raises(kieframe.InputValidationError, match="needs an http"):
        client.submit(HAILUO, {"prompt": "a", "image_url": Rehost("not a url")})


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda folder: _write(folder / "cat.gif", GIF),
            "image_url: file cat.gif is image/gif (expected image/jpeg, image/png, image/webp;"
            " at most 10 MB)",
        ),
        (
            lambda folder: _write(folder / "cat.png", GIF),
            "image_url: file cat.png is image/gif (expected",
        ),
        (
            lambda folder: _write(folder / "huge.png", png() + bytes(10 << 20)),
            "image_url: file huge.png is 10,485,829 bytes (expected image/jpeg, image/png,"
            " image/webp; at most 10 MB)",
        ),
        (lambda folder: folder / "missing.png", "image_url: file "),
        (lambda folder: folder, "is a folder, not a file"),
        (lambda folder: Path(os.devnull), f"{os.devnull} is a device, not a file"),
        (lambda folder: _write(folder / "empty.png", b""), "image_url: file empty.png is empty"),
        (lambda folder: b"plain text", "image_url: the given bytes is not a recognised image"),
        (lambda folder: io.StringIO("text"), "must be opened in binary mode"),
        (
            lambda folder: io.BytesIO(png() + bytes(10 << 20)),
            "image_url: the file object is over 10,485,760 bytes (expected",
        ),
    ],
)
def test_bad_files_are_refused_before_any_upload(
    emu: Emulator, client: kieframe.Client, tmp_path: Path, make: Any, expected: str
) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        client.submit(HAILUO, {"prompt": "a", "image_url": make(tmp_path)})
    assert expected in str(caught.value)
    assert caught.value.fields == ("image_url",)
    assert emu.uploads == ()
    assert uploads(emu) == 0
    assert emu.tasks == ()


def test_a_missing_file_names_its_path(client: kieframe.Client, tmp_path: Path) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        client.submit(HAILUO, {"prompt": "a", "image_url": tmp_path / "nope.png"})
    (problem,) = caught.value.problems
    assert problem.message == f"file {tmp_path / 'nope.png'} does not exist"


def test_a_bad_prompt_costs_no_upload(emu: Emulator, client: kieframe.Client) -> None:
    with pytest.raises(kieframe.InputValidationError) as caught:
        client.submit(HAILUO, {"prompt": "", "image_url": png(), "end_image_url": GIF})
    assert set(caught.value.fields) == {"prompt", "end_image_url"}
    assert uploads(emu) == 0


def test_the_cache_avoids_a_second_upload(emu: Emulator, client: kieframe.Client) -> None:
    first = client.submit(HAILUO, {"prompt": "a", "image_url": png(seed=1)})
    second = client.submit(
        HAILUO, {"prompt": "b", "image_url": io.BytesIO(png(seed=1)), "end_image_url": png(seed=1)}
    )
    assert second.input["image_url"] == first.input["image_url"]
    assert second.input["end_image_url"] == first.input["image_url"]
    assert uploads(emu) == 1
    client.submit(HAILUO, {"prompt": "c", "image_url": png(seed=2)})
    assert uploads(emu) == 2


def test_the_disk_cache_is_shared_between_clients(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache" / "uploads.json"
    monkeypatch.setenv("KIEFRAME_UPLOAD_CACHE", str(cache))
    with make_client(emu) as first:
        url = first.submit(HAILUO, {"prompt": "a", "image_url": jpeg(1)}).input["image_url"]
    with make_client(emu) as second:
        again = second.submit(HAILUO, {"prompt": "a", "image_url": jpeg(1)}).input["image_url"]
    assert again == url
    assert uploads(emu) == 1
    assert Emulator.API_KEY not in cache.read_text()


def test_the_upload_cache_file_can_be_given_to_the_client(emu: Emulator, tmp_path: Path) -> None:
    cache = tmp_path / "uploads.json"
    with make_client(emu, upload_cache=cache) as first:
        url = first.submit(HAILUO, {"prompt": "a", "image_url": png(seed=9)}).input["image_url"]
    with make_client(emu, upload_cache=cache) as second:
        again = second.submit(HAILUO, {"prompt": "b", "image_url": png(seed=9)}).input["image_url"]
    assert again == url
    assert uploads(emu) == 1
    with make_client(emu) as without_the_file:  # memory only: uploads again
        without_the_file.submit(HAILUO, {"prompt": "c", "image_url": png(seed=9)})
    assert uploads(emu) == 2


def test_a_transient_upload_failure_is_retried(emu: Emulator, client: kieframe.Client) -> None:
    emu.fault("upload", "http_500")
    task = client.submit(HAILUO, {"prompt": "a", "image_url": png(seed=4)})
    assert served(client, task) == png(seed=4)
    assert uploads(emu) == 2


async def test_async_submit_uploads(emu: Emulator, aclient: kieframe.AsyncClient) -> None:
    task = await aclient.submit(HAILUO, {"prompt": "a", "image_url": jpeg(7)})
    async with httpx.AsyncClient() as http:
        assert (await http.get(task.input["image_url"])).content == jpeg(7)
    with pytest.raises(kieframe.InputValidationError):
        await aclient.submit(HAILUO, {"prompt": "a", "image_url": GIF})
    assert uploads(emu) == 1


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
