"""The download operation without I/O: resume from a partial file, refresh expired links, finish."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import kieframe
from kieframe._core._download import DOWNLOAD_URL, download_op, plans_op
from kieframe._core._effects import Call, Fetch
from kieframe._core._fileplan import Step
from kieframe._records import TaskRecord, parse_record

from ._script import Script, record

BODY = b"0123456789" * 10
URL = "https://files.example/result.mp4"


def finished_record() -> TaskRecord:
    return parse_record(record("task-1", "success", resultJson=json.dumps({"resultUrls": [URL]})))


def serve(
    body: bytes, *, status: int | None = None, cut_at: int | None = None
) -> Callable[[Fetch], Step]:
    """A scripted file host: answers the plan's request (with its Range) from ``body``."""

    def fetch(effect: Fetch) -> Step:
        plan = effect.plan
        start = plan.offset
        if status is not None:
            decision = plan.on_head(status, {})
            assert decision.step is Step.REFRESH
            return decision.step
        headers = {"content-length": str(len(body) - start)}
        if start:
            headers["content-range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        decision = plan.on_head(206 if start else 200, headers)
        assert decision.step is Step.WRITE
        end = len(body) if cut_at is None else cut_at
        with plan.part.open("r+b" if plan.part.exists() else "wb") as handle:
            handle.truncate(decision.start)
            handle.seek(decision.start)
            handle.write(body[decision.start : end])
        if (failed := plan.on_data(end - decision.start)) is not None:
            return failed.step
        return plan.on_end().step

    return fetch


def download(script: Script, folder: Path) -> list[Path]:
    result = finished_record()
    plans = script.run(plans_op(result, folder))
    return [script.run(download_op(plan, result)) for plan in plans]


def test_a_file_is_fetched_and_finished_with_its_metadata(tmp_path: Path) -> None:
    script = Script(fetches=[serve(BODY)])
    [path] = download(script, tmp_path)
    assert path.read_bytes() == BODY
    meta = json.loads(path.with_name(path.name + ".json").read_text())
    assert (meta["task_id"], meta["size"], meta["source"]) == ("task-1", len(BODY), URL)
    assert script.of(Call) == []


def test_a_partial_file_from_an_earlier_attempt_is_resumed(tmp_path: Path) -> None:
    first = Script(fetches=[serve(BODY, cut_at=37)])
    result = finished_record()
    [plan] = first.run(plans_op(result, tmp_path))
    first.perform(Fetch(plan))  # an attempt cut short: 37 bytes stay in the partial file
    assert plan.part.stat().st_size == 37

    ranges: list[str] = []
    resumed = serve(BODY)

    def remember_range(effect: Fetch) -> Step:
        ranges.append(effect.plan.request_headers().get("Range", ""))
        return resumed(effect)

    script = Script(fetches=[remember_range])
    [path] = download(script, tmp_path)
    assert ranges == ["bytes=37-"]
    assert path.read_bytes() == BODY


def test_an_expired_link_is_refreshed_through_kie_ai(tmp_path: Path) -> None:
    fresh = "https://files.example/fresh.mp4"
    asked: list[str] = []

    def at(host: Callable[[Fetch], Step]) -> Callable[[Fetch], Step]:
        def fetch(effect: Fetch) -> Step:
            asked.append(effect.plan.url)
            return host(effect)

        return fetch

    script = Script(fetches=[at(serve(BODY, status=403)), at(serve(BODY))], calls=[fresh])
    [path] = download(script, tmp_path)
    assert path.read_bytes() == BODY
    [refresh] = script.of(Call)
    assert (refresh.path, refresh.json, refresh.retry) == (DOWNLOAD_URL, {"url": URL}, True)
    assert asked == [URL, fresh]


@pytest.mark.parametrize(
    "answer",
    [kieframe.errors.ServerError("down"), "not a link", None],
    ids=["error", "text", "none"],
)
def test_no_fresh_link_is_a_download_error(tmp_path: Path, answer: object) -> None:
    script = Script(fetches=[serve(BODY, status=410)], calls=[answer])
    with pytest.raises(kieframe.DownloadError, match="result 1"):
        download(script, tmp_path)


def test_a_record_without_results_is_a_download_error(tmp_path: Path) -> None:
    running = parse_record(record("task-1", "generating"))
    with pytest.raises(kieframe.DownloadError, match="no results"):
        Script().run(plans_op(running, tmp_path))
