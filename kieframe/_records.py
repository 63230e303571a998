"""Typed records of kie.ai's answers: task handles and task records."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "RawInput",
    "Result",
    "Task",
    "TaskRecord",
    "TaskState",
    "Unchecked",
    "is_failed_record",
    "parse_number",
    "parse_record",
]


class TaskState(enum.StrEnum):
    """The states kie.ai reports; a state not listed here counts as still running."""

    WAITING = "waiting"
    QUEUING = "queuing"
    GENERATING = "generating"
    SUCCESS = "success"
    FAIL = "fail"


TERMINAL_STATES = frozenset({TaskState.SUCCESS, TaskState.FAIL})


@dataclass(frozen=True, slots=True)
class RawInput:
    """An input sent as is, without validation: for a model no installed plugin describes (or
    one whose plugin refuses what kie.ai now takes); the plugin, if any, checks nothing.

    ``client.submit("vendor/new-model", kieframe.RawInput({...}))`` makes the lack of checks
    visible at the call site; kieframe logs a warning for each such submission.
    """

    data: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.data, Mapping):
            raise TypeError(
                "RawInput takes the input object, a mapping of field names to values, "
                f"not {type(self.data).__name__}"
            )


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A field value sent as is, for a field the installed plugin does not know yet.

    kie.ai adds parameters to models; until the plugin catches up, an unknown field is refused
    (with a "did you mean"). Wrap its value to send it anyway::

        client.submit("wan/2-5-image-to-video", {"prompt": "...", "image_url": url,
                                                 "new_option": kieframe.Unchecked(True)})

    The other fields are still validated; the value must be JSON-encodable. A field the plugin
    does know cannot be wrapped (its limits are checked as documented).
    """

    value: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """A handle on a task kie.ai accepted: keep ``task_id`` and the task is never lost."""

    task_id: str
    model: str
    input: Mapping[str, Any] = field(default_factory=dict, repr=False)
    callback_url: str | None = None
    submitted_at: float | None = None  # Unix seconds, when the create was sent
    validated: bool = True

    def __str__(self) -> str:
        return self.task_id


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRecord:
    """What kie.ai knows of a task (``recordInfo``, or a callback body).

    ``state`` is a :class:`TaskState` when kie.ai uses a known state and the raw string otherwise;
    ``param`` and ``result`` are decoded from the JSON strings kie.ai sends; ``raw`` is the record
    exactly as received. A file result is in ``result_urls`` (and ``watermark_urls``, where kie.ai
    also sends watermarked copies); a text result (a model whose output is ``"text"``) is in
    ``result_object``, as kie.ai sent it (a string or a decoded JSON value).
    """

    task_id: str
    model: str | None
    state: TaskState | str
    param: Mapping[str, Any] | None = None
    result: Mapping[str, Any] | None = None
    result_urls: tuple[str, ...] = ()
    watermark_urls: tuple[str, ...] = ()
    result_object: Any = None
    fail_code: str | None = None
    fail_msg: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    cost_ms: int | None = None
    credits_consumed: float | None = None
    credits_remaining: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """Whether the task reached ``success`` or ``fail``."""
        return self.state in TERMINAL_STATES

    @property
    def succeeded(self) -> bool:
        """Whether the task reached ``success``."""
        return self.state == TaskState.SUCCESS

    @property
    def failed(self) -> bool:
        """Whether the task reached ``fail``."""
        return self.state == TaskState.FAIL


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """What :meth:`~kieframe.Client.run` returns: the task, its final record, downloaded files."""

    task: Task
    record: TaskRecord
    files: tuple[Path, ...] = ()

    @property
    def task_id(self) -> str:
        """kie.ai's id of the task."""
        return self.task.task_id

    @property
    def urls(self) -> tuple[str, ...]:
        """The result URLs (short-lived: download them promptly)."""
        return self.record.result_urls

    @property
    def text(self) -> Any:
        """A text model's result (``resultObject``), or None for a model that returns files."""
        return self.record.result_object


def _state(value: Any) -> TaskState | str:
    text = str(value or "").strip().lower()
    try:
        return TaskState(text)
    except ValueError:
        return text or "unknown"


def _json_field(value: Any) -> Mapping[str, Any] | None:
    """kie.ai sends ``param`` and ``resultJson`` as JSON strings; tolerate objects and junk."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.strip():
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
            return None
        return decoded if isinstance(decoded, Mapping) else None
    return None


#: Timestamps below this are Unix seconds, above it milliseconds (1e11 s is the year 5138).
_SECONDS_BELOW = 1e11


def _time(value: Any) -> dt.datetime | None:
    """kie.ai's timestamps are Unix milliseconds; Unix seconds and digit strings are accepted."""
    number = parse_number(value)
    if number is None or number <= 0:
        return None
    seconds = number if number < _SECONDS_BELOW else number / 1000
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):  # past the year 9999: not a timestamp
        return None


def parse_number(value: Any) -> float | None:
    """A number, or a string holding one (``"1234"``); None for anything else."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _urls(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list):
        return tuple(str(url) for url in value if isinstance(url, str) and url)
    return ()


def _result_object(value: Any) -> Any:
    """kie.ai's ``resultObject``: sometimes a JSON string holding an object, kept decoded."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def is_failed_record(data: Any) -> bool:
    """Whether ``data`` is the record of a failed task (an error answer may carry one)."""
    return isinstance(data, Mapping) and _state(data.get("state")) == TaskState.FAIL


def parse_record(data: Mapping[str, Any]) -> TaskRecord:
    """Build a :class:`TaskRecord` from the ``data`` object of a recordInfo answer or callback."""
    task_id = data.get("taskId", data.get("task_id"))
    if not task_id:
        raise ValueError("the record has no taskId")
    result = _json_field(data.get("resultJson"))
    result = result or {}
    cost = parse_number(data.get("costTime"))
    return TaskRecord(
        task_id=str(task_id),
        model=_text(data.get("model")),
        state=_state(data.get("state")),
        param=_json_field(data.get("param")),
        result=result or None,
        result_urls=_urls(result.get("resultUrls")),
        watermark_urls=_urls(result.get("resultWaterMarkUrls")),
        result_object=_result_object(result.get("resultObject")),
        fail_code=_text(data.get("failCode")),
        fail_msg=_text(data.get("failMsg")),
        created_at=_time(data.get("createTime")),
        updated_at=_time(data.get("updateTime")),
        completed_at=_time(data.get("completeTime")),
        cost_ms=int(cost) if cost is not None else None,
        credits_consumed=parse_number(data.get("consumeCredits")),
        credits_remaining=parse_number(data.get("remainedCredits")),
        raw=dict(data),
    )
