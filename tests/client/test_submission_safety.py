"""A create is never sent twice unless kie.ai certainly did not take it; reads ride out faults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import stamina
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe.lifecycle import RateLimits
from kieframe.testing import Emulator
from kieframe.testing.pytest_plugin import FAST_POLL, FAST_TIMING

WAN = "wan/2-5-image-to-video"
INPUT = {"prompt": "a lighthouse in a storm", "image_url": "https://example.com/l.png"}


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """stamina's testing switch: retries without backoff sleeps."""
    stamina.set_testing(True, attempts=10)
    yield
    stamina.set_testing(False)


def _client(emulator: Emulator, **options: object) -> kieframe.Client:
    return kieframe.Client(
        Emulator.API_KEY,
        base_url=emulator.base_url,
        poll=FAST_POLL,
        rate_limits=RateLimits.off(),
        **options,  # type: ignore[arg-type]  # test-only pass-through of keyword options
    )


@pytest.mark.parametrize("kind", ["drop", "http_500"])
def test_ambiguous_create_raises_uncertain_and_is_not_resent(
    kind: str, kie_emulator: Emulator
) -> None:
    kie_emulator.fault("createTask", kind)  # type: ignore[arg-type]  # a FaultKind literal
    with _client(kie_emulator) as client, pytest.raises(kieframe.SubmissionUncertain) as caught:
        client.submit(WAN, INPUT)
    error = caught.value
    assert error.model == WAN
    assert error.input["prompt"] == INPUT["prompt"]
    assert error.sent_at > 0
    assert not error.retryable
    assert "not resent" in str(error)
    assert kie_emulator.stats.requests["createTask"] == 1  # sent once, never again
    assert len(kie_emulator.tasks) == (1 if kind == "drop" else 0)


def test_create_cut_before_processing_is_still_uncertain(kie_emulator: Emulator) -> None:
    kie_emulator.fault("createTask", "drop_before")
    with _client(kie_emulator) as client, pytest.raises(kieframe.SubmissionUncertain):
        client.submit(WAN, INPUT)
    assert kie_emulator.tasks == ()
    assert kie_emulator.stats.requests["createTask"] == 1


def test_create_timeout_after_sending_is_uncertain(kie_emulator: Emulator) -> None:
    kie_emulator.fault("createTask", "latency", seconds=1.0)
    with _client(kie_emulator, timeout=0.2) as client:
        with pytest.raises(kieframe.SubmissionUncertain):
            client.submit(WAN, INPUT)
    assert kie_emulator.stats.requests["createTask"] == 1


def test_rate_limited_create_is_resent_after_the_window(kie_emulator: Emulator) -> None:
    kie_emulator.fault("createTask", "code", code=429, retry_after=0)
    with _client(kie_emulator) as client:
        task = client.submit(WAN, INPUT)
    assert [t.task_id for t in kie_emulator.tasks] == [task.task_id]
    assert kie_emulator.stats.requests["createTask"] == 2


def test_rate_limited_create_gives_up_after_its_attempts(kie_emulator: Emulator) -> None:
    kie_emulator.fault("createTask", "code", code=429, retry_after=0, times=5)
    with _client(kie_emulator, create_attempts=2) as client:
        with pytest.raises(kieframe.RateLimitError):
            client.submit(WAN, INPUT)
    assert kie_emulator.tasks == ()
    assert kie_emulator.stats.requests["createTask"] == 2


class _RefuseFirstConnections(httpx.BaseTransport):
    """A transport whose first connection attempts fail, as when the server is briefly down."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            self.failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_create_is_resent_when_the_connection_was_never_made(kie_emulator: Emulator) -> None:
    with _client(kie_emulator, transport=_RefuseFirstConnections(2)) as client:
        task = client.submit(WAN, INPUT)
    assert [t.task_id for t in kie_emulator.tasks] == [task.task_id]


def test_create_against_a_dead_host_says_nothing_was_sent() -> None:
    with kieframe.Client("k", base_url="http://127.0.0.1:9", create_attempts=2) as client:
        with pytest.raises(kieframe.NoAnswerError) as caught:
            client.submit(WAN, INPUT)
    assert not caught.value.request_sent
    assert not isinstance(caught.value, kieframe.SubmissionUncertain)


def test_polling_rides_out_faults(kie_emulator: Emulator) -> None:
    with _client(kie_emulator) as client:
        task = client.submit(WAN, INPUT)
        kie_emulator.fault("recordInfo", "http_500")
        kie_emulator.fault("recordInfo", "drop")
        kie_emulator.fault("recordInfo", "code", code=455)
        kie_emulator.fault("recordInfo", "code", code=429, retry_after=0)
        assert client.wait(task).succeeded
    assert len(kie_emulator.tasks) == 1


async def test_async_polling_rides_out_faults(kie_emulator: Emulator) -> None:
    async with kieframe.AsyncClient(
        Emulator.API_KEY, base_url=kie_emulator.base_url, poll=FAST_POLL
    ) as client:
        task = await client.submit(WAN, INPUT)
        kie_emulator.fault("recordInfo", "drop", times=2)
        kie_emulator.fault("recordInfo", "http_500", times=2)
        assert (await client.wait(task)).succeeded


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 2**16),
    create_fault=st.sampled_from(["drop", "drop_before", "http_500", "latency"]),
    probability=st.floats(0.1, 0.6),
)
def test_random_faults_never_create_a_task_twice(
    seed: int, create_fault: str, probability: float
) -> None:
    """Under seeded random faults, every kie.ai task maps to at most one submit call."""
    submitted: list[str] = []
    uncertain = 0
    with Emulator(timing=FAST_TIMING, rate_limits=False, seed=seed) as emu:
        emu.fault("createTask", create_fault, probability=probability, seconds=0.3)  # type: ignore[arg-type]
        # Reads are retried up to 10 times: 0.2 ** 10 makes a lost read vanishingly rare.
        emu.fault("recordInfo", "http_500", probability=min(0.2, probability / 2))
        with _client(emu, timeout=0.15) as client:
            for _ in range(6):
                try:
                    task = client.submit(WAN, INPUT)
                except kieframe.SubmissionUncertain:
                    uncertain += 1
                    continue
                submitted.append(task.task_id)
                assert client.wait(task).succeeded
        created = [t.task_id for t in emu.tasks]
    assert len(set(submitted)) == len(submitted)
    assert set(submitted) <= set(created)
    # Each uncertain submit created at most one task; none was ever resent.
    assert len(created) <= len(submitted) + uncertain
    assert emu.stats.requests["createTask"] == 6
