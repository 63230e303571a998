"""The lifecycle core: every operation of a task's life, and the two drivers that perform them.

Read it top to bottom:

- ``_effects``: every effect an operation may ask for (send a request, fetch a file, sleep, await
  a callback, run blocking work), and the :class:`Clock` and :class:`Jitter` operations are given;
- ``_submit``: submit: validate, upload local inputs, journal, create (never twice);
- ``_read``: read a task's record or the account's credits;
- ``_poll``: the pure state machines of a wait (``PollPlan``, ``Waiter``);
- ``_wait``: wait by polling, or by callback with a watchdog;
- ``_fileplan`` and ``_download``: the pure state of one file's transfer, and the download
  operation around it;
- ``_perform``: the driver loop and the two performers (blocking and asyncio), the only places
  that do I/O.

Dependencies point one way: operations depend on ``_effects`` and on small protocols
(``SubmissionLog``, the clock, the jitter), never on the clients or the callback receiver; the
clients (``_client``) build operations and hand them to a performer.
"""
