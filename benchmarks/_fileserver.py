"""A local file server for the download benchmarks: threads, ``sendfile`` and single byte ranges.

The server must cost the client as little as possible, so that the figures compare clients, not
servers: bodies leave with :meth:`socket.socket.sendfile` (zero copy), one thread per connection.
"""

from __future__ import annotations

import http.server
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["serve_file"]

_RANGE = re.compile(r"bytes=(\d+)-$")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    path_served: Path

    def do_GET(self) -> None:
        size = self.path_served.stat().st_size
        wanted = _RANGE.match(self.headers.get("Range", ""))
        first = int(wanted.group(1)) if wanted else 0
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size - first))
        if wanted:
            self.send_header("Content-Range", f"bytes {first}-{size - 1}/{size}")
        self.end_headers()
        self.wfile.flush()
        with self.path_served.open("rb") as handle:
            self.connection.sendfile(handle, first, size - first)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a benchmark prints only its table."""


@contextmanager
def serve_file(path: Path) -> Iterator[str]:
    """Serve ``path`` on loopback for the duration of the block; yields its URL."""
    handler = type("Handler", (_Handler,), {"path_served": path})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{os.path.basename(path)}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
