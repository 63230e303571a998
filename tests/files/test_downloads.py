"""Result downloads against the emulator: resume, refresh, checks, safe names, both clients."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest
from video import decode

import kieframe
from kieframe.lifecycle import PollPlan
from kieframe.testing import Emulator
from kieframe.testing._emulator import build_mp4

from ._images import png
from .conftest import HAILUO, RESULT_SIZE

INPUT = {"prompt": "a slow pan", "image_url": "https://example.com/a.png"}


def finished(client: kieframe.Client) -> kieframe.TaskRecord:
    return client.wait(client.submit(HAILUO, INPUT))


def expected(record: kieframe.TaskRecord) -> bytes:
    return build_mp4(size=RESULT_SIZE, seed=record.task_id)


def files_in(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def test_download_writes_the_file_and_its_metadata(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    record = finished(client)
    seen: list[tuple[int, int | None]] = []
    (path,) = client.download(
        record, to=tmp_path, progress=lambda file, done, total: seen.append((done, total))
    )
    assert path == tmp_path / f"{record.task_id}-1.mp4"
    assert path.read_bytes() == expected(record)
    meta = json.loads((tmp_path / f"{path.name}.json").read_text())
    assert meta["task_id"] == record.task_id
    assert meta["model"] == HAILUO
    assert meta["input"]["input"].items() >= INPUT.items()
    assert meta["size"] == RESULT_SIZE
    assert meta["cost_ms"] == record.cost_ms
    assert meta["completed_at"]
    assert "sig=" not in meta["source"]
    assert Emulator.API_KEY not in json.dumps(meta)
    assert seen[-1] == (RESULT_SIZE, RESULT_SIZE)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert files_in(tmp_path) == {path.name, f"{path.name}.json"}


def test_a_cut_download_resumes_with_a_range(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    record = finished(client)
    emu.fault("files", "drop", cut_after=70_000, times=2)
    (path,) = client.download(record, to=tmp_path)
    assert path.read_bytes() == expected(record)
    assert emu.stats.requests["files"] == 3
    assert files_in(tmp_path) == {path.name, f"{path.name}.json"}


def test_a_partial_file_left_behind_is_resumed(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    record = finished(client)
    emu.fault("files", "drop", cut_after=50_000)  # progress, then none: the retries run out
    emu.fault("files", "drop", cut_after=0, times=6)
    with pytest.raises(kieframe.DownloadError, match="gave up after retries") as caught:
        client.download(record, to=tmp_path)
    assert caught.value.task_id == record.task_id
    part = tmp_path / f".{record.task_id}-1.mp4.kieframe-part"
    assert part.read_bytes() == expected(record)[:50_000]
    assert not (tmp_path / f"{record.task_id}-1.mp4").exists()
    (path,) = client.download(record, to=tmp_path)
    assert path.read_bytes() == expected(record)
    assert not part.exists()


def test_an_expired_link_is_refreshed(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    record = finished(client)
    emu.expire_links()
    (path,) = client.download(record, to=tmp_path)
    assert path.read_bytes() == expected(record)
    assert emu.stats.requests["download-url"] == 1


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_link_is_refreshed_then_given_up(
    emu: Emulator, client: kieframe.Client, tmp_path: Path, status: int
) -> None:
    record = finished(client)
    emu.fault("files", "code", code=status)
    (path,) = client.download(record, to=tmp_path / "once")
    assert path.read_bytes() == expected(record)
    emu.fault("files", "code", code=status, times=3)
    with pytest.raises(kieframe.DownloadError, match=f"HTTP {status}"):
        client.download(record, to=tmp_path / "always")
    assert emu.stats.requests["download-url"] == 3
    assert not any(p.suffix == ".mp4" for p in (tmp_path / "always").iterdir())


def test_transient_errors_are_retried(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    record = finished(client)
    emu.fault("files", "http_500")
    emu.fault("files", "drop_before")
    (path,) = client.download(record, to=tmp_path)
    assert path.read_bytes() == expected(record)


def test_an_existing_different_file_is_never_clobbered(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    record = finished(client)
    mine = tmp_path / f"{record.task_id}-1.mp4"
    mine.write_bytes(b"my own video")
    (path,) = client.download(record, to=tmp_path)
    assert mine.read_bytes() == b"my own video"
    assert path.name == f"{record.task_id}-1~2.mp4"
    assert path.read_bytes() == expected(record)
    (again,) = client.download(record, to=tmp_path)
    assert again == path  # the same bytes are recognised, not stored a third time
    assert len([p for p in tmp_path.iterdir() if p.suffix == ".mp4"]) == 2


@pytest.mark.parametrize(
    "task_id",
    ["../../escape", "a/b/c", "..", "x\x00y", "/etc/passwd", "C:\\evil", "é" * 300, "NUL"],
)
def test_hostile_task_ids_stay_inside_the_folder(
    emu: Emulator, client: kieframe.Client, tmp_path: Path, task_id: str
) -> None:
    real = finished(client)
    hostile = dataclasses.replace(real, task_id=task_id)
    folder = tmp_path / "out"
    (path,) = client.download(hostile, to=folder)
    assert path.parent == folder
    assert path.read_bytes() == expected(real)
    assert len(path.name) < 200
    assert {p.parent for p in tmp_path.rglob("*")} <= {tmp_path, folder}
    assert json.loads(Path(f"{path}.json").read_text())["task_id"] == task_id


def test_an_unfinished_task_has_nothing_to_download(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    running = dataclasses.replace(finished(client), state=kieframe.TaskState.GENERATING)
    with pytest.raises(kieframe.DownloadError, match="no results"):
        client.download(running, to=tmp_path)
    assert emu.stats.requests.get("files", 0) == 0


def many_results(
    client: kieframe.Client, count: int
) -> tuple[kieframe.TaskRecord, list[kieframe.TaskRecord]]:
    """One record whose results are the videos of ``count`` tasks."""
    records = [finished(client) for _ in range(count)]
    urls = tuple(url for record in records for url in record.result_urls)
    return dataclasses.replace(records[0], result_urls=urls), records


def test_several_files_download_at_once(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    combined, records = many_results(client, 4)
    lock = threading.Lock()
    finals: dict[Path, int] = {}

    def progress(file: Path, done: int, total: int | None) -> None:
        with lock:
            finals[file] = done

    emu.fault("files", "drop", cut_after=10_000, times=2)
    paths = client.download(combined, to=tmp_path, progress=progress, concurrency=3)
    assert [p.name for p in paths] == [f"{combined.task_id}-{n}.mp4" for n in range(1, 5)]
    for path, record in zip(paths, records, strict=True):
        assert path.read_bytes() == expected(record)
    assert set(finals.values()) == {RESULT_SIZE}


async def test_async_download_resumes_and_refreshes(
    emu: Emulator, aclient: kieframe.AsyncClient, client: kieframe.Client, tmp_path: Path
) -> None:
    combined, records = many_results(client, 3)
    emu.expire_links()
    emu.fault("files", "drop", cut_after=30_000, times=2)
    paths = await aclient.download(combined, to=tmp_path, concurrency=2)
    for path, record in zip(paths, records, strict=True):
        assert path.read_bytes() == expected(record)
    assert emu.stats.requests["download-url"] == 3


def test_run_uploads_and_downloads(emu: Emulator, client: kieframe.Client, tmp_path: Path) -> None:
    image = tmp_path / "start.png"
    image.write_bytes(png(16, 16, seed=2))
    result = client.run(HAILUO, {"prompt": "go", "image_url": image}, download_to=tmp_path / "r")
    (path,) = result.files
    expected = build_mp4(size=RESULT_SIZE, seed=result.task_id, image=image.read_bytes())
    assert path.read_bytes() == expected  # made from the uploaded image
    assert [info.method for info in emu.uploads] == ["base64"]


async def test_async_run_uploads_and_downloads(
    emu: Emulator, aclient: kieframe.AsyncClient, tmp_path: Path
) -> None:
    result = await aclient.run(
        HAILUO, {"prompt": "go", "image_url": png(seed=8)}, download_to=tmp_path
    )
    (path,) = result.files
    expected = build_mp4(size=RESULT_SIZE, seed=result.task_id, image=png(seed=8))
    assert path.read_bytes() == expected
    assert emu.stats.requests["upload"] == 1


@pytest.mark.parametrize("bad", ["\n", "\x00", "\r\nX-Injected: 1"])
def test_a_link_with_a_control_character_is_a_download_error(
    emu: Emulator, client: kieframe.Client, tmp_path: Path, bad: str
) -> None:
    record = finished(client)
    broken = dataclasses.replace(record, result_urls=(record.result_urls[0] + bad + "x",))
    with pytest.raises(kieframe.DownloadError) as caught:
        client.download(broken, to=tmp_path)
    assert caught.value.task_id == record.task_id


async def test_an_async_download_of_a_link_with_a_nul_is_a_download_error(
    emu: Emulator, tmp_path: Path
) -> None:
    async with kieframe.AsyncClient(
        Emulator.API_KEY, base_url=emu.base_url, poll=PollPlan.every(0.05)
    ) as client:
        record = await client.wait(await client.submit(HAILUO, INPUT))
        broken = dataclasses.replace(record, result_urls=("https://example.com/a\x00.mp4",))
        with pytest.raises(kieframe.DownloadError):
            await client.download(broken, to=tmp_path)


def test_the_video_of_an_uploaded_image_starts_with_that_image(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    """Through real sockets: upload a red picture, download a clip whose first frame is red."""
    red = png(48, 27, color=(230, 20, 20))
    result = client.run(HAILUO, {"prompt": "go", "image_url": red}, download_to=tmp_path)
    (path,) = result.files
    frames = decode(path.read_bytes())
    assert len(frames) > 1
    first = frames[0]
    assert first.mean("cr") - first.mean("cb") > 60  # red, not the generated sky and hills


def test_an_emulator_result_size_too_small_for_a_video_is_refused() -> None:
    with pytest.raises(ValueError, match="result_size"):
        Emulator(result_size=1024)


@pytest.mark.parametrize("kind", ["blocking", "async"])
async def test_an_error_from_the_progress_callback_is_its_own(
    emu: Emulator,
    client: kieframe.Client,
    aclient: kieframe.AsyncClient,
    tmp_path: Path,
    kind: str,
) -> None:
    # A progress display whose pipe is gone: the user's error, not a file that could not be saved.
    record = finished(client)
    gone = BrokenPipeError(32, "Broken pipe")

    def progress(file: Path, done: int, total: int | None) -> None:
        raise gone

    async def download() -> object:
        if kind == "blocking":
            return client.download(record, to=tmp_path, progress=progress)
        return await aclient.download(record, to=tmp_path, progress=progress)

    with pytest.raises(BrokenPipeError) as caught:
        await download()
    assert caught.value is gone


def test_a_file_system_error_is_still_a_download_error(
    emu: Emulator, client: kieframe.Client, tmp_path: Path
) -> None:
    record = finished(client)
    (tmp_path / "a file").write_text("not a folder")
    with pytest.raises(kieframe.DownloadError, match="could not be saved"):
        client.download(record, to=tmp_path / "a file", progress=lambda *_: None)
