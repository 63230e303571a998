"""Callbacks: signed deliveries, failure bodies, duplicates, losses, a receiver that is down."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket

import httpx
from waiting import wait_for

from kieframe.testing._emulator import Emulator, sign_callback

from ._support import FAST, HEADERS, Receiver, create_task

KEY = "webhook-secret"


def expected_signature(task_id: str, timestamp: str) -> str:
    mac = hmac.new(KEY.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def test_signed_callback_on_success(receiver: Receiver) -> None:
    with (
        Emulator(timing=FAST, hmac_key=KEY, rate_limits=False) as emu,
        httpx.Client(base_url=emu.base_url, headers=HEADERS) as http,
    ):
        task_id = create_task(http, callBackUrl=receiver.url)
        (got,) = wait_for(lambda: receiver.received)
        assert got.path == "/kie/callback"
        assert got.headers["content-type"] == "application/json"
        assert "emulator" in got.headers["user-agent"]
        timestamp = got.headers["x-webhook-timestamp"]
        assert timestamp.isdigit()
        assert hmac.compare_digest(
            got.headers["x-webhook-signature"], expected_signature(task_id, timestamp)
        )
        assert sign_callback(KEY, task_id, timestamp) == expected_signature(task_id, timestamp)
        body = json.loads(got.body)
        assert body["code"] == 200
        data = body["data"]
        assert data["taskId"] == task_id
        assert data["state"] == "success"
        assert json.loads(data["param"])["callBackUrl"] == receiver.url
        assert data["consumeCredits"] == Emulator.TASK_COST
        assert data["remainedCredits"] == emu.credits
        # The body has the recordInfo record, plus the two credit fields.
        polled = http.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
        assert {k: v for k, v in data.items() if k in polled} == polled
        (attempt,) = wait_for(lambda: emu.callback_log)
        assert (attempt.task_id, attempt.status, attempt.lost, attempt.delivery) == (
            task_id,
            200,
            False,
            1,
        )
        assert attempt.timestamp == timestamp
        assert attempt.body == got.body


def test_unsigned_failure_callback(
    emulator: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emulator.script(outcome="fail", fail_code="422", fail_msg="bad image")
    task_id = create_task(client, callBackUrl=receiver.url)
    (got,) = wait_for(lambda: receiver.received)
    assert "x-webhook-signature" not in got.headers
    body = json.loads(got.body)
    assert (body["code"], body["msg"]) == (501, "bad image")
    assert body["data"]["taskId"] == task_id
    assert (body["data"]["state"], body["data"]["failCode"]) == ("fail", "422")


def test_duplicated_and_delayed_callbacks(
    emulator: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emulator.callbacks_mode(duplicate=2, delay=0.05)
    task_id = create_task(client, callBackUrl=receiver.url)
    wait_for(lambda: len(receiver.received) == 3)
    assert {json.loads(r.body)["data"]["taskId"] for r in receiver.received} == {task_id}
    wait_for(lambda: len(emulator.callback_log) == 3)
    assert [a.delivery for a in emulator.callback_log] == [1, 2, 3]


def test_lost_callbacks_are_logged_not_sent(
    emulator: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emulator.callbacks_mode(lose=True)
    task_id = create_task(client, callBackUrl=receiver.url)
    (attempt,) = wait_for(lambda: emulator.callback_log)
    assert (attempt.task_id, attempt.lost, attempt.status) == (task_id, True, None)
    emulator.callbacks_mode()
    create_task(client, callBackUrl=receiver.url)
    wait_for(lambda: receiver.received)
    assert len(receiver.received) == 1


def test_chance_losses_follow_the_seed(receiver: Receiver) -> None:
    def losses(seed: int) -> list[bool]:
        with (
            Emulator(timing=FAST, seed=seed, rate_limits=False) as emu,
            httpx.Client(base_url=emu.base_url, headers=HEADERS) as http,
        ):
            emu.callbacks_mode(duplicate=9, lose=0.5)
            create_task(http, callBackUrl=receiver.url)
            wait_for(lambda: len(emu.callback_log) == 10)
            return [a.lost for a in emu.callback_log]

    first = losses(5)
    assert set(first) == {True, False}
    assert losses(5) == first


def test_receiver_down_does_not_hurt_the_server(emulator: Emulator, client: httpx.Client) -> None:
    with socket.socket() as probe:  # bound, never listening: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        create_task(client, callBackUrl=f"http://127.0.0.1:{port}/nobody")
        (attempt,) = wait_for(lambda: emulator.callback_log)
    assert attempt.status is None
    assert attempt.error is not None
    assert attempt.error.startswith("ConnectError")
    assert client.get("/api/v1/chat/credit").json()["code"] == 200


def test_never_finishing_tasks_send_no_callback(
    emulator: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emulator.script(outcome="never")
    create_task(client, callBackUrl=receiver.url)
    create_task(client, callBackUrl=receiver.url)
    wait_for(lambda: emulator.callback_log)  # logged once the delivery is answered
    (attempt,) = emulator.callback_log
    assert attempt.status == 200


def test_stop_cancels_pending_callbacks(receiver: Receiver) -> None:
    with Emulator(timing=FAST) as emu, httpx.Client(base_url=emu.base_url, headers=HEADERS) as c:
        emu.callbacks_mode(delay=600)
        create_task(c, callBackUrl=receiver.url)
    assert emu.callback_log == ()
    assert receiver.received == []
