"""A batch state object missing some of BatchStore's methods is told which, not taken for a path."""

from __future__ import annotations

from pathlib import Path

import pytest

import kieframe.batch as kb


class _HalfStore:
    """A store an extension author started: two of BatchStore's methods."""

    batch_id = "half"

    def add_lines(self) -> None: ...

    def close(self) -> None: ...


def test_a_partial_store_is_told_what_it_lacks(tmp_path: Path) -> None:
    source = tmp_path / "lines.jsonl"
    source.write_text('{"id": "a", "prompt": "x"}\n')
    with pytest.raises(TypeError) as caught:
        kb.run(source, out=tmp_path / "out", state=_HalfStore(), confirm=lambda _: True)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith("state takes a file path or a database URL or a kieframe.batch")
    assert "_HalfStore has no requeue, " in message
    assert "add_lines" not in message
    assert "batch_id" not in message
    assert not (tmp_path / "out").exists()  # refused before anything was made
