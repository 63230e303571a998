"""``download`` takes the finished record ``wait`` returns; a Task or an id says so clearly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import kieframe
from kieframe.testing import Emulator

INPUT = {"prompt": "a cat", "image_url": "https://example.com/cat.png"}
WAN = "wan/2-5-image-to-video"


def test_a_task_or_an_id_is_refused_saying_to_pass_the_record(
    kie_client: kieframe.Client, kie_emulator: Emulator, tmp_path: Path
) -> None:
    task = kie_client.submit(WAN, INPUT)
    for wrong in (task, task.task_id):
        with pytest.raises(TypeError, match=r"the TaskRecord that wait\(\) returns"):
            kie_client.download(wrong, to=tmp_path)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_the_async_client_refuses_them_the_same_way(tmp_path: Path) -> None:
    async def attempt() -> None:
        with Emulator() as emulator:
            async with kieframe.AsyncClient(
                Emulator.API_KEY, base_url=emulator.base_url, upload_base_url=emulator.base_url
            ) as client:
                task = await client.submit(WAN, INPUT)
                with pytest.raises(TypeError, match=r"the TaskRecord that wait\(\) returns"):
                    await client.download(task, to=tmp_path)  # type: ignore[arg-type]

    asyncio.run(attempt())
