"""repo.tree, repo.file.read, repo.search, repo.patch: the file-system side."""

from __future__ import annotations

import base64
import binascii
import os
import re
import tempfile
from collections.abc import Callable
from typing import Any

from .regex_search import RegexSearch
from .workspace import Resolved, Workspace, invalid

SNIFF = 8192
_UMASK = os.umask(0)  # read once at import (os.umask is process-wide: never toggle it in threads)
os.umask(_UMASK)
MAX_LINE_CHARS = 500


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the first 8 KiB, or bytes that are not UTF-8."""
    if b"\x00" in data[:SNIFF]:
        return True
    try:
        _decode_strict(data)
    except UnicodeDecodeError:
        return True
    return False


def _decode_strict(data: bytes) -> str:
    """Decode UTF-8, tolerating a sequence cut at the start or the end (a truncated read)."""
    start = 0
    while start < min(3, len(data)) and 0x80 <= data[start] <= 0xBF:
        start += 1
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason == "unexpected end of data" and e.start >= len(data) - start - 3:
            return data[start : start + e.start].decode("utf-8")
        raise


# -- repo.tree ------------------------------------------------------------------------------------
def tree(ws: Workspace, res: Resolved, depth: int | None, limit: int, cancelled: Callable[[], bool]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    truncated = False
    for e in ws.walk(res, max_depth=depth, cancelled=cancelled):
        if len(entries) >= limit:
            truncated = True
            break
        item: dict[str, Any] = {"path": e.rel, "type": e.type}
        if e.type != "dir":
            item["size"] = e.size
        entries.append(item)
    entries.sort(key=lambda x: x["path"])
    return {
        "path": res.rel,
        "root": res.root,
        "type": "dir" if os.path.isdir(res.real) else "file",
        "depth": depth,
        "count": len(entries),
        "truncated": truncated,
        "entries": entries,
    }


# -- repo.file.read -------------------------------------------------------------------------------
def read_file(res: Resolved, encoding: str, offset: int, max_bytes: int) -> dict[str, Any]:
    if os.path.isdir(res.real):
        raise invalid(f"path {res.given!r} is a directory (use repo.tree)", path=res.given)
    if not os.path.isfile(res.real):
        raise invalid(f"path {res.given!r} is not a regular file", path=res.given)
    size = os.path.getsize(res.real)
    if offset > size:
        raise invalid(
            f"offset {offset} is past the end of {res.given!r} ({size} bytes); offset must be from 0 to {size}",
            path=res.given,
            offset=offset,
            size=size,
        )
    with open(res.real, "rb") as f:
        if offset:
            f.seek(offset)
        data = f.read(max_bytes)
    truncated = offset + len(data) < size
    binary = looks_binary(data)
    out: dict[str, Any] = {
        "path": res.rel,
        "root": res.root,
        "size": size,
        "offset": offset,
        "bytes": len(data),
        "encoding": encoding,
        "binary": binary,
        "truncated": truncated,
    }
    if encoding == "base64":
        out["content"] = base64.b64encode(data).decode("ascii")
    elif binary:
        out["content"] = None
        out["note"] = 'binary file: ask again with encoding "base64"'
    else:
        out["content"] = _decode_strict(data)
    return out


# -- repo.search ----------------------------------------------------------------------------------
def _literal_lines(pat: re.Pattern[str], data: bytes, want: int) -> list[tuple[int, int, str]]:
    """In-process matching: safe for an escaped literal, which cannot backtrack."""
    text = data.decode("utf-8", errors="replace")
    if not pat.search(text):  # cheap pre-check (anchors make it unsafe for regexes)
        return []
    out: list[tuple[int, int, str]] = []
    for no, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        m = pat.search(line)
        if m is not None:
            out.append((no, m.start() + 1, line[:MAX_LINE_CHARS]))
            if len(out) >= want:
                break
    return out


def search(
    ws: Workspace,
    res: Resolved,
    query: str,
    *,
    max_results: int,
    case_sensitive: bool,
    regex: bool,
    max_file_bytes: int,
    regex_timeout_ms: int,
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    flags = 0 if case_sensitive else re.IGNORECASE
    try:
        pat = re.compile(query if regex else re.escape(query), flags)
    except re.error as e:
        raise invalid(f"invalid regular expression {query!r}: {e}", query=query) from None
    worker = (
        RegexSearch(query, flags, budget_ms=regex_timeout_ms, max_chars=MAX_LINE_CHARS, cancelled=cancelled)
        if regex
        else None
    )
    try:
        return _search(ws, res, query, pat, worker, max_results, max_file_bytes, cancelled)
    finally:
        if worker is not None:
            worker.close()


def _search(
    ws: Workspace,
    res: Resolved,
    query: str,
    pat: re.Pattern[str],
    worker: RegexSearch | None,
    max_results: int,
    max_file_bytes: int,
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    matches: list[dict[str, Any]] = []
    searched = skipped = 0
    truncated = False
    for e in ws.walk(res, cancelled=cancelled):
        if cancelled() or truncated:
            break
        if e.type != "file":
            continue
        if e.size > max_file_bytes:
            skipped += 1
            continue
        try:
            with open(e.path, "rb") as f:
                data = f.read(max_file_bytes + 1)  # the file may have grown since the walk
        except OSError:
            skipped += 1
            continue
        if b"\x00" in data[:SNIFF] or len(data) > max_file_bytes:
            skipped += 1
            continue
        searched += 1
        want = max_results - len(matches) + 1  # one more than fits tells us to set truncated
        found = worker.search(data, want, e.rel) if worker else _literal_lines(pat, data, want)
        if found is None:  # cancelled
            break
        for no, col, text in found:
            if len(matches) >= max_results:
                truncated = True
                break
            matches.append({"path": e.rel, "line": no, "column": col, "text": text})
    return {
        "query": query,
        "path": res.rel,
        "root": res.root,
        "count": len(matches),
        "truncated": truncated,
        "filesSearched": searched,
        "filesSkipped": skipped,
        "matches": matches,
    }


# -- repo.patch -----------------------------------------------------------------------------------
def patch(ws: Workspace, changes: list[dict[str, Any]], max_file_bytes: int) -> dict[str, Any]:
    """Validate every change first (paths, modes, sizes), then apply them in order."""
    plan: list[tuple[Resolved, str, bytes]] = []
    for i, ch in enumerate(changes):
        mode = ch.get("mode", "write")
        res = ws.resolve(ch["path"], must_exist=(mode == "delete"))
        if res.rel == ".":
            raise invalid(f"changes[{i}]: path {res.given!r} is a workspace root", path=res.given)
        if os.path.isdir(res.real):
            raise invalid(f"changes[{i}]: path {res.given!r} is a directory", path=res.given)
        if ws.matchers[res.root].is_excluded(res.rel, False):
            raise invalid(
                f"changes[{i}]: path {res.given!r} matches the ignore config, which "
                "repo.patch never writes (the daemon's .bkg/ state, secrets, ...)",
                path=res.given,
            )
        data = b""
        if mode in ("write", "append"):
            if not isinstance(ch.get("content"), str):
                raise invalid(f"changes[{i}]: mode {mode!r} needs content", path=res.given)
            if ch.get("encoding") == "base64":
                try:
                    data = base64.b64decode(ch["content"], validate=True)
                except (binascii.Error, ValueError) as e:
                    raise invalid(f"changes[{i}]: content is not valid base64: {e}", path=res.given) from None
            else:
                data = ch["content"].encode("utf-8")
            if len(data) > max_file_bytes:
                raise invalid(
                    f"changes[{i}]: content is {len(data)} bytes, more than maxFileBytes ({max_file_bytes})",
                    path=res.given,
                )
        elif mode != "delete":
            raise invalid(f"changes[{i}]: unknown mode {mode!r}", path=res.given)
        plan.append((res, mode, data))

    applied = []
    for res, mode, data in plan:
        if mode == "delete":
            os.remove(res.real)
        elif mode == "append":
            os.makedirs(os.path.dirname(res.real), exist_ok=True)
            with open(res.real, "ab") as f:
                f.write(data)
        else:
            _atomic_write(res.real, data)
        applied.append({"path": res.rel, "root": res.root, "mode": mode, "bytes": len(data)})
    return {"applied": applied, "count": len(applied)}


def _atomic_write(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp = tempfile.mkstemp(prefix=".repoagent-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
