"""What adding a file's lines does to a batch, for any batch and any file (both stores use it)."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from kieframe._batch._intake import IN_FLIGHT, UNSENT, Known, plan_intake
from kieframe.batch import LineError, LineInput, LineStatus

IDS = st.sampled_from([f"l{n}" for n in range(8)])
#: Why a line is invalid: two reasons (a callback URL wanted, a local file missing), or valid.
ERRORS = st.sampled_from(
    [None, *(LineError(type="InputValidationError", message=m) for m in ("no url", "no file"))]
)
LINE = st.builds(
    lambda ident, n, prompt, error: LineInput(
        id=ident, line=n, model="m", input={"prompt": prompt}, error=error
    ),
    IDS,
    st.integers(1, 20),
    st.sampled_from(["a", "b"]),
    ERRORS,
)
FILE = st.lists(LINE, max_size=8, unique_by=lambda line: line.id)
BATCH = st.dictionaries(
    IDS,
    st.builds(
        Known,
        st.sampled_from([LineInput(id="x", line=1, model="m", input={"prompt": p}).digest
                         for p in ("a", "b")]),
        st.sampled_from(list(LineStatus)),
        st.integers(0, 8),
        st.integers(1, 20),
        ERRORS,
    ),
)  # fmt: skip


def apply(known: dict[str, Known], lines: list[LineInput], replace: bool) -> dict[str, Known]:
    """The batch after the plan is written (as the stores write it)."""
    intake = plan_intake(known, lines, replace=replace)
    after = dict(known)
    for placed in (*intake.inserts, *intake.resets):
        line = placed.line
        after[line.id] = Known(line.digest, placed.status, placed.seq, line.line, line.error)
    for ident, seq, number in intake.moves:
        after[ident] = dataclasses.replace(after[ident], seq=seq, line=number)
    return after


@given(BATCH, FILE, st.booleans())
def test_each_line_is_inserted_moved_reset_or_reported_as_its_state_allows(
    known: dict[str, Known], lines: list[LineInput], replace: bool
) -> None:
    intake = plan_intake(known, lines, replace=replace)
    inserted = [placed.line.id for placed in intake.inserts]
    reset = [placed.line.id for placed in intake.resets]
    moved = [ident for ident, _, _ in intake.moves]
    decided = [*inserted, *reset, *moved, *intake.changed]
    assert len(decided) == len(set(decided))  # one decision a line, at most
    assert set(inserted) == {line.id for line in lines} - set(known)
    by_id = {line.id: (seq, line) for seq, line in enumerate(lines)}
    for ident in set(by_id) & set(known):
        seq, line = by_id[ident]
        old = known[ident]
        now = LineStatus.INVALID if line.error is not None else LineStatus.PENDING
        judged = (old.status, old.error if now == LineStatus.INVALID else None)
        if old.digest == line.digest and old.status in UNSENT and judged != (now, line.error):
            assert ident in reset  # never sent, judged again: pending or invalid as it reads
        elif old.digest == line.digest:  # the same input: at most a new place, never sent again
            assert ident not in (*reset, *intake.changed)
            assert (ident in moved) == ((old.seq, old.line) != (seq, line.line))
        elif replace and old.status not in IN_FLIGHT:
            assert ident in reset
        else:  # a line that may have made a task keeps its input, whatever is asked
            assert ident in intake.changed
    for placed in (*intake.inserts, *intake.resets):  # written whole, at their place
        assert (placed.seq, placed.line) == by_id[placed.line.id]
        invalid = placed.line.error is not None
        assert placed.status == (LineStatus.INVALID if invalid else LineStatus.PENDING)


@given(BATCH, FILE, st.booleans())
def test_adding_the_same_file_again_changes_nothing(
    known: dict[str, Known], lines: list[LineInput], replace: bool
) -> None:
    once = apply(known, lines, replace)
    again = plan_intake(once, lines, replace=replace)
    assert (again.inserts, again.resets, again.moves) == ((), (), ())
    assert again.changed == plan_intake(known, lines, replace=replace).changed
    assert apply(once, lines, replace) == once
