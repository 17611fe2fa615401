"""The one exception tree of licsync.

::

    LicsyncError
    ├── ConfigError            desired-state files are wrong; carries every Problem found
    ├── UsageError             a command-line value is wrong (bad --now, unknown --site, ...)
    ├── SecretError            a secret named by an environment variable is missing or unreadable
    ├── QrsError               talking to the Qlik Repository Service failed
    │   ├── QrsTransportError  no HTTP answer: connect, TLS, timeout, dropped connection
    │   ├── QrsReadOnlyError   a write was attempted through a read-only client (nothing was sent)
    │   ├── QrsResponseError   QRS answered 2xx with something that is not what the spec says
    │   └── QrsStatusError     QRS answered with an error status
    │       ├── QrsBadRequest      400
    │       ├── QrsAuthError       401 / 403 (including the xrfkey refusal)
    │       ├── QrsNotFound        404
    │       ├── QrsConflict        409 (stale modifiedDate)
    │       ├── QrsThrottled       429
    │       └── QrsServerError     5xx
    ├── SignalError            a signal source (licence logs, CSV export) cannot be read
    ├── Blocked                nothing is written: a safety cap, or not the approved plan (exit 3)
    │   └── ApplyRefused       apply will not start: a safety block, or not the approved plan
    ├── SiteLocked             another apply of the same site holds its lock
    ├── ForgeError             talking to the forge (GitHub) failed, or it answered nonsense
    │   └── ReviewedPlanMissing  no reviewed plan artifact for a merge: apply must not guess
    │       └── ReviewedPlanRefused  an artifact whose origin is not the reviewed plan run
    ├── DumpRefused            dump will not write: files exist, or what it wrote would not load
    └── RuleSyntaxError        a licence-rule condition does not parse (carries the offset)

The CLI catches ``LicsyncError`` and prints its message with exit code 1 (``Blocked``: 3; the
table is ``licsync.cli.main.EXIT_CODES``); anything else is a bug and is reported as one.
Messages never contain secrets: QRS errors name the method and the path without its query
string (which holds the xrfkey and filters).

The simulator's own errors (``SimRefusal``, ``FilterSyntaxError``) are not part of this tree:
they live in :mod:`licsync.sim.errors`, and the product never sees them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from licsync.severity import Severity

__all__ = [
    "ApplyRefused",
    "Blocked",
    "ConfigError",
    "DumpRefused",
    "ForgeError",
    "LicsyncError",
    "Problem",
    "QrsAuthError",
    "QrsBadRequest",
    "QrsConflict",
    "QrsError",
    "QrsNotFound",
    "QrsReadOnlyError",
    "QrsResponseError",
    "QrsServerError",
    "QrsStatusError",
    "QrsThrottled",
    "QrsTransportError",
    "ReviewedPlanMissing",
    "ReviewedPlanRefused",
    "RuleSyntaxError",
    "SecretError",
    "SignalError",
    "SiteLocked",
    "UsageError",
]


class LicsyncError(Exception):
    """Base of every error licsync raises on purpose."""


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding about desired-state files, located as precisely as the input allows.

    Attributes:
        file: path of the file as given (relative to where the user pointed licsync).
        line: 1-based line, 0 when the problem concerns the file as a whole.
        col: 1-based column, 0 when unknown.
        field: dotted path of the field (``professional.allocations[3].user``), "" for none.
        message: what is wrong, in words a Qlik admin understands.
        severity: error or warning (a problem is never mere information).
    """

    file: str
    line: int
    col: int
    field: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        what = f"{self.field}: {self.message}" if self.field else self.message
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{where}: {prefix}{what}"


class ConfigError(LicsyncError):
    """Desired-state files are invalid. Carries all problems, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid configuration")


class UsageError(LicsyncError):
    """A command-line value is wrong."""


class SecretError(LicsyncError):
    """A secret referenced by environment-variable name is missing or unreadable."""


class SignalError(LicsyncError):
    """A signal source (licence log folder, License Monitor CSV export) cannot be read."""


class Blocked(LicsyncError):
    """Blocked, nothing written: a safety cap (``plan``; ``apply`` without ``--force``), or a
    reviewed plan that is not the fresh one. The one way to exit 3.

    A command that has already said why (``plan`` prints the blocked plan, whose safety section
    says so) raises it without a message, and nothing more is said.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message)


class ApplyRefused(Blocked):
    """``apply`` refuses to start, having written nothing: the plan is blocked by safety (and
    ``--force`` was not given), or it is not the plan that was approved (``--checksum``)."""


class SiteLocked(LicsyncError):
    """Another ``apply`` of the same site holds its lock (the message names the holder)."""


class ForgeError(LicsyncError):
    """Talking to the forge (GitHub) failed, or it answered something unusable.

    Messages name the method and the API path, never the token or a download URL's query
    (which can hold a signed credential).
    """


class ReviewedPlanMissing(ForgeError):
    """No reviewed plan can be found for a merge (which pull request, head and artifact the
    message says): ``apply`` must then not run on a guess."""


class ReviewedPlanRefused(ReviewedPlanMissing):
    """Plan artifacts exist for the merge, but none was made by the plan workflow on the pull
    request (or its checksum is not the one its plan comment shows): what was found is said."""


class DumpRefused(LicsyncError):
    """``dump`` writes nothing: its files exist (and ``--force`` was not given), the folder
    holds other desired-state files, or the YAML it made would not load back as the site."""


class QrsError(LicsyncError):
    """Talking to the Qlik Repository Service failed.

    Attributes:
        method: HTTP method.
        path: request path without query string (never carries the xrfkey or secrets).
    """

    def __init__(self, message: str, *, method: str, path: str) -> None:
        self.method = method
        self.path = path
        super().__init__(message)


class QrsTransportError(QrsError):
    """No HTTP answer: connection refused, TLS failure, timeout, dropped connection."""


class QrsReadOnlyError(QrsError):
    """A write was attempted through a read-only client; nothing was sent."""


class QrsResponseError(QrsError):
    """QRS answered with success but the body is not JSON, or lacks what the spec requires."""


class QrsStatusError(QrsError):
    """QRS answered with an error status.

    Attributes:
        status: the HTTP status code.
        excerpt: the first characters of the response body, for diagnosis.
        retry_after: seconds a 429 or 503 asked to wait (``Retry-After``), when it said.
    """

    def __init__(self, message: str, *, method: str, path: str, status: int, excerpt: str) -> None:
        self.status = status
        self.excerpt = excerpt
        self.retry_after: float | None = None
        super().__init__(message, method=method, path=path)


class QrsBadRequest(QrsStatusError):
    """400: QRS refused the request (bad filter, broken rules, capacity exhausted)."""


class QrsAuthError(QrsStatusError):
    """401/403: authentication or authorisation failed (including the xrfkey check)."""


class QrsNotFound(QrsStatusError):
    """404: the entity does not exist (any more)."""


class QrsConflict(QrsStatusError):
    """409: the entity changed since it was read (stale ``modifiedDate``); re-read and re-plan."""


class QrsThrottled(QrsStatusError):
    """429: QRS asked us to slow down."""


class QrsServerError(QrsStatusError):
    """5xx: QRS failed."""


class RuleSyntaxError(LicsyncError):
    """A licence-rule condition does not parse.

    Attributes:
        offset: 0-based character offset into the condition text where the problem is.
        reason: the message without position, for embedding in a ``Problem``.
    """

    def __init__(self, reason: str, *, offset: int) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(f"{reason} (at character {offset + 1})")
