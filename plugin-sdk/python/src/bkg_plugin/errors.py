"""Wire error codes of bkg protocol v1 and the exception handlers raise.

``ErrorCodes`` mirrors ``src/protocol/src/error-codes.ts`` name for name and code for code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ErrorCodes(IntEnum):
    """The error codes of protocol v1 (docs/protocol.md section 7)."""

    ParseError = -32700
    InvalidRequest = -32600
    MethodNotFound = -32601
    InvalidParams = -32602
    InternalError = -32603
    RequestCancelled = -32800
    PluginUnavailable = -33000
    DeadlineExceeded = -33001
    Overloaded = -33002
    PermissionDenied = -33003
    PluginCrashed = -33004
    Unauthenticated = -33005
    ProtocolMismatch = -33006
    PluginError = -33010


_UNSET: Any = object()


class PluginError(Exception):
    """An error answered on the wire as ``{code, message, data?}``.

    Raise it from a handler to choose the code (default -33010, ``PluginError``); a plugin's own
    codes should lie outside -32768..-32000 and -33099..-33000. ``ctx.call`` raises it with the
    remote error's code, message and data, so letting it propagate passes the error through.

    ``PluginError(code, message, data)`` or, for the default code, ``PluginError(message)``.
    """

    def __init__(self, code: int | str, message: str | None = None, data: Any = _UNSET) -> None:
        if isinstance(code, str) and message is None:
            code, message = int(ErrorCodes.PluginError), code
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f"PluginError code must be an int, got {code!r}")
        self.code: int = int(code)
        self.message: str = "" if message is None else str(message)
        self._data = data
        super().__init__(self.message)

    @property
    def data(self) -> Any:
        return None if self._data is _UNSET else self._data

    @property
    def has_data(self) -> bool:
        return self._data is not _UNSET

    def to_wire(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self._data is not _UNSET:
            err["data"] = self._data
        return err

    def __repr__(self) -> str:
        extra = "" if self._data is _UNSET else f", data={self._data!r}"
        return f"PluginError({self.code}, {self.message!r}{extra})"
