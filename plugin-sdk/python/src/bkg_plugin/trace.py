"""W3C Trace Context (``traceparent``) as a plugin sees it: ``ctx.trace``.

The value is ``00-<32 hex trace id>-<16 hex span id>-<2 hex flags>``. One that breaks the rules
(uppercase hex, all-zero ids, version ff, too long) is ignored: ``ctx.trace`` is None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TRACEPARENT_LENGTH = 512
_SHAPE = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


@dataclass(frozen=True)
class Trace:
    """A call's trace: ``span_id`` is the daemon's span for the call being served, so the calls
    a handler makes become its children."""

    trace_id: str
    span_id: str
    traceparent: str
    sampled: bool


def parse_traceparent(value: object) -> Trace | None:
    """The trace of a ``traceparent`` value, or None when it is absent, malformed or oversized."""
    if not isinstance(value, str) or not 55 <= len(value) <= MAX_TRACEPARENT_LENGTH:
        return None
    if not _SHAPE.match(value):
        return None
    version = value[:2]
    if version == "ff":
        return None
    if (len(value) != 55) if version == "00" else (len(value) > 55 and value[55] != "-"):
        return None
    trace_id, span_id = value[3:35], value[36:52]
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return Trace(trace_id, span_id, value, int(value[53:55], 16) & 1 == 1)
