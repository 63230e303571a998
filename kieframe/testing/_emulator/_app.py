"""The emulator's raw ASGI 3 application: routing, auth, envelopes, faults and the handlers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import msgspec

from ..._registry import get_model
from ._callbacks import Callbacks
from ._faults import Fault, FaultBook
from ._files import serve_file
from ._http import BodyTooLarge, Exchange, Receive, Scope, Send
from ._links import LinkSigner
from ._records import Endpoint, UploadInfo, UploadMethod
from ._state import Counters, Rejected, Task, TaskStore
from ._store import FileStore, sniff_mime
from ._uploads import (
    BASE64_LIMIT,
    UploadError,
    UploadRequest,
    file_name_for,
    parse_base64_upload,
    parse_multipart,
    parse_url_upload,
)

__all__ = ["App", "Keys", "ModelSource"]

_JSON_LIMIT = 1024 * 1024
_STREAM_LIMIT = 100 * 1024 * 1024
_MESSAGES = {
    400: "bad request",
    401: "Authentication failed, please check API Key",
    402: "insufficient credits",
    404: "not found",
    408: "upstream returned no result within 10 minutes",
    422: "validation failed",
    429: "rate limited",
    433: "sub-key usage cap exceeded",
    455: "service under maintenance",
    500: "internal server error",
    501: "generation failed",
    505: "feature disabled",
}


class _Model(Protocol):
    def validate(self, data: Mapping[str, Any]) -> object: ...


class ModelSource(Protocol):
    """Where the emulator finds model specs, such as a :class:`kieframe.Registry`.

    ``get_model`` raises ``LookupError`` for an unknown id; ``validate`` raises ``ValueError``.
    """

    def get_model(self, model_id: str, /) -> _Model: ...


@dataclass(frozen=True, slots=True)
class Keys:
    """The special API keys and what a task costs."""

    invalid: str
    no_credits: str
    task_cost: int


def _text_result(data: Mapping[str, Any]) -> dict[str, Any]:
    """A text model's emulated answer (kie.ai's ``resultObject``), made from its input."""
    prompt = data.get("prompt")
    topic = prompt if isinstance(prompt, str) and prompt else "the input"
    return {"text": f"An emulated answer about {topic[:200]}.", "fields": sorted(data)}


def _default_lookup(model_id: str) -> _Model:
    return get_model(model_id)


def _key_id(key: str) -> str:
    """A digest standing for an API key in per-key accounting; the key itself is never stored."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        port = parts.port  # reading it checks it
    except ValueError:  # an unclosed IPv6 bracket, a port past 65535...
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0


