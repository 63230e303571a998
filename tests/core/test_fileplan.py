"""The sans-I/O download plan: which Range to send and what each answer means."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kieframe._core._fileplan import FilePlan, Step, parse_content_range
from kieframe._files._sniff import sniff


def plan(tmp: Path = Path("/tmp/results"), **state: object) -> FilePlan:
    made = FilePlan(
        task_id="t1", index=1, source_url="https://files.example/r/t1/video-1.mp4", folder=tmp
    )
    for name, value in state.items():
        setattr(made, name, value)
    return made


def test_names_come_from_the_task_and_the_url() -> None:
    made = plan()
    assert made.name == "t1-1.mp4"
    assert made.part.name == ".t1-1.mp4.kieframe-part"
    assert made.candidates()[:2] == ["t1-1.mp4", "t1-1~2.mp4"]


def test_a_fresh_download_sends_no_range_and_a_resume_does() -> None:
    assert plan().request_headers() == {}
    assert plan(offset=10).request_headers() == {"Range": "bytes=10-"}
    resumed = plan(offset=10, etag='"e"').request_headers()
    assert resumed == {"Range": "bytes=10-", "If-Range": '"e"'}


def test_whole_and_partial_answers() -> None:
    whole = plan(offset=50)
    decision = whole.on_head(200, {"content-length": "100", "etag": '"e"'})
    assert (decision.step, decision.start, whole.total, whole.etag) == (Step.WRITE, 0, 100, '"e"')
    part = plan(offset=50)
    decision = part.on_head(206, {"content-range": "bytes 50-99/100", "content-length": "50"})
    assert (decision.step, decision.start, part.total) == (Step.WRITE, 50, 100)


def test_a_wrong_range_starts_over() -> None:
    made = plan(offset=50)
    assert made.on_head(206, {"content-range": "bytes 0-99/100"}).step is Step.RETRY
    assert made.offset == 0
    assert made.request_headers() == {}


def test_nothing_left_to_fetch_is_done() -> None:
    assert plan(offset=100).on_head(416, {"content-range": "bytes */100"}).step is Step.DONE
    short = plan(offset=100)
    assert short.on_head(416, {"content-range": "bytes */400"}).step is Step.RETRY
    assert short.offset == 0


def test_expired_links_are_refreshed_a_few_times_then_fail() -> None:
    made = plan()
    for status in (403, 404, 410):
        assert plan().on_head(status, {}).step is Step.REFRESH
    made.use("https://files.example/fresh-1")
    made.use("https://files.example/fresh-2")
    failed = made.on_head(403, {})
    assert failed.step is Step.FAIL
    assert "403" in failed.reason


def test_transient_answers_are_retried_honouring_retry_after() -> None:
    decision = plan().on_head(503, {"retry-after": "3"})
    assert (decision.step, decision.retry_after) == (Step.RETRY, 3.0)
    assert plan().on_head(429, {}).step is Step.RETRY
    assert plan().on_head(400, {}).step is Step.FAIL


def test_more_bytes_than_announced_fail() -> None:
    made = plan()
    made.on_head(200, {"content-length": "10"})
    assert made.on_data(8) is None
    failed = made.on_data(8)
    assert failed is not None
    assert failed.step is Step.FAIL


@given(
    total=st.integers(1, 10_000),
    cuts=st.lists(st.floats(0, 1), max_size=6),
)
def test_any_sequence_of_cuts_ends_complete(total: int, cuts: list[float]) -> None:
    """Whatever the points a transfer is cut at, resuming asks for exactly the rest."""
    made = plan()
    for fraction in [*cuts, 1.0]:
        head = made.request_headers()
        first = made.offset
        if head:
            assert head["Range"] == f"bytes={first}-"
            decision = made.on_head(206, {"content-range": f"bytes {first}-{total - 1}/{total}"})
        else:
            decision = made.on_head(200, {"content-length": str(total)})
        assert (decision.step, decision.start) == (Step.WRITE, first)
        sent = round((total - first) * fraction)
        assert made.on_data(sent) is None
        end = made.on_end()
        if made.offset == total:
            assert end.step is Step.DONE
            break
        assert end.step is Step.RETRY
    assert made.offset == total


def test_content_range_parsing() -> None:
    assert parse_content_range("bytes 0-9/10") == (0, 9, 10)
    assert parse_content_range("bytes */10") == (None, None, 10)
    assert parse_content_range("bytes 0-9/*") == (0, 9, None)
    assert parse_content_range("items 0-9/10") is None
    assert parse_content_range(None) is None


ERROR_BODIES = [
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code></Error>',
    b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
    b'\xef\xbb\xbf {"code": 403, "msg": "Forbidden"}',
    b'{"error": {"code": 404, "message": "Not Found"}}',
    b'{"message": "link expired"}\n',
    b"<!DOCTYPE html><html><body>expired</body></html>",
]


def test_an_error_document_in_place_of_the_file_is_refreshed() -> None:
    for body in ERROR_BODIES:
        made = plan(offset=len(body), total=len(body))
        decision = made.on_body(body)
        assert decision is not None
        assert decision.step is Step.REFRESH, body
        assert (made.offset, made.total) == (0, None)  # fetched again from the start


def test_a_document_the_link_names_is_the_file() -> None:
    body = b'{"code": 200, "msg": "the answer"}'
    made = FilePlan(task_id="t1", index=1, source_url="https://f.example/a.json", folder=Path("/t"))
    assert made.on_body(body) is None


@given(
    st.sampled_from(
        [
            b"\x00\x00\x00\x18ftypmp42",
            b"\x89PNG\r\n\x1a\n",
            b"\xff\xd8\xff\xe0",
            b"ID3\x04",
            b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        ]
    ),
    st.binary(max_size=300),
)
def test_media_is_never_taken_for_an_error_document(magic: bytes, rest: bytes) -> None:
    body = magic + rest
    assert sniff(body) is not None
    assert plan().on_body(body) is None


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_only_an_error_document_is_refused(body: bytes) -> None:
    """Arbitrary bytes or text are not an error document unless they parse as one."""
    decision = plan().on_body(body)
    if decision is not None:
        stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
        assert stripped.startswith((b"{", b"<"))
