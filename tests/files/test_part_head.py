"""A partial file remembers its first bytes when it saw them written: the type is told from them."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kieframe._files._names import content_extension
from kieframe._files._part import PartFile
from kieframe._files._sniff import SNIFF_BYTES

from ._images import png

_steps = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 100)),
        st.tuples(st.just("commit"), st.integers(1, 100)),
        st.tuples(st.just("cut"), st.floats(0, 1)),  # reopen, cut back to a fraction of it
        st.tuples(st.just("later"), st.just(0)),  # another attempt resumes where this one ended
    ),
    max_size=10,
)


@settings(max_examples=50, deadline=None)
@given(steps=_steps)
def test_the_head_is_the_files_first_bytes_or_unknown(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, float]]
) -> None:
    path = tmp_path_factory.mktemp("part") / "file.part"
    data = random.Random(len(steps)).randbytes(1_000)
    at = 0
    part = PartFile(path)
    part.open(0)
    try:
        for how, amount in steps:
            if how == "write":
                part.write(data[at : at + int(amount)])
                at += int(amount)
            elif how == "commit":
                view = part.buffer(int(amount))
                size = min(len(view), int(amount))
                view[:size] = data[at : at + size]
                part.commit(view, size)
                at += size
            elif how == "cut":
                part.close()
                at = int(at * amount)
                part.open(at)
            else:
                part.__exit__(None, None, None)
                part = PartFile(path)
                part.open(at)
            head = part.head
            assert head is None or bytes(head) == data[: min(at, SNIFF_BYTES)]
    finally:
        part.__exit__(None, None, None)
    assert path.read_bytes() == data[:at]


def test_a_known_head_names_the_file_as_its_bytes_would(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = tmp_path_factory.mktemp("part") / "file.part"
    image = png(8, 8, seed=1, noise=True)
    with PartFile(path) as part:
        part.open(0)
        part.write(image)
        part.close()
        head = part.head
    assert head is not None
    by_bytes = content_extension(path, default=".bin")
    assert by_bytes == ".png"
    assert content_extension(path, default=".bin", head=bytes(head)) == by_bytes
