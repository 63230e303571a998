"""Injected faults: HTTP 500, business codes, ambiguous and clean drops, latency, chance."""

from __future__ import annotations

import httpx
import pytest
from waiting import wait_for

from kieframe.testing._emulator import Emulator

from ._support import CONNECTION_CUT, HEADERS, create_body, create_task


def test_http_500(emulator: Emulator, client: httpx.Client) -> None:
    emulator.fault("createTask", "http_500")
    response = client.post("/api/v1/jobs/createTask", json=create_body())
    assert response.status_code == 500
    assert response.json()["code"] == 500
    assert emulator.tasks == ()
    create_task(client)  # one-shot: the next request is served
    assert len(emulator.tasks) == 1


def test_business_code_inside_200(emulator: Emulator, client: httpx.Client) -> None:
    emulator.fault("recordInfo", "code", code=455, times=2)
    for _ in range(2):
        response = client.get("/api/v1/jobs/recordInfo", params={"taskId": "x"})
        assert response.status_code == 200
        assert response.json() == {"code": 455, "msg": "service under maintenance", "data": None}
    assert client.get("/api/v1/jobs/recordInfo", params={"taskId": "x"}).json()["code"] == 422


def test_429_with_retry_after(emulator: Emulator, client: httpx.Client) -> None:
    emulator.fault("createTask", "code", code=429, retry_after=3, msg="slow down")
    response = client.post("/api/v1/jobs/createTask", json=create_body())
    assert response.json() == {"code": 429, "msg": "slow down", "data": None}
    assert response.headers["retry-after"] == "3"
    assert emulator.tasks == ()


def test_raw_answers_any_status_headers_and_body(emulator: Emulator, client: httpx.Client) -> None:
    page = {"content-type": "text/html", "x-a": "1"}
    emulator.fault("recordInfo", "raw", code=203, body=b"<p>hi</p>", headers=page)
    response = client.get("/api/v1/jobs/recordInfo", params={"taskId": "x"})
    assert (response.status_code, response.content) == (203, b"<p>hi</p>")
    assert (response.headers["content-type"], response.headers["x-a"]) == ("text/html", "1")


def test_redirect_loop_points_back_at_the_same_url(
    emulator: Emulator, client: httpx.Client
) -> None:
    emulator.fault("credit", "redirect_loop", probability=1.0)
    response = client.get("/api/v1/chat/credit", params={"a": "b c"})
    assert response.status_code == 302
    assert response.headers["location"] == "/api/v1/chat/credit?a=b+c"
    with pytest.raises(httpx.TooManyRedirects):
        client.get("/api/v1/chat/credit", follow_redirects=True)


def test_ambiguous_drop_creates_exactly_one_task(emulator: Emulator, client: httpx.Client) -> None:
    emulator.fault("createTask", "drop")
    with pytest.raises(CONNECTION_CUT):
        client.post("/api/v1/jobs/createTask", json=create_body())
    (task,) = emulator.tasks
    assert emulator.credits == 10_000 - Emulator.TASK_COST
    assert wait_for(lambda: emulator.record(task.task_id)) is not None
    assert emulator.stats.requests["createTask"] == 1


def test_drop_before_creates_nothing(emulator: Emulator, client: httpx.Client) -> None:
    emulator.fault("createTask", "drop_before")
    with pytest.raises(CONNECTION_CUT):
        client.post("/api/v1/jobs/createTask", json=create_body())
    assert emulator.tasks == ()
    assert emulator.credits == 10_000
    assert emulator.stats.requests["createTask"] == 1
    create_task(client)  # the server is fine afterwards
    assert len(emulator.tasks) == 1


def test_drop_on_other_endpoints(emulator: Emulator, client: httpx.Client) -> None:
    emulator.fault("credit", "drop", cut_after=5)
    with pytest.raises(CONNECTION_CUT):
        client.get("/api/v1/chat/credit")
    emulator.fault("recordInfo", "drop_before")
    with pytest.raises(CONNECTION_CUT):
        client.get("/api/v1/jobs/recordInfo", params={"taskId": "x"})


def test_latency_makes_the_client_time_out_but_the_task_exists(emulator: Emulator) -> None:
    emulator.fault("createTask", "latency", seconds=0.5)
    with (
        httpx.Client(base_url=emulator.base_url, headers=HEADERS, timeout=0.05) as hasty,
        pytest.raises(httpx.ReadTimeout),
    ):
        hasty.post("/api/v1/jobs/createTask", json=create_body())
    wait_for(lambda: len(emulator.tasks) == 1)


def test_stop_ends_pending_latency() -> None:
    emu = Emulator().start()
    emu.fault("credit", "latency", seconds=600)
    with (
        httpx.Client(base_url=emu.base_url, headers=HEADERS, timeout=0.05) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.get("/api/v1/chat/credit")
    emu.stop()  # must not wait ten minutes


def test_chance_faults_follow_the_seed() -> None:
    def pattern(seed: int) -> list[int]:
        with Emulator(seed=seed) as emu, httpx.Client(base_url=emu.base_url, headers=HEADERS) as c:
            emu.fault("credit", "code", code=500, probability=0.5)
            codes = [c.get("/api/v1/chat/credit").json()["code"] for _ in range(24)]
            emu.fault("credit", "code", probability=0)
            assert c.get("/api/v1/chat/credit").json()["code"] == 200
            return codes

    first = pattern(3)
    assert set(first) == {200, 500}
    assert pattern(3) == first


def test_queued_faults_come_before_chance_and_can_be_cleared(
    emulator: Emulator, client: httpx.Client
) -> None:
    emulator.fault("credit", "code", code=433, probability=1.0)
    emulator.fault("credit", "code", code=505)
    assert client.get("/api/v1/chat/credit").json()["code"] == 505
    assert client.get("/api/v1/chat/credit").json()["code"] == 433
    emulator.clear_faults()
    assert client.get("/api/v1/chat/credit").json()["code"] == 200


def test_fault_arguments_are_checked(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        emulator.fault("nowhere", "drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind"):
        emulator.fault("credit", "explode")  # type: ignore[arg-type]
