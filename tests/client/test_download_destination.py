"""``run(download_to=...)`` checks the folder before paying; a later failed save keeps the id."""

from __future__ import annotations

import dataclasses
import math
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe.testing import Emulator

INPUT = {"prompt": "a cat", "image_url": "https://example.com/cat.png"}
WAN = "wan/2-5-image-to-video"

#: Anything that is no path: what run() must refuse before it submits.
NOT_PATHS = st.one_of(
    st.integers(), st.floats(), st.binary(), st.lists(st.text(), max_size=2), st.booleans()
)


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    return tmp_path / "notes.txt" / "out"


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(wrong=NOT_PATHS)
def test_a_download_to_that_is_no_path_is_refused_before_submitting(
    kie_client: kieframe.Client, kie_emulator: Emulator, wrong: Any
) -> None:
    with pytest.raises(TypeError, match=r"download_to takes a folder path"):
        kie_client.run(WAN, INPUT, download_to=wrong)
    assert not kie_emulator.tasks  # nothing was paid for


def test_a_download_to_under_a_file_is_refused_before_submitting(
    kie_client: kieframe.Client, kie_emulator: Emulator, tmp_path: Path
) -> None:
    folder = _under_a_file(tmp_path)
    with pytest.raises(kieframe.DownloadError, match=r"notes.txt is not a folder") as caught:
        kie_client.run(WAN, INPUT, download_to=folder)
    assert caught.value.task_id is None
    assert not kie_emulator.tasks


def test_a_missing_folder_is_not_made_until_there_are_files(
    kie_client: kieframe.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "a" / "b"
    with pytest.raises(kieframe.InputValidationError):  # refused input: nothing to save
        kie_client.run(WAN, {"prompt": "a cat"}, download_to=folder)
    assert sorted(tmp_path.iterdir()) == []  # neither the folder nor a probe file is left
    result = kie_client.run(WAN, INPUT, download_to=folder)
    assert [path.parent for path in result.files] == [folder]


def test_a_save_failing_after_the_task_is_paid_is_a_download_error_with_the_task_id(
    kie_client: kieframe.Client,
    kie_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "out"
    wait = kie_client.wait

    def wait_then_take_the_folder(*args: Any, **kwargs: Any) -> kieframe.TaskRecord:
        record = wait(*args, **kwargs)
        folder.write_text("someone made a file here meanwhile")
        return record

    monkeypatch.setattr(kie_client, "wait", wait_then_take_the_folder)
    with pytest.raises(kieframe.DownloadError) as caught:
        kie_client.run(WAN, INPUT, download_to=folder)
    [task] = kie_emulator.tasks
    assert caught.value.task_id == task.task_id
    assert str(folder) in caught.value.message
    assert any(f"client.wait('{task.task_id}')" in note for note in caught.value.__notes__)


async def test_the_async_client_checks_the_folder_before_submitting_too(tmp_path: Path) -> None:
    with Emulator() as emulator:
        async with kieframe.AsyncClient(
            Emulator.API_KEY, base_url=emulator.base_url, upload_base_url=emulator.base_url
        ) as client:
            with pytest.raises(TypeError, match=r"download_to takes a folder path"):
                await client.run(WAN, INPUT, download_to=5)  # type: ignore[arg-type]
            with pytest.raises(kieframe.DownloadError, match=r"is not a folder"):
                await client.run(WAN, INPUT, download_to=_under_a_file(tmp_path))
            assert not emulator.tasks


async def test_the_async_download_turns_a_file_system_error_into_a_download_error(
    tmp_path: Path,
) -> None:
    folder = _under_a_file(tmp_path)
    with Emulator() as emulator:
        async with kieframe.AsyncClient(
            Emulator.API_KEY, base_url=emulator.base_url, upload_base_url=emulator.base_url
        ) as client:
            task = await client.submit(WAN, INPUT)
            record = await client.wait(task)
            with pytest.raises(kieframe.DownloadError) as caught:
                await client.download(record, to=folder)
    assert caught.value.task_id == task.task_id


def test_a_kieframe_error_that_is_also_an_os_error_passes_through_unchanged(
    kie_client: kieframe.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = kie_client.wait(kie_client.submit(WAN, INPUT))
    timeout = kieframe.WaitTimeout("gave up", task_id=record.task_id, last_state="generating")
    assert isinstance(timeout, OSError)  # TimeoutError is one

    def give_up(*args: Any, **kwargs: Any) -> Any:
        raise timeout

    monkeypatch.setattr(kie_client._performer, "run_all", give_up)
    with pytest.raises(kieframe.WaitTimeout) as caught:
        kie_client.download(record, to=tmp_path)
    assert caught.value is timeout


@pytest.fixture
def finished(kie_client: kieframe.Client) -> kieframe.TaskRecord:
    return kie_client.wait(kie_client.submit(WAN, INPUT), timeout=60)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("a\x00b", "cannot hold a NUL byte"), ("a\ud800b", "'\\\\ud800' \\(a lone surrogate\\)")],
)
def test_a_folder_no_file_name_can_hold_is_a_download_error(
    kie_client: kieframe.Client, finished: kieframe.TaskRecord, tmp_path: Path, name: str,
    problem: str,
) -> None:  # fmt: skip
    with pytest.raises(kieframe.DownloadError, match=problem):
        kie_client.download(finished, to=tmp_path / name)
    with pytest.raises(kieframe.DownloadError, match=problem):
        kie_client.run(WAN, INPUT, download_to=str(tmp_path / name))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    ["http://[::1/a.mp4", "https://files.example/\ud800.mp4", "https://files.example/a\udcff"],
)
def test_a_result_link_no_request_can_carry_is_a_download_error(
    kie_client: kieframe.Client, finished: kieframe.TaskRecord, tmp_path: Path, url: str
) -> None:
    record = dataclasses.replace(finished, result_urls=(url,))
    with pytest.raises(kieframe.DownloadError, match=r"result 1: the link .* cannot be requested"):
        kie_client.download(record, to=tmp_path)


@pytest.mark.parametrize("concurrency", [0, -1])
def test_a_concurrency_below_one_is_refused(
    kie_client: kieframe.Client, finished: kieframe.TaskRecord, tmp_path: Path, concurrency: int
) -> None:
    with pytest.raises(ValueError, match=r"concurrency takes an int of at least 1"):
        kie_client.download(finished, to=tmp_path, concurrency=concurrency)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("concurrency", [math.nan, math.inf, 1.5, True])
def test_a_concurrency_that_is_no_int_is_refused(
    kie_client: kieframe.Client, finished: kieframe.TaskRecord, tmp_path: Path, concurrency: Any
) -> None:
    with pytest.raises(TypeError, match=r"concurrency takes an int"):
        kie_client.download(finished, to=tmp_path, concurrency=concurrency)


async def test_the_async_run_checks_its_folder_off_the_event_loop(
    kie_async_client: kieframe.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check writes and removes a probe file: file work that may stall on a slow disk.
    from kieframe._files._finish import check_folder as checked

    threads: list[str] = []

    def check(folder: Path) -> None:
        threads.append(threading.current_thread().name)
        checked(folder)

    monkeypatch.setattr("kieframe._client.check_folder", check)
    result = await kie_async_client.run(WAN, INPUT, download_to=tmp_path / "out")
    assert result.files
    assert threads
    assert threading.main_thread().name not in threads
