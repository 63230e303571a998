"""The small valid input a model page's quick start runs when the model documents no example."""

from __future__ import annotations

from typing import Annotated

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from kieframe._cli._sample import sample_input
from kieframe.authoring import ModelSpec


@given(gt=st.integers(-3, 3), width=st.integers(1, 3), inclusive=st.booleans())
def test_an_int_field_above_a_bound_gets_a_whole_number_inside_its_range(
    gt: int, width: int, inclusive: bool
) -> None:
    top = (
        msgspec.Meta(gt=gt, le=gt + width) if inclusive else msgspec.Meta(gt=gt, lt=gt + width + 1)
    )
    input_type = msgspec.defstruct(
        "In", [("n", Annotated[int, top])], frozen=True, forbid_unknown_fields=True
    )
    spec = ModelSpec(id="acme/ints", title="t", docs_url="https://e.com", input_type=input_type)
    data = sample_input(spec)
    assert data is not None
    assert type(data["n"]) is int
    spec.validate(data)
