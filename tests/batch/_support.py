"""A fast test model, an emulator with scaled-down windows, and batch options wired to it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

from kieframe.authoring import ImageUrl, ModelSpec, hookimpl
from kieframe.batch import LineRecord
from kieframe.lifecycle import PollPlan, RateLimits
from kieframe.registry import Registry
from kieframe.testing import Emulator, Timing

MODEL = "test/fast-video"
#: Emulator windows scaled to 5 %: 20 creates per 0.5 s, 10 reads per 50 ms.
SCALE = 0.05
TIMING = Timing(invisible=0.02, waiting=0.02, queuing=0.02, generating=0.1)


class FastInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A tiny image-to-video input."""

    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    image_url: ImageUrl
    duration: Annotated[int, msgspec.Meta(ge=1, le=10)] = 5


SPEC = ModelSpec(
    id=MODEL,
    input_type=FastInput,
    title="Fast test video",
    docs_url="https://example.com/fast",
    typical_seconds=0.2,
    deadline=30.0,
)


class _Plugin:
    def __init__(self, specs: tuple[ModelSpec[FastInput], ...]) -> None:
        self.specs = specs

    @hookimpl
    def kieframe_models(self) -> list[ModelSpec[FastInput]]:
        return list(self.specs)


def make_registry(*extra: ModelSpec[FastInput]) -> Registry:
    """Installed plugins plus the fast test model (and ``extra`` models)."""
    registry = Registry(environ={})
    registry.register(_Plugin((SPEC, *extra)), name="fast-test")
    return registry


def emulator(registry: Registry, **options: Any) -> Emulator:
    """An emulator (not started) with scaled windows and fast tasks."""
    defaults: dict[str, Any] = {
        "timing": TIMING,
        "window_scale": SCALE,
        "result_size": 4096,
        "registry": registry,
    }
    return Emulator(**{**defaults, **options})


def batch_options(emu: Emulator | str, registry: Registry) -> dict[str, Any]:
    """Options of kieframe.batch.run for ``emu`` (or its URL): client windows scaled like its."""
    url = emu if isinstance(emu, str) else emu.base_url
    return {
        "api_key": Emulator.API_KEY,
        "base_url": url,
        "upload_base_url": url,
        "registry": registry,
        "poll": PollPlan.every(0.05),
        # Margins in seconds, not in share of the window: scheduling jitter does not scale down.
        "rate_limits": RateLimits(create_window=10 * SCALE + 0.1, read_window=1 * SCALE + 0.02),
        "model": MODEL,
        "watchdog": 0.5,
        "settle_timeout": 5.0,
        "progress_every": 0.2,
    }


def shared_options(url: str, registry: Registry) -> dict[str, Any]:
    """Like :func:`batch_options`, for workers sharing budgets in a database.

    For an emulator with windows scaled to 10 % (20 creates per second): the margin of the
    shared budget covers a busy machine's delays between a slot and the request's arrival.
    """
    return {
        **batch_options(url, registry),
        "rate_limits": RateLimits(create_window=1.6, read_window=0.15),
        "settle_timeout": 2.0,
    }


#: The start of a child process's script (``python -c``) that runs a batch: this module loaded
#: from ``sys.argv[1]`` as ``support``, ``kieframe.batch`` imported, the registry made.
CHILD_PRELUDE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("batch_support", sys.argv[1])
support = importlib.util.module_from_spec(spec)
sys.modules["batch_support"] = support
spec.loader.exec_module(support)
import kieframe.batch
registry = support.make_registry()
"""

IMAGE = "https://example.com/cat.png"


def write_jsonl(path: Path, count: int, *, start: int = 0) -> Path:
    """``count`` valid lines with ids ``l<n>``."""
    with path.open("w", encoding="utf-8") as handle:
        for n in range(start, start + count):
            line = {"id": f"l{n}", "input": {"prompt": f"prompt {n}", "image_url": IMAGE}}
            handle.write(json.dumps(line) + "\n")
    return path


def manifest(out: Path) -> list[dict[str, Any]]:
    """The manifest's lines, decoded."""
    text = (out / "manifest.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def comparable(lines: Iterable[Mapping[str, Any] | LineRecord]) -> list[tuple[Any, ...]]:
    """A manifest without task ids, times and content hashes: what two runs must share."""
    out = []
    for line in lines:
        item = msgspec.to_builtins(line) if isinstance(line, LineRecord) else line
        error = item["error"]
        out.append(
            (
                item["id"],
                item["line"],
                item["status"],
                item["model"],
                tuple((f["path"], f["bytes"]) for f in item["files"]),
                None if error is None else (error["type"], error["code"]),
            )
        )
    return out
