"""The Jobs API: createTask, recordInfo, credit; states, scripts, keys, envelopes, rate limits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from waiting import wait_for

import kieframe
from kieframe.testing._emulator import Emulator, Timing
from kieframe.testing._emulator._state import Clock, Script, Task, TaskStore

from ._support import (
    FAST,
    HAILUO,
    HEADERS,
    HIDDEN,
    VALID_INPUT,
    create_body,
    create_task,
    finished_record,
)

#: A model kie.ai refuses to create without a callBackUrl.
MOTION = "kling-3.0/motion-control"
MOTION_INPUT = kieframe.get_model(MOTION).examples[0]["input"]

RECORD_KEYS = {
    "taskId",
    "model",
    "state",
    "param",
    "resultJson",
    "failCode",
    "failMsg",
    "costTime",
    "completeTime",
    "createTime",
    "updateTime",
}


def record_info(client: httpx.Client, task_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = client.get(
        "/api/v1/jobs/recordInfo", params={"taskId": task_id}
    ).json()
    return answer


def test_create_answers_a_task_id_and_records_the_task(
    emulator: Emulator, client: httpx.Client
) -> None:
    response = client.post("/api/v1/jobs/createTask", json=create_body())
    assert response.status_code == 200
    answer = response.json()
    assert answer["code"] == 200
    assert answer["msg"] == "success"
    task_id = answer["data"]["taskId"]
    assert len(task_id) == 32
    int(task_id, 16)
    (task,) = emulator.tasks
    assert task.task_id == task_id
    assert task.model == HAILUO
    assert task.input == VALID_INPUT
    assert task.callback_url is None
    assert emulator.credits == 10_000 - Emulator.TASK_COST


def test_each_emulator_hands_out_new_task_ids_whatever_the_seed() -> None:
    """A restarted emulator never reuses an id: journals and result files never collide."""

    def ids(seed: int) -> list[str]:
        with (
            Emulator(seed=seed, timing=HIDDEN) as emu,
            httpx.Client(base_url=emu.base_url, headers=HEADERS) as http,
        ):
            return [create_task(http), create_task(http)]

    first, second = ids(7), ids(7)
    assert len(set(first + second)) == 4
    assert all(len(task_id) == 32 and int(task_id, 16) >= 0 for task_id in first + second)


def test_a_new_task_is_invisible_first() -> None:
    with Emulator(timing=HIDDEN) as emu, httpx.Client(base_url=emu.base_url, headers=HEADERS) as c:
        task_id = create_task(c)
        response = c.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})
        assert response.status_code == 200
        assert response.json() == {"code": 422, "msg": "recordInfo is null", "data": None}
        assert emu.record(task_id) is None


def test_unknown_and_missing_task_ids(client: httpx.Client) -> None:
    assert record_info(client, "0" * 32)["code"] == 422
    answer = client.get("/api/v1/jobs/recordInfo").json()
    assert answer["code"] == 400


def test_states_progress_in_order_to_success(emulator: Emulator, client: httpx.Client) -> None:
    task_id = create_task(client)
    order = ["null", "waiting", "queuing", "generating", "success"]
    seen: list[str] = []

    def poll() -> bool:
        answer = record_info(client, task_id)
        state = "null" if answer["code"] == 422 else answer["data"]["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        return state == "success"

    wait_for(poll)
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    record = record_info(client, task_id)["data"]
    assert set(record) == RECORD_KEYS
    assert record["taskId"] == task_id
    assert record["model"] == HAILUO
    assert json.loads(record["param"]) == create_body()
    (url,) = json.loads(record["resultJson"])["resultUrls"]
    assert url.startswith(f"{emulator.base_url}/files/")
    assert record["failCode"] is None
    assert record["failMsg"] is None
    assert record["costTime"] == round(FAST.total * 1000)
    assert record["completeTime"] == record["createTime"] + record["costTime"]
    assert record["updateTime"] == record["completeTime"]
    # The stored result URL does not change between reads.
    assert record_info(client, task_id)["data"]["resultJson"] == record["resultJson"]


def test_phases_follow_the_clock() -> None:
    timing = Timing(invisible=1, waiting=1, queuing=1, generating=1)
    store = TaskStore(clock=Clock(), seed=0, timing=timing, credits=100, rate_limits=False)
    store.add_script(Script(state="rendering"))
    task = store.create(model="m", input={}, param="{}", callback_url=None, cost=1)
    start = task.created
    states = [task.phase(start + t) for t in (0.5, 1.5, 2.5, 3.5, 4.5, 99)]
    assert states[0] is None
    assert [(p.state, p.since, p.terminal) for p in states[1:] if p is not None] == [
        ("waiting", 0.0, False),
        ("queuing", 2.0, False),
        ("rendering", 3.0, False),
        ("success", 4.0, True),
        ("success", 4.0, True),
    ]
    never = Task(
        info=task.info,
        param="{}",
        created=start,
        created_ms=0,
        script=Script(outcome="never"),
        timing=timing,
    )
    assert never.finishes_after is None
    phase = never.phase(start + 10_000)
    assert phase is not None
    assert (phase.state, phase.terminal) == ("generating", False)


def test_scripted_failure(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(outcome="fail", fail_code="501", fail_msg="content policy")
    failed = create_task(client)
    succeeded = create_task(client)
    record = finished_record(emulator, failed)
    assert record["state"] == "fail"
    assert record["failCode"] == "501"
    assert record["failMsg"] == "content policy"
    assert record["resultJson"] == ""
    assert record["costTime"] is None
    assert record["completeTime"] is not None
    # Over the wire too: a failed task is not an error.
    answer = record_info(client, failed)
    assert answer["code"] == 200
    assert answer["data"]["state"] == "fail"
    assert finished_record(emulator, succeeded)["state"] == "success"
    assert [t.outcome for t in emulator.tasks] == ["fail", "success"]


def test_scripted_unknown_state_and_never_finishing(
    emulator: Emulator, client: httpx.Client
) -> None:
    emulator.script(outcome="never", state="rendering")
    task_id = create_task(client)
    wait_for(lambda: (rec := emulator.record(task_id)) is not None and rec["state"] == "rendering")
    assert record_info(client, task_id)["data"]["state"] == "rendering"


def test_scripted_timing_applies_to_one_task(emulator: Emulator, client: httpx.Client) -> None:
    emulator.script(timing=HIDDEN)
    hidden = create_task(client)
    normal = create_task(client)
    assert finished_record(emulator, normal)["state"] == "success"
    assert emulator.record(hidden) is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": HAILUO, "input": {"prompt": "x"}}, "image_url"),
        ({"model": "nobody/no-model", "input": VALID_INPUT}, "no-model"),
        ({"model": HAILUO}, "input"),
        ({"input": VALID_INPUT}, "model"),
        (create_body(callBackUrl="ftp://example.com/x"), "callBackUrl"),
        (create_body(callBackUrl="http://[::1"), "callBackUrl"),
        (create_body(callBackUrl="http://example.com:99999/cb"), "callBackUrl"),
        ({"model": HAILUO, "input": {**VALID_INPUT, "image_url": "http://[::1/"}}, "image_url"),
        ({"model": MOTION, "input": MOTION_INPUT}, "callBackUrl"),
    ],
)
def test_invalid_creates_answer_422(
    emulator: Emulator, client: httpx.Client, body: dict[str, Any], needle: str
) -> None:
    answer = client.post("/api/v1/jobs/createTask", json=body).json()
    assert answer["code"] == 422
    assert needle in answer["msg"]
    assert emulator.tasks == ()
    assert emulator.credits == 10_000


def test_malformed_json_answers_400(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/jobs/createTask",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.json()["code"] == 400


def test_models_come_from_the_given_registry() -> None:
    class Accepting:
        def validate(self, data: Mapping[str, Any]) -> object:
            return data

    class OneModel:
        def get_model(self, model_id: str, /) -> Accepting:
            if model_id != "acme/anything":
                raise LookupError(f"no model {model_id}")
            return Accepting()

    with (
        Emulator(registry=OneModel()) as emu,
        httpx.Client(base_url=emu.base_url, headers=HEADERS) as http,
    ):
        ok = http.post("/api/v1/jobs/createTask", json={"model": "acme/anything", "input": {}})
        assert ok.json()["code"] == 200
        refused = http.post("/api/v1/jobs/createTask", json=create_body())
        assert refused.json() == {"code": 422, "msg": f"no model {HAILUO}", "data": None}


def test_a_malformed_url_in_an_input_no_spec_checks_is_no_file_of_the_emulator() -> None:
    """A URL urllib cannot read ("http://[::1/a.png") is no upload: the task runs (no 500)."""

    class Accepting:
        def validate(self, data: Mapping[str, Any]) -> object:
            return data

    class OneModel:
        def get_model(self, model_id: str, /) -> Accepting:
            return Accepting()

    with (
        Emulator(registry=OneModel(), timing=FAST) as emu,
        httpx.Client(base_url=emu.base_url, headers=HEADERS) as http,
    ):
        body = {"model": "acme/anything", "input": {"image_url": "http://[::1/a.png"}}
        task_id = http.post("/api/v1/jobs/createTask", json=body).json()["data"]["taskId"]
        assert finished_record(emu, task_id)["state"] == "success"
        assert record_info(http, task_id)["code"] == 200
        answer = http.post("/api/v1/common/download-url", json={"url": "http://[::1/a.mp4"})
        assert answer.json()["code"] == 422


def test_credit_answers_the_remaining_credits(emulator: Emulator, client: httpx.Client) -> None:
    assert client.get("/api/v1/chat/credit").json() == {
        "code": 200,
        "msg": "success",
        "data": 10_000,
    }
    create_task(client)
    assert client.get("/api/v1/chat/credit").json()["data"] == 10_000 - Emulator.TASK_COST
    emulator.credits = 5
    answer = client.post("/api/v1/jobs/createTask", json=create_body()).json()
    assert answer["code"] == 402
    assert len(emulator.tasks) == 1


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ({}, "/api/v1/chat/credit"),
        ({"Authorization": "Basic abc"}, "/api/v1/chat/credit"),
        ({"Authorization": "Bearer"}, "/api/v1/jobs/recordInfo?taskId=x"),
        ({"Authorization": f"Bearer {Emulator.INVALID_KEY}"}, "/api/v1/chat/credit"),
    ],
)
def test_bad_keys_answer_401(emulator: Emulator, headers: dict[str, str], path: str) -> None:
    response = httpx.get(f"{emulator.base_url}{path}", headers=headers)
    assert response.status_code == 200
    assert response.json()["code"] == 401


def test_no_credits_key(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bearer {Emulator.NO_CREDITS_KEY}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers) as http:
        assert http.post("/api/v1/jobs/createTask", json=create_body()).json()["code"] == 402
        assert http.get("/api/v1/chat/credit").json()["data"] == 0
    assert emulator.tasks == ()


def test_any_other_key_shares_the_account(emulator: Emulator) -> None:
    for key in ("key-one", "key-two"):
        with httpx.Client(
            base_url=emulator.base_url, headers={"Authorization": f"Bearer {key}"}
        ) as http:
            create_task(http)
    assert emulator.credits == 10_000 - 2 * Emulator.TASK_COST


def test_errors_as_http_status() -> None:
    with Emulator(errors_as_http_status=True) as emu, httpx.Client(base_url=emu.base_url) as http:
        unauthorized = http.get("/api/v1/chat/credit")
        assert unauthorized.status_code == 401
        assert unauthorized.json()["code"] == 401
        http.headers.update(HEADERS)
        missing = http.get("/api/v1/jobs/recordInfo", params={"taskId": "nope"})
        assert (missing.status_code, missing.json()["msg"]) == (422, "recordInfo is null")
        for code in (455, 433, 505, 408):
            emu.fault("credit", "code", code=code)
            response = http.get("/api/v1/chat/credit")
            assert (response.status_code, response.json()["code"]) == (code, code)
        assert http.get("/api/v1/chat/credit").status_code == 200


def test_user_agents_and_request_counts(emulator: Emulator, client: httpx.Client) -> None:
    client.get("/api/v1/chat/credit")
    request = httpx.Request(
        "GET",
        f"{emulator.base_url}/api/v1/chat/credit",
        headers={"Authorization": HEADERS["Authorization"]},
    )
    assert "user-agent" not in request.headers
    with httpx.Client() as bare:
        assert bare.send(request).json()["code"] == 200
    client.get("/nowhere")
    stats = emulator.stats
    assert stats.requests == {"credit": 2, "other": 1}
    assert stats.user_agents == {"kieframe-tests/1": 2}
    assert stats.missing_user_agent == 1
    assert Emulator.API_KEY not in repr(stats)


def test_create_rate_limit_drops_the_request() -> None:
    with Emulator(timing=HIDDEN) as emu, httpx.Client(base_url=emu.base_url, headers=HEADERS) as c:
        for _ in range(20):
            create_task(c)
        response = c.post("/api/v1/jobs/createTask", json=create_body())
        assert response.status_code == 200
        assert response.json()["code"] == 429
        assert 1 <= int(response.headers["retry-after"]) <= 10
        assert len(emu.tasks) == 20
        assert emu.credits == 10_000 - 20 * Emulator.TASK_COST
        assert emu.stats.rate_limited == {"createTask": 1}
        assert emu.stats.requests["createTask"] == 21


def test_record_info_rate_limit_is_per_key() -> None:
    # Ten reads per 10 s instead of per second: thirty in a row exceed them on any machine.
    emulating = Emulator(timing=HIDDEN, window_scale=10)
    with emulating as emu, httpx.Client(base_url=emu.base_url, headers=HEADERS) as c:
        codes = [record_info(c, "x")["code"] for _ in range(30)]
        # The first ten can never be limited; the rest exceed ten per window.
        assert 429 not in codes[:10]
        assert 429 in codes
        limited = c.get("/api/v1/jobs/recordInfo", params={"taskId": "x"})
        if limited.json()["code"] == 429:  # a second of kie.ai's time, scaled like the window
            assert limited.headers["retry-after"] == "10"
        other = {"Authorization": "Bearer another-key"}
        assert (
            c.get("/api/v1/jobs/recordInfo", params={"taskId": "x"}, headers=other).json()["code"]
            == 422
        )
        assert emu.stats.rate_limited["recordInfo"] >= 1


def test_unknown_route_and_wrong_method(client: httpx.Client) -> None:
    assert client.get("/api/v1/nothing").status_code == 404
    assert client.get("/api/v1/jobs/createTask").status_code == 405
