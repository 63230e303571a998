"""The command line's exit codes, and which error leads to which."""

from __future__ import annotations

import enum

from .._errors import (
    AuthenticationError,
    BadRequestError,
    BatchBusy,
    BatchCancelled,
    BatchConflict,
    BatchInvalid,
    ConfigurationError,
    InputValidationError,
    InsufficientCreditsError,
    JournalError,
    KieError,
    NoAnswerError,
    NotFoundError,
    PluginError,
    StaleTransition,
    SubmissionUncertain,
    TaskFailed,
    UnknownModelError,
    WaitTimeout,
)

__all__ = ["EPILOG", "ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    """What a ``kieframe`` process's exit status means; scripts can rely on these numbers."""

    OK = 0
    UNEXPECTED = 1
    BAD_INPUT = 2
    AUTH = 3
    NO_CREDITS = 4
    TASK_FAILED = 5
    TIMED_OUT = 6
    SUBMISSION_UNCERTAIN = 7
    API_ERROR = 8
    NO_ANSWER = 9
    BUSY = 10
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        """One line saying when the code is used."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.UNEXPECTED: "an unexpected error, a broken plugin set-up or an unusable journal",
    ExitCode.BAD_INPUT: "bad usage, input or setting: unknown model, invalid field, refused input",
    ExitCode.AUTH: "no API key, or kie.ai refused it (401)",
    ExitCode.NO_CREDITS: "insufficient credits (402) or the key is over its usage cap (433)",
    ExitCode.TASK_FAILED: "the task ran and failed (408: no result upstream for 10 minutes)",
    ExitCode.TIMED_OUT: "no result before the deadline; the task may still finish",
    ExitCode.SUBMISSION_UNCERTAIN: "the create may or may not have started a task: check first",
    ExitCode.API_ERROR: "another kie.ai API error (429 after retries, 455, 5xx...) or download",
    ExitCode.NO_ANSWER: "kie.ai gave no answer (network); safe to run a read again",
    ExitCode.BUSY: "another process is running the batch: let it finish (see `batch status`)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); a submitted task keeps running",
}

# Checked in order: the first class the error is an instance of decides.
_BY_ERROR: tuple[tuple[type[KieError], ExitCode], ...] = (
    (InputValidationError, ExitCode.BAD_INPUT),
    (UnknownModelError, ExitCode.BAD_INPUT),
    (ConfigurationError, ExitCode.BAD_INPUT),
    (BatchInvalid, ExitCode.BAD_INPUT),
    (BatchConflict, ExitCode.BAD_INPUT),
    (BatchCancelled, ExitCode.BAD_INPUT),
    (StaleTransition, ExitCode.BAD_INPUT),
    (BatchBusy, ExitCode.BUSY),
    (PluginError, ExitCode.UNEXPECTED),
    (JournalError, ExitCode.UNEXPECTED),
    (BadRequestError, ExitCode.BAD_INPUT),
    (NotFoundError, ExitCode.BAD_INPUT),
    (AuthenticationError, ExitCode.AUTH),
    (InsufficientCreditsError, ExitCode.NO_CREDITS),
    (TaskFailed, ExitCode.TASK_FAILED),
    (WaitTimeout, ExitCode.TIMED_OUT),
    (SubmissionUncertain, ExitCode.SUBMISSION_UNCERTAIN),
    (NoAnswerError, ExitCode.NO_ANSWER),
)


def exit_code_for(error: KieError) -> ExitCode:
    """The exit code for a kieframe error; any other API or download error is ``API_ERROR``."""
    for cls, code in _BY_ERROR:
        if isinstance(error, cls):
            return code
    return ExitCode.API_ERROR


#: The exit-code table shown at the end of ``kieframe --help``.
EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {int(code):>3}  {code.meaning}" for code in ExitCode)
