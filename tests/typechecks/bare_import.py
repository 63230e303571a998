"""Type tests: after a bare ``import kieframe``, the spellings the docs use are typed, not Any.

Checked by mypy (``.venv/bin/mypy``, the types step of ``.ci/run``), never run. mypy's strict
mode makes an unused ``# type: ignore`` an error, so each ignore below asserts that mypy sees
the mistake on its line: were the name typed ``Any``, the mistake would pass unseen.
"""

from __future__ import annotations

import kieframe


def spellings_from_the_guides(reader: kieframe.Client) -> None:
    plan = kieframe.PollPlan.every(3)
    plan.evry(3)  # type: ignore[attr-defined]
    kieframe.PollPlan.evry(3)  # type: ignore[attr-defined]
    kieframe.callbacks.CallbackReceiver(hmac_key="key", client=reader)
    kieframe.callbacks.CallbackReciever(hmac_key="key")  # type: ignore[attr-defined]
    kieframe.journal.Journal.opn("journal.sqlite3")  # type: ignore[attr-defined]
    _ = kieframe.Rehost.nope  # type: ignore[attr-defined]
    _ = kieframe.lifecycle.RateLimits.nope  # type: ignore[attr-defined]
    _ = kieframe.Nope  # type: ignore[attr-defined]
    _ = kieframe.erors  # type: ignore[attr-defined]


def errors_are_classes() -> None:
    not_found: str = kieframe.errors.NotFoundError  # type: ignore[assignment]
    configuration: str = kieframe.ConfigurationError  # type: ignore[assignment]
    problem: str = kieframe.Problem  # type: ignore[assignment]
    del not_found, configuration, problem
