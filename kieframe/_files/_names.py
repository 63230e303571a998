"""Safe file names: for uploads (from the content hash) and for downloaded results.

A downloaded file's name is built from the task id and the result's position, both of which come
from the network; :func:`safe_component` makes any text a single harmless path component, so a
name can never climb out of (or point elsewhere than) the folder it is written to.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ._sniff import EXTENSIONS, SNIFF_BYTES, sniff

__all__ = [
    "MAX_STEM",
    "content_extension",
    "result_stem",
    "safe_component",
    "safe_extension",
    "upload_name",
]

#: The longest stem kieframe writes (room is left for an extension and a ``.part`` suffix).
MAX_STEM = 120

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}")
# Names Windows reserves whatever their extension.
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def safe_component(text: str, *, max_length: int = MAX_STEM) -> str:
    """``text`` as one safe file-name component: ``[A-Za-z0-9._-]`` only, no leading dot.

    Nor a name Windows reserves (``CON``, ``NUL.txt``...), and at most ``max_length`` long.

    A text that is already safe is kept as it is; any other is cleaned and gets a short hash of
    the original, so two different texts never clean to the same name (``a/b`` and ``a_b``).
    """
    if max_length < 16:
        raise ValueError("max_length must be at least 16")
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFKC", text)).lstrip(".-_")
    stem = cleaned.split(".", 1)[0]
    if cleaned == text and text and len(text) <= max_length and stem.upper() not in _RESERVED:
        return text
    suffix = "-" + _digest(text)  # dots go too: "NUL.0" must not become "NUL.0-<hash>"
    return (cleaned.replace(".", "_")[: max_length - len(suffix)] or "file") + suffix


def safe_extension(url: str, *, default: str) -> str:
    """The extension of the file a URL names (such as ``.mp4``), if it is short and plain."""
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:  # such as "http://[::1/a.mp4": the request says what is wrong with it
        return default
    extension = posixpath.splitext(posixpath.basename(path))[1]
    return extension.lower() if _EXTENSION.fullmatch(extension) else default


def result_stem(task_id: str, index: int) -> str:
    """The stem of a task's ``index``-th result file (1-based): ``<task_id>-<index>``, made safe."""
    return safe_component(f"{task_id}-{index}")


def upload_name(sha256: str, media_type: str) -> str:
    """The name an upload is stored under: its content hash, so names never collide."""
    return f"kf-{sha256[:40]}{EXTENSIONS.get(media_type, '.bin')}"


def content_extension(path: Path, *, default: str, head: bytes | None = None) -> str:
    """The extension the file at ``path`` should have by its content (``.png``), or ``default``.

    A result link's name may say nothing (``.../file``) or the wrong thing; the bytes decide:
    ``head``, the file's first bytes if known, else those read from the file.
    """
    if head is None:
        try:
            with path.open("rb") as handle:
                head = handle.read(SNIFF_BYTES)
        except OSError:
            return default
    media_type = sniff(head)
    return EXTENSIONS.get(media_type, default) if media_type is not None else default
