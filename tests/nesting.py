"""A helper the test packages share: JSON text nested as deep as asked (past Python's recursion)."""

from __future__ import annotations

from hypothesis import strategies as st


def nested_json(depth: int, *, kind: str = "list") -> str:
    """A list (``[[[…]]]``) or an object (``{"a": {"a": …1}}``) nested ``depth`` deep."""
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


#: JSON text of any nesting, from one level to far deeper than Python's recursion limit.
DEEP_JSON = st.builds(nested_json, st.integers(1, 60_000), kind=st.sampled_from(["list", "object"]))

#: JSON text nested deeper than Python (or msgspec) recurses: 5,000 levels or more.
TOO_DEEP_JSON = st.builds(
    nested_json, st.integers(5_000, 60_000), kind=st.sampled_from(["list", "object"])
)
