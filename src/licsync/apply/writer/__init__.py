"""Writes to QRS, apply's write side: one result per change, never an exception for one item's
failure.

::

    writer = QrsWriter(client)               # or RecordingWriter() for --dry-run and tests
    results = writer.allocate(changes)       # one WriteResult per change, in input order

Every write reports, per change, one :class:`Outcome`:

* ``applied``: QRS did it;
* ``already``: it was so already (a delete or reclaim of something QRS no longer has; an
  allocation QRS refused, where reading the site shows the user holds that access type);
* ``failed``: QRS answered with an error status (``status`` and QRS's message are kept);
* ``unknown``: no answer (timeout, dropped connection): it may have happened. Nothing here
  retries a write; the caller re-reads the site to learn what it did.

Two things do raise: :class:`~licsync.errors.QrsReadOnlyError` (the client refuses writes;
nothing was sent) and :class:`~licsync.errors.QrsResponseError` (QRS answered 2xx with a body
lacking what the spec requires, e.g. no ``id``: the caller treats the changes it passed as
unknown). A bulk call that raises has sent the chunks before the failing one and none after.

Each request is built once, by the ``*_request`` functions below, and both writers run the same
code over them: :class:`QrsWriter` sends them, :class:`RecordingWriter` lists them and pretends
QRS agreed, so a dry run shows exactly what a real run sends (ids QRS would assign appear as
placeholders such as ``<new access group id>``).

Several request shapes and answers are not confirmed by any public source ("UNVERIFIED" in the
docstrings); each is the likeliest form and, where a value is a guess, a parameter or a constant.
"""

from __future__ import annotations

from licsync.apply.writer.base import Writer
from licsync.apply.writer.requests import (
    ALLOCATE_CHUNK,
    DEFAULT_RULE_ACTIONS,
    NEW_ALLOCATION_ID,
    NEW_GROUP_ID,
    NEW_RULE_ID,
    NEW_SELECTION_ID,
    RECLAIM_CHUNK,
    SEAT_READ_CHUNK,
    allocate_selected_request,
    allocation_body,
    delete_group_request,
    delete_system_rule_request,
    discard_selection_request,
    group_request,
    license_rule_body,
    new_rule_request,
    point_rule_request,
    reclaim_one_request,
    reclaim_selected_request,
    reinstate_body,
    reinstate_read_request,
    reinstate_request,
    seats_request,
    selection_request,
    update_rule_request,
    user_selection_request,
)
from licsync.apply.writer.writers import QrsWriter, RecordingWriter
from licsync.results import Outcome, Request, WriteResult

__all__ = [
    "ALLOCATE_CHUNK",
    "DEFAULT_RULE_ACTIONS",
    "NEW_ALLOCATION_ID",
    "NEW_GROUP_ID",
    "NEW_RULE_ID",
    "NEW_SELECTION_ID",
    "RECLAIM_CHUNK",
    "SEAT_READ_CHUNK",
    "Outcome",
    "QrsWriter",
    "RecordingWriter",
    "Request",
    "WriteResult",
    "Writer",
    "allocate_selected_request",
    "allocation_body",
    "delete_group_request",
    "delete_system_rule_request",
    "discard_selection_request",
    "group_request",
    "license_rule_body",
    "new_rule_request",
    "point_rule_request",
    "reclaim_one_request",
    "reclaim_selected_request",
    "reinstate_body",
    "reinstate_read_request",
    "reinstate_request",
    "seats_request",
    "selection_request",
    "update_rule_request",
    "user_selection_request",
]
