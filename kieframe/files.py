"""Files in and out: local inputs kie.ai should copy, and progress of result downloads."""

from __future__ import annotations

from ._core._fileplan import DownloadProgress
from ._files._local import Rehost

__all__ = ["DownloadProgress", "Rehost"]