class App:
    """The kie.ai Jobs API, upload API and file host, as one ASGI application."""

    def __init__(
        self,
        *,
        tasks: TaskStore,
        files: FileStore,
        signer: LinkSigner,
        faults: FaultBook,
        callbacks: Callbacks,
        counters: Counters,
        keys: Keys,
        models: ModelSource | None,
        errors_as_http_status: bool,
        seed: int,
    ) -> None:
        self._tasks = tasks
        self._files = files
        self._signer = signer
        self._faults = faults
        self._callbacks = callbacks
        self._counters = counters
        self._keys = keys
        self._lookup = models.get_model if models is not None else _default_lookup
        self._as_status = errors_as_http_status
        self._names = random.Random(f"{seed}:upload-names")
        self._stopping = asyncio.Event()
        Handler = Callable[[Exchange], Awaitable[None]]
        self._routes: dict[str, tuple[Endpoint, str, Handler]] = {
            "/api/v1/jobs/createTask": ("createTask", "POST", self._create_task),
            "/api/v1/jobs/recordInfo": ("recordInfo", "GET", self._record_info),
            "/api/v1/chat/credit": ("credit", "GET", self._credit),
            "/api/v1/common/download-url": ("download-url", "POST", self._download_url),
            "/api/file-stream-upload": ("upload", "POST", self._stream_upload),
            "/api/file-base64-upload": ("upload", "POST", self._base64_upload),
            "/api/file-url-upload": ("upload", "POST", self._url_upload),
        }

    def stop_waiting(self) -> None:
        """End every injected latency now (call on the server loop when stopping)."""
        self._stopping.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] != "http":
            return
        ex = Exchange(scope, receive, send)
        route = self._routes.get(ex.path)
        endpoint: Endpoint | None = (
            route[0] if route else "files" if ex.path.startswith("/files/") else None
        )
        self._counters.request(endpoint or "other", ex.headers.get("user-agent"))
        if endpoint is None:
            await ex.json(404, {"code": 404, "msg": "not found", "data": None})
            return
        fault = self._faults.next(endpoint)
        if fault is not None and await self._apply(ex, endpoint, fault):
            return
        if route is None:
            await serve_file(ex, store=self._files, signer=self._signer)
            return
        _, method, handler = route
        upload = endpoint == "upload"
        if ex.method != method:
            await ex.json(405, self._envelope(405, "method not allowed", upload=upload))
            return
        try:
            await handler(ex)
        except Rejected as exc:
            if exc.code == 429:
                self._counters.rate_limited(endpoint)
            await self._error(ex, exc.code, exc.msg, retry_after=exc.retry_after, upload=upload)
        except UploadError as exc:
            await self._error(ex, exc.code, exc.msg, upload=True)

    # -- faults and envelopes -----------------------------------------------------------------

    async def _apply(self, ex: Exchange, endpoint: Endpoint, fault: Fault) -> bool:
        """Apply ``fault``; ``True`` if it answered the request, ``False`` to go on handling it."""
        if fault.kind == "drop_before":
            await ex.cut()
            return True
        if fault.kind == "latency":
            # The request arrived in full before the wait, as with a slow server: it is handled.
            with contextlib.suppress(BodyTooLarge):
                await ex.body(limit=_STREAM_LIMIT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), fault.seconds)
            return False
        if fault.kind == "drop":
            ex.cut_after = fault.cut_after
            return False
        if fault.kind == "raw":
            headers = dict(fault.headers)
            kind = headers.pop("content-type", "application/json")
            await ex.respond(fault.code, fault.body, content_type=kind, headers=headers.items())
            return True
        if fault.kind == "redirect_loop":
            query = f"?{ex.query_string}" if ex.query_string else ""
            here = [("location", quote(ex.path) + query)]
            await ex.respond(302, b"", content_type="text/plain", headers=here)
            return True
        code = 500 if fault.kind == "http_500" else fault.code
        msg = fault.msg or _MESSAGES.get(code, "error")
        retry = [("retry-after", str(fault.retry_after))] if fault.retry_after is not None else []
        if endpoint == "files":
            await ex.respond(code, msg.encode(), content_type="text/plain", headers=retry)
        elif fault.kind == "http_500":
            await ex.json(500, self._envelope(500, msg, upload=endpoint == "upload"))
        else:
            await self._error(
                ex, code, msg, retry_after=fault.retry_after, upload=endpoint == "upload"
            )
        return True

    @staticmethod
    def _envelope(code: int, msg: str, *, upload: bool, data: object = None) -> dict[str, Any]:
        envelope: dict[str, Any] = {"code": code, "msg": msg, "data": data}
        return {"success": code == 200, **envelope} if upload else envelope

    async def _error(
        self, ex: Exchange, code: int, msg: str, *, retry_after: float | None = None, upload: bool
    ) -> None:
        status = code if self._as_status and 100 <= code <= 599 else 200
        headers = [("retry-after", f"{retry_after:g}")] if retry_after is not None else []
        await ex.json(status, self._envelope(code, msg, upload=upload), headers=headers)

    async def _ok(self, ex: Exchange, data: object, *, msg: str = "success") -> None:
        await ex.json(200, self._envelope(200, msg, upload=False, data=data))

    def _authorize(self, ex: Exchange) -> str:
        """The request's API key; raises :class:`Rejected` (401) for a missing or invalid one."""
        scheme, _, key = ex.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key or key == self._keys.invalid:
            raise Rejected(401, _MESSAGES[401])
        return key

    @staticmethod
    async def _json(ex: Exchange, *, limit: int = _JSON_LIMIT) -> dict[str, Any]:
        try:
            value = msgspec.json.decode(await ex.body(limit=limit))
        except BodyTooLarge:
            raise Rejected(400, f"request body is over {limit} bytes") from None
        except msgspec.DecodeError:
            raise Rejected(400, "request body is not valid JSON") from None
        if not isinstance(value, dict):
            raise Rejected(400, "request body must be a JSON object")
        return value

    # -- the Jobs API -------------------------------------------------------------------------

    def result_links(self, task: Task) -> tuple[str, ...]:
        """Register and sign a finished task's result files (issued at its completion).

        The files are of the kind the model declares (``output``): a text model has none.
        """
        kind, count = self._output(task.info.model)
        if kind == "text":
            return ()
        completed = task.created_ms + round(task.timing.total * 1000)
        return self._files.result_links(
            task.info.task_id,
            completed_ms=completed,
            kind=kind,
            count=count,
            image=self._input_image(task) if kind == "video" else None,
        )

    def _input_image(self, task: Task) -> bytes | None:
        """The task's first input that links to an image this emulator holds (an upload)."""
        for value in task.info.input.values():
            path = self._files.own_path(value) if isinstance(value, str) else None
            stored = self._files.get(path) if path is not None else None
            if stored is not None and stored.mime_type.startswith("image/"):
                return stored.data
        return None

    def _output(self, model: str) -> tuple[str, int]:
        """What ``model`` returns (its spec's ``output``; video if it says nothing) and how many."""
        try:
            spec = self._lookup(model)
        except LookupError:
            return "video", 1
        kind = getattr(spec, "output", "video")
        return (kind if isinstance(kind, str) else "video"), (
            2 if getattr(spec, "outputs", "one") == "many" else 1
        )

    def _known_fields(self, model: _Model, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` without fields the installed spec does not list (kie.ai knows newer ones)."""
        fields = getattr(model, "fields", None)
        if not isinstance(fields, tuple):
            return data
        names = {getattr(field, "name", None) for field in fields}
        return {key: value for key, value in data.items() if key in names}

    async def _create_task(self, ex: Exchange) -> None:
        key = self._authorize(ex)
        body = await self._json(ex)
        model, data, callback = body.get("model"), body.get("input"), body.get("callBackUrl")
        if not isinstance(model, str) or not model:
            raise Rejected(422, "model is required")
        if not isinstance(data, dict):
            raise Rejected(422, "input is required and must be an object")
        if callback is not None and not _is_http_url(callback):
            raise Rejected(422, "callBackUrl must be an http(s) URL")
        try:
            spec = self._lookup(model)
            spec.validate(self._known_fields(spec, data))
        except (LookupError, ValueError) as exc:
            raise Rejected(422, str(exc)) from None
        if callback is None and getattr(spec, "requires_callback", False):
            raise Rejected(422, "callBackUrl is required for this model")
        if key == self._keys.no_credits:
            raise Rejected(402, _MESSAGES[402])
        task = self._tasks.create(
            model=model,
            input=data,
            param=msgspec.json.encode(body).decode(),
            callback_url=callback,
            cost=self._keys.task_cost,
            result_object=_text_result(data) if self._output(model)[0] == "text" else None,
        )
        if callback is not None and task.finishes_after is not None:
            task_id = task.info.task_id
            self._callbacks.schedule(
                task_id,
                callback,
                after=task.finishes_after,
                payload=lambda: self._tasks.callback_payload(
                    task_id, links=self.result_links, cost=self._keys.task_cost
                ),
            )
        await self._ok(ex, {"taskId": task.info.task_id})

    async def _record_info(self, ex: Exchange) -> None:
        self._tasks.check_poll(_key_id(self._authorize(ex)))
        task_id = ex.query("taskId")
        if not task_id:
            raise Rejected(400, "taskId is required")
        record = self._tasks.record(task_id, links=self.result_links)
        if record is None:
            raise Rejected(422, "recordInfo is null")
        await self._ok(ex, record)

    async def _credit(self, ex: Exchange) -> None:
        key = self._authorize(ex)
        await self._ok(ex, 0 if key == self._keys.no_credits else self._tasks.credits)

    async def _download_url(self, ex: Exchange) -> None:
        self._authorize(ex)
        url = (await self._json(ex)).get("url")
        if not isinstance(url, str) or not url:
            raise Rejected(422, "url is required")
        path = self._files.own_path(url)
        if path is None:
            raise Rejected(422, "url is not a file generated by kie.ai")
        await self._ok(ex, self._files.fresh_link(path))

    # -- the upload API -----------------------------------------------------------------------

    async def _stream_upload(self, ex: Exchange) -> None:
        self._authorize(ex)
        try:
            body = await ex.body(limit=_STREAM_LIMIT)
        except BodyTooLarge:
            raise UploadError(f"uploads are limited to {_STREAM_LIMIT} bytes") from None
        request, original = parse_multipart(body, ex.headers.get("content-type", ""))
        await self._store_upload(ex, request, method="stream", original=original)

    async def _base64_upload(self, ex: Exchange) -> None:
        self._authorize(ex)
        try:
            body = await self._json(ex, limit=2 * BASE64_LIMIT)
        except Rejected as exc:
            raise UploadError(exc.msg, code=exc.code) from None
        await self._store_upload(ex, parse_base64_upload(body), method="base64", original=None)

    async def _url_upload(self, ex: Exchange) -> None:
        self._authorize(ex)
        try:
            request = parse_url_upload(await self._json(ex))
        except Rejected as exc:
            raise UploadError(exc.msg, code=exc.code) from None
        source = request.source or ""
        path = self._files.own_path(source)
        stored = self._files.get(path) if path is not None else None
        if path is None or stored is None:
            raise UploadError(
                "the emulator has no network: fileUrl must be a file link this emulator served"
            )
        link = self._signer.check(path, urlsplit(source).query)
        if link != "ok":
            raise UploadError(f"could not fetch fileUrl: the link is {link} (HTTP 403)")
        request = UploadRequest(
            upload_path=request.upload_path, file_name=request.file_name, data=stored.data
        )
        original = path.rsplit("/", 1)[-1]
        await self._store_upload(ex, request, method="url", original=original)

    async def _store_upload(
        self, ex: Exchange, request: UploadRequest, *, method: UploadMethod, original: str | None
    ) -> None:
        mime_type = sniff_mime(request.data)
        name = file_name_for(
            request.file_name,
            mime_type=mime_type,
            original=original,
            token=f"{self._names.getrandbits(64):016x}",
        )
        now = datetime.now(UTC)
        info = UploadInfo(
            file_path=f"{request.upload_path}/{name}",
            file_name=name,
            upload_path=request.upload_path,
            method=method,
            size=len(request.data),
            mime_type=mime_type,
            sha256=hashlib.sha256(request.data).hexdigest(),
            uploaded_at=now.timestamp(),
        )
        url = self._files.put_upload(info, request.data)
        data = {
            "fileName": info.file_name,
            "filePath": info.file_path,
            "downloadUrl": url,
            "fileSize": info.size,
            "mimeType": info.mime_type,
            "uploadedAt": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        await ex.json(
            200, self._envelope(200, "File uploaded successfully", upload=True, data=data)
        )
