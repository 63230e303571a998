"""kie.ai's error codes map to typed exceptions, in the HTTP status or inside an HTTP 200."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import stamina

import kieframe
from kieframe.errors import BadRequestError, NotFoundError, ServerError
from kieframe.lifecycle import RateLimits
from kieframe.testing import Emulator
from kieframe.testing.pytest_plugin import FAST_POLL, FAST_TIMING

CODES: dict[int, type[kieframe.APIError]] = {
    400: BadRequestError,
    401: kieframe.AuthenticationError,
    402: kieframe.InsufficientCreditsError,
    404: NotFoundError,
    408: kieframe.APIError,
    422: BadRequestError,
    429: kieframe.RateLimitError,
    433: kieframe.InsufficientCreditsError,
    455: ServerError,
    500: ServerError,
    501: kieframe.APIError,
    503: ServerError,
    505: kieframe.APIError,
}
RETRYABLE = {429, 455, 500, 503}


@pytest.fixture(params=[False, True], ids=["inside-http-200", "as-http-status"])
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    with Emulator(
        timing=FAST_TIMING, rate_limits=False, errors_as_http_status=request.param
    ) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[kieframe.Client]:
    with kieframe.Client(
        Emulator.API_KEY,
        base_url=emulator.base_url,
        poll=FAST_POLL,
        rate_limits=RateLimits.off(),
    ) as client:
        yield client


@pytest.fixture
def no_retries() -> Iterator[None]:
    """stamina's testing switch: one attempt, no backoff."""
    stamina.set_testing(True, attempts=1)
    yield
    stamina.set_testing(False)


@pytest.mark.usefixtures("no_retries")
@pytest.mark.parametrize(("code", "cls"), CODES.items(), ids=[str(c) for c in CODES])
def test_every_code_maps_to_its_exception(
    code: int, cls: type[kieframe.APIError], client: kieframe.Client, emulator: Emulator
) -> None:
    emulator.fault("credit", "code", code=code, msg=f"emulated {code}")
    with pytest.raises(cls) as caught:
        client.credits()
    error = caught.value
    assert type(error) is cls  # only the codes people branch on have a class of their own
    assert error.code == code
    assert error.message == f"emulated {code}"
    assert error.retryable is (code in RETRYABLE)
    assert isinstance(error, kieframe.KieError)


@pytest.mark.usefixtures("no_retries")
@pytest.mark.parametrize(("code", "cls"), CODES.items(), ids=[str(c) for c in CODES])
async def test_every_code_maps_to_its_exception_async(
    code: int, cls: type[kieframe.APIError], emulator: Emulator
) -> None:
    emulator.fault("credit", "code", code=code, msg=f"emulated {code}")
    async with kieframe.AsyncClient(Emulator.API_KEY, base_url=emulator.base_url) as client:
        with pytest.raises(cls) as caught:
            await client.credits()
    assert caught.value.code == code


def test_errors_carry_the_task_id(client: kieframe.Client, emulator: Emulator) -> None:
    task = client.submit("wan/2-5-image-to-video", {"prompt": "p", "image_url": "https://e.com/i"})
    emulator.fault("recordInfo", "code", code=505, msg="feature disabled")
    with pytest.raises(kieframe.APIError) as caught:
        client.get(task)
    assert caught.value.code == 505
    assert caught.value.task_id == task.task_id
    assert task.task_id in str(caught.value)


def test_reads_are_retried_through_transient_codes(
    client: kieframe.Client, emulator: Emulator
) -> None:
    stamina.set_testing(True, attempts=5)
    try:
        for code in (429, 455, 500):
            emulator.fault("credit", "code", code=code)
        emulator.fault("credit", "http_500")
        assert client.credits() > 0
    finally:
        stamina.set_testing(False)
    assert emulator.stats.requests["credit"] == 5


@pytest.mark.parametrize("attempts", [1, 2, 5])
def test_a_read_gives_up_after_its_attempts_the_first_included(
    client: kieframe.Client, emulator: Emulator, attempts: int
) -> None:
    stamina.set_testing(True, attempts=attempts)
    try:
        for _ in range(attempts + 1):
            emulator.fault("credit", "code", code=500)
        with pytest.raises(ServerError):
            client.credits()
    finally:
        stamina.set_testing(False)
    assert emulator.stats.requests["credit"] == attempts


async def test_async_reads_are_retried_through_transient_codes(emulator: Emulator) -> None:
    stamina.set_testing(True, attempts=3)
    try:
        async with kieframe.AsyncClient(
            Emulator.API_KEY, base_url=emulator.base_url, rate_limits=RateLimits.off()
        ) as client:
            emulator.fault("credit", "code", code=455)
            emulator.fault("credit", "http_500")
            assert await client.credits() > 0
            for _ in range(3):
                emulator.fault("credit", "code", code=500)
            with pytest.raises(ServerError):
                await client.credits()
    finally:
        stamina.set_testing(False)
    assert emulator.stats.requests["credit"] == 6


def test_a_permanent_error_is_not_retried(client: kieframe.Client, emulator: Emulator) -> None:
    emulator.fault("credit", "code", code=433)
    with pytest.raises(kieframe.APIError) as caught:
        client.credits()
    assert caught.value.code == 433
    assert emulator.stats.requests["credit"] == 1


def test_bad_key_and_empty_account(emulator: Emulator) -> None:
    with kieframe.Client(Emulator.INVALID_KEY, base_url=emulator.base_url) as client:
        with pytest.raises(kieframe.AuthenticationError):
            client.credits()
    with kieframe.Client(Emulator.NO_CREDITS_KEY, base_url=emulator.base_url) as client:
        with pytest.raises(kieframe.InsufficientCreditsError):
            client.submit("wan/2-5-image-to-video", {"prompt": "p", "image_url": "https://e.com/i"})
    assert emulator.tasks == ()


def test_a_failed_task_raises_task_failed(client: kieframe.Client, emulator: Emulator) -> None:
    emulator.script(outcome="fail", fail_code="500", fail_msg="content moderation")
    task = client.submit(
        "hailuo/02-image-to-video-pro", {"prompt": "p", "image_url": "https://e.com/i"}
    )
    with pytest.raises(kieframe.TaskFailed) as caught:
        client.wait(task)
    error = caught.value
    assert error.task_id == task.task_id
    assert error.fail_code == "500"
    assert "content moderation" in str(error)
    assert error.record.failed
    assert not isinstance(error, kieframe.APIError)  # a failed task is not an HTTP error


def test_error_for_code_falls_back_sensibly() -> None:
    assert ServerError is kieframe._errors.error_for_code(503)
    assert kieframe.APIError is kieframe._errors.error_for_code(418)
    assert kieframe.APIError is kieframe._errors.error_for_code(501)


def test_the_module_docstring_names_the_class_each_code_raises() -> None:
    """The tree in ``kieframe._errors``' docstring says what ``error_for_code`` does."""
    error_for_code = kieframe._errors.error_for_code
    doc = kieframe._errors.__doc__ or ""
    named = 0
    for name, codes in re.findall(r"── (\w+Error)\s+((?:\d{3}(?:, )?)+)", doc):
        if not issubclass(getattr(kieframe, name), kieframe.APIError):
            continue  # a callback error's code is the HTTP status its receiver answers
        for code in re.findall(r"\d{3}", codes):
            assert error_for_code(int(code)) is getattr(kieframe, name), (name, code)
            named += 1
    assert named >= 7
    (plain,) = re.findall(r"Other codes \(([^)]*)\) raise a plain", doc)
    for code in re.findall(r"\d{3}", plain):
        assert error_for_code(int(code)) is kieframe.APIError, code
