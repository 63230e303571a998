"""The :class:`Emulator`: a local kie.ai (Jobs API, upload API, file host) for tests and demos."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar, Self

from ._app import App, Keys, ModelSource
from ._callbacks import CallbackMode, Callbacks
from ._faults import Fault, FaultBook
from ._links import LinkSigner
from ._mp4 import smallest_mp4
from ._records import (
    CallbackAttempt,
    Endpoint,
    FaultKind,
    Lifetimes,
    Outcome,
    Stats,
    TaskInfo,
    Timing,
    UploadInfo,
)
from ._server import ServerThread
from ._state import Clock, Counters, Script, TaskStore
from ._store import FileStore

__all__ = ["Emulator"]


class Emulator:
    """A kie.ai emulator: a real HTTP server on loopback, scriptable from tests.

    It serves the Jobs API (``createTask``, ``recordInfo``), ``chat/credit``,
    ``common/download-url``, the three upload routes (``/api/file-*-upload``; on the same server,
    see :attr:`upload_base_url`) and the result and upload files (``/files/...``, signed,
    expiring links with ``Range`` support), and it sends task callbacks::

        with Emulator(seed=1, hmac_key="secret") as emu:
            emu.script(outcome="fail", fail_code="500", fail_msg="boom")  # the next task fails
            emu.fault("createTask", "drop")  # the next create is accepted, then the line is cut
            httpx.post(f"{emu.base_url}/api/v1/jobs/createTask", json=body,
                       headers={"Authorization": f"Bearer {Emulator.API_KEY}"})

    Behaviour, as in kie-api-facts: every API answer is a ``{"code", "msg", "data"}`` envelope;
    business errors come inside HTTP 200 unless ``errors_as_http_status``. Any non-empty
    ``Bearer`` key is valid and shares the account, except :attr:`INVALID_KEY` (401) and
    :attr:`NO_CREDITS_KEY` (402 on create). Each create costs :attr:`TASK_COST` credits.
    Unless ``rate_limits`` is false, a 21st create within 10 s answers 429 and is dropped, and an
    11th recordInfo per key within 1 s answers 429; both carry ``Retry-After``. ``window_scale``
    multiplies both windows and their Retry-After (0.05: 20 creates per 0.5 s, Retry-After 0.05 s
    a second), so tests of the budgets take seconds.
    A new task answers
    ``422 recordInfo is null`` for ``timing.invisible`` seconds, then is ``waiting``, ``queuing``,
    ``generating`` and ``success`` (or as scripted). Task ids start with a prefix drawn afresh
    for each emulator, so a restarted emulator never hands out an id again; ``seed`` drives the
    rest of each id, chance faults and callbacks. Inputs are checked with the model's spec
    (``registry.get_model``, default :func:`kieframe.get_model`). Result videos are playable
    H.264 MP4 files of ``result_size`` bytes (at least 2.6 kB): a slow pan over the task's
    uploaded input image (a PNG), or over a picture generated for the task. A URL upload cannot
    reach the network: it accepts only links to files this emulator serves, and copies them.

    The state is thread-safe: the server runs on its own thread and loop.
    """

    #: A key the emulator refuses with 401.
    INVALID_KEY: ClassVar[str] = "emulator-invalid-key"
    #: A valid key whose account has no credits: createTask answers 402, credit answers 0.
    NO_CREDITS_KEY: ClassVar[str] = "emulator-no-credits-key"
    #: A valid key to use in tests (any other non-empty key is valid too).
    API_KEY: ClassVar[str] = "emulator-key"
    #: Credits one task costs.
    TASK_COST: ClassVar[int] = 10

    def __init__(
        self,
        *,
        timing: Timing = Timing(),  # noqa: B008 - a frozen record
        seed: int = 0,
        errors_as_http_status: bool = False,
        hmac_key: str | None = None,
        credits: int = 10_000,
        rate_limits: bool = True,
        window_scale: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        lifetimes: Lifetimes = Lifetimes(),  # noqa: B008 - a frozen record
        result_size: int = 256 * 1024,
        registry: ModelSource | None = None,
    ) -> None:
        self._server: ServerThread | None = None
        if result_size < smallest_mp4():
            raise ValueError(
                f"result_size must be at least {smallest_mp4()} bytes (a playable MP4)"
            )
        clock = Clock()
        self._host = host
        self._port = port
        self._tasks = TaskStore(
            clock=clock,
            seed=seed,
            timing=timing,
            credits=credits,
            rate_limits=rate_limits,
            window_scale=window_scale,
        )
        self._signer = LinkSigner(seed=seed, clock=clock)
        self._files = FileStore(signer=self._signer, lifetimes=lifetimes, result_size=result_size)
        self._faults = FaultBook(seed=seed)
        self._callbacks = Callbacks(seed=seed, hmac_key=hmac_key)
        self._counters = Counters()
        self._app = App(
            tasks=self._tasks,
            files=self._files,
            signer=self._signer,
            faults=self._faults,
            callbacks=self._callbacks,
            counters=self._counters,
            keys=Keys(
                invalid=self.INVALID_KEY, no_credits=self.NO_CREDITS_KEY, task_cost=self.TASK_COST
            ),
            models=registry,
            errors_as_http_status=errors_as_http_status,
            seed=seed,
        )

    def __repr__(self) -> str:
        where = self._server.base_url if self._server is not None else "not started"
        return f"<Emulator {where}>"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the socket and serve from a background thread; an emulator starts only once."""
        if self._server is not None:
            raise RuntimeError("this emulator was already started")
        self._server = ServerThread(self._app, self._callbacks, host=self._host, port=self._port)
        self._signer.base_url = self._server.base_url
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and cancel pending callbacks; the recorded state stays readable."""
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The Jobs API root, such as ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server.base_url

    @property
    def upload_base_url(self) -> str:
        """The upload API root (the same server here; kie.ai uses a separate host)."""
        return self.base_url

    # -- scripting ----------------------------------------------------------------------------

    def script(
        self,
        *,
        outcome: Outcome = "success",
        fail_code: str = "500",
        fail_msg: str = "internal error",
        state: str | None = None,
        timing: Timing | None = None,
    ) -> None:
        """Script the next created task (scripts queue up, first in first out).

        ``outcome`` is ``success``, ``fail`` (with ``fail_code`` and ``fail_msg`` in the record
        and a 501 callback) or ``never`` (the task keeps running: for deadline tests). ``state``
        renames the ``generating`` phase, such as ``"rendering"``, to test that an unknown state
        counts as running. ``timing`` replaces the emulator's timing for this task.
        """
        self._tasks.add_script(
            Script(outcome=outcome, fail_code=fail_code, fail_msg=fail_msg, state=state,
                   timing=timing)
        )  # fmt: skip

    def fault(
        self,
        endpoint: Endpoint,
        kind: FaultKind,
        *,
        times: int = 1,
        probability: float | None = None,
        code: int = 500,
        msg: str | None = None,
        seconds: float = 1.0,
        cut_after: int = 0,
        retry_after: int | None = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Make requests to ``endpoint`` fail: the next ``times`` ones, or each by ``probability``.

        With ``probability`` (seeded, so runs repeat), the fault replaces any earlier probable
        fault of the endpoint and queued faults still come first; ``probability=0`` turns it
        off. Kinds:

        - ``http_500``: HTTP 500 with a 500 envelope (a plain 500 for ``files``);
        - ``code``: the envelope error ``code`` (such as 455, 433, 505, 500, 408, or 429 with
          ``retry_after``), inside HTTP 200 or as the HTTP status, like every business error;
        - ``drop``: the request is handled (a create makes its task: the ambiguous failure),
          then the connection is cut after the response head and ``cut_after`` body bytes
          (for ``files``, a download cut mid-file);
        - ``drop_before``: the connection is cut before the request is handled (no task);
        - ``latency``: wait ``seconds`` before handling the request (it is still handled);
        - ``raw``: HTTP status ``code`` with ``body`` as is and ``headers`` (a server that is not
          quite kie.ai: a garbled record, a mislabelled encoding, an HTML page for a file...);
        - ``redirect_loop``: a 302 back to the URL asked for, for ever.
        """
        if endpoint not in typing.get_args(Endpoint):
            raise ValueError(f"unknown endpoint {endpoint!r}")
        if kind not in typing.get_args(FaultKind):
            raise ValueError(f"unknown fault kind {kind!r}")
        injected = Fault(
            kind=kind, code=code, msg=msg, seconds=seconds, cut_after=cut_after,
            retry_after=retry_after, body=body, headers=tuple((headers or {}).items()),
        )  # fmt: skip
        if probability is None:
            self._faults.queue(endpoint, injected, times=times)
        else:
            self._faults.set_chance(endpoint, injected, probability)

    def clear_faults(self) -> None:
        """Forget every queued and probable fault."""
        self._faults.clear()

    def callbacks_mode(
        self, *, duplicate: int = 0, delay: float = 0.0, lose: bool | float = False
    ) -> None:
        """How callbacks of tasks created from now on are delivered.

        Each is sent ``1 + duplicate`` times, ``delay`` seconds after the task finishes; each
        delivery is lost (logged, not sent) when ``lose`` is true, or with probability ``lose``
        (seeded). Call with no arguments to restore faithful delivery.
        """
        self._callbacks.mode = CallbackMode(duplicate=duplicate, delay=delay, lose=float(lose))

    def expire_links(self) -> None:
        """Expire every file link issued so far (results and uploads), as time would."""
        self._signer.expire_all()

    # -- observing ----------------------------------------------------------------------------

    @property
    def credits(self) -> int:
        """Credits left on the account; assign to set them."""
        return self._tasks.credits

    @credits.setter
    def credits(self, value: int) -> None:
        self._tasks.credits = value

    @property
    def tasks(self) -> tuple[TaskInfo, ...]:
        """Every task created so far, oldest first."""
        return self._tasks.tasks()

    @property
    def uploads(self) -> tuple[UploadInfo, ...]:
        """The files stored through the upload routes (one per path, latest write last)."""
        return self._files.uploads()

    @property
    def callback_log(self) -> tuple[CallbackAttempt, ...]:
        """Every callback delivery attempt, in order."""
        return self._callbacks.log()

    @property
    def stats(self) -> Stats:
        """Request counts per endpoint, rate-limit refusals and User-Agent values."""
        return self._counters.snapshot()

    def record(self, task_id: str) -> dict[str, Any] | None:
        """The record recordInfo would answer now, or ``None`` while it answers "null"."""
        return self._tasks.record(task_id, links=self._app.result_links)
