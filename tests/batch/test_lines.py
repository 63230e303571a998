"""Reading a batch file: any bytes give lines, or the documented BatchInvalid, nothing else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import kieframe.batch as kb
from kieframe._batch._lines import read_lines

from ._support import IMAGE, MODEL, batch_options, emulator, make_registry

REGISTRY = make_registry()
# Pieces a real file is made of, so that the bytes reach past the header and the first line.
PIECES = st.sampled_from(
    [
        b"id,prompt,image_url,duration\n",
        f"a,a cat,{IMAGE},5\n".encode(),
        b'{"id": "a", "input": {"prompt": "a cat", "image_url": "' + IMAGE.encode() + b'"}}\n',
        b'{"id": 1, "model": null, "input": {"prompt": "caf\xc3\xa9"}}\n',
        b"caf\xe9",  # cp1252: Excel's plain "CSV"
        b"\xef\xbb\xbf",  # a UTF-8 BOM
        b"\xff\xfe",  # a UTF-16 BOM
        b'"',
        b",",
        b"\r\n",
        b"\r",
        b"\n",
        b"\x00",
        b"\xed\xa0\x80",  # a surrogate, encoded
        b"\\ud800",
        b"[" * 3000,
    ]
)
CONTENT = st.lists(st.one_of(PIECES, st.binary(max_size=12)), max_size=12).map(b"".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(content=CONTENT, suffix=st.sampled_from([".csv", ".jsonl"]))
@example(content=b"[" * 3000, suffix=".jsonl")  # past json's recursion limit
@example(content=b"id,prompt\na," + b"x" * 140_000, suffix=".csv")  # past csv's field limit
@example(content=b"a,caf\xe9\n", suffix=".csv")
def test_any_bytes_give_lines_or_the_documented_error(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"in{suffix}")
        path.write_bytes(content)
        refused = None
        try:
            lines, problems = read_lines(path, model=MODEL, registry=REGISTRY, callback=False)
        except kb.BatchInvalid as error:
            refused = error
    if refused is not None:  # the file as a whole: not UTF-8, or not CSV
        assert refused.unreadable
        (problem,) = refused.problems
        assert problem.message.startswith(f"{path} ")
        return
    content.decode("utf-8")  # read: it was UTF-8
    assert {problem.line for problem in problems} <= {line.line for line in lines}
    assert len({line.id for line in lines}) == len(lines)


@pytest.mark.parametrize(
    ("name", "content", "line", "offset", "excel"),
    [
        ("l.csv", b"id,prompt,image_url\na,caf\xe9," + IMAGE.encode() + b"\n", 2, 25, True),
        (
            "l.jsonl",
            b'{"id": "a", "input": {"prompt": "a cat", "image_url": "' + IMAGE.encode() + b'"}}\n'
            b'{"id": "b", "input": {"prompt": "caf\xe9"}}\n',
            2,
            122,
            False,
        ),
        ("bom.csv", b"\xef\xbb\xbfid,prompt\r\n\r\nx,na\xefve\r\n", 3, 20, True),
    ],
    ids=["csv-cp1252", "jsonl-latin-1", "csv-bom-then-latin-1"],
)
def test_a_file_that_is_not_utf8_is_refused_naming_its_line_and_byte(
    tmp_path: Path, name: str, content: bytes, line: int, offset: int, excel: bool
) -> None:
    """Excel's plain "CSV" is cp1252: refused, never guessed, even with skip_invalid."""
    source = tmp_path / name
    source.write_bytes(content)
    registry = make_registry()
    with emulator(registry) as emu:
        with pytest.raises(kb.BatchInvalid) as caught:
            kb.run(source, out=tmp_path / "out", dry_run=True, skip_invalid=True,
                   **batch_options(emu, registry))  # fmt: skip
        assert emu.tasks == ()
    (problem,) = caught.value.problems
    assert caught.value.unreadable
    assert problem.line == line
    assert f"byte offset {offset}" in problem.message
    assert str(source) in problem.message
    assert ('"CSV UTF-8"' in problem.message) is excel
    assert "--skip-invalid" not in str(caught.value)
    assert str(caught.value).startswith("the input file cannot be read (nothing was sent):")


_WITH_SURROGATE = st.builds(
    lambda head, surrogate, tail: head + surrogate + tail,
    st.text(max_size=5),
    st.characters(categories=["Cs"]),
    st.text(max_size=5),
)


@given(value=_WITH_SURROGATE, key=st.sampled_from(["id", "model"]))
def test_an_id_or_model_holding_a_lone_surrogate_is_a_problem_of_its_line(
    value: str, key: str
) -> None:
    """JSON's ``"\\ud800"`` decodes to no character: refused at reading, naming the line."""
    good = {"id": "ok", "input": {"prompt": "a cat", "image_url": IMAGE}}
    bad = {"id": "bad", "input": {"prompt": "a cat", "image_url": IMAGE}, key: value}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "in.jsonl")
        path.write_text(f"{json.dumps(good)}\n{json.dumps(bad)}\n", encoding="utf-8")
        lines, problems = read_lines(path, model=MODEL, registry=REGISTRY, callback=False)
    (problem,) = problems
    assert problem.line == 2
    assert (
        problem.message
        == f"{key} holds a lone surrogate (a \\ud800-\\udfff escape), which is no character"
    )
    for line in lines:
        line.id.encode()
        (line.model or "").encode()


def test_a_batch_with_a_lone_surrogate_id_is_refused_naming_the_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    line = {"id": "\ud800", "input": {"prompt": "a cat", "image_url": IMAGE}}
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    registry = make_registry()
    with emulator(registry) as emu, pytest.raises(kb.BatchInvalid) as caught:
        kb.run(source, out=tmp_path / "out", **batch_options(emu, registry))
    (problem,) = caught.value.problems
    assert problem.line == 1
    assert "lone surrogate" in problem.message


@given(
    names=st.lists(
        st.sampled_from(["id", "prompt", "image_url", "seed", "duration", ""]), max_size=8
    )
)
def test_a_csv_header_naming_a_column_twice_is_refused_naming_it(names: list[str]) -> None:
    """The last of two ``seed`` columns won, silently. Empty names (trailing commas) pass."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "in.csv")
        path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
        repeated = sorted({name for name in names if name and names.count(name) > 1})
        if not repeated:
            read_lines(path, model=MODEL, registry=REGISTRY, callback=False)
            return
        with pytest.raises(kb.BatchInvalid) as caught:
            read_lines(path, model=MODEL, registry=REGISTRY, callback=False)
    (problem,) = caught.value.problems
    assert problem.line == 1
    assert f"has the column {repeated[0]!r}" in problem.message
