"""Workspace roots: path resolution with containment checks, and ignore-aware walking.

Every path a caller gives goes through ``Workspace.resolve``: relative paths are taken against the
first workspace root, absolute ones are accepted as they are; then the path is resolved with
``os.path.realpath`` (so ``..`` and symlinks are followed) and must lie inside one of the roots.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bkg_plugin import ErrorCodes, PluginError

from .config import Config
from .ignore import IgnoreMatcher


@dataclass(frozen=True)
class Resolved:
    given: str  # the path as the caller wrote it
    root: str  # the workspace root (realpath) holding it
    real: str  # its realpath
    rel: str  # relative to root, posix separators, "." for the root itself


@dataclass(frozen=True)
class Entry:
    rel: str  # relative to the root, posix
    path: str  # absolute (under the root's realpath; not resolved further)
    type: str  # "file" | "dir" | "symlink" | "other"
    size: int
    depth: int  # 1 = a child of the walk's start


def invalid(message: str, **data: object) -> PluginError:
    return PluginError(ErrorCodes.InvalidParams, message, data or None)


def _within(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


class Workspace:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.roots = list(cfg.workspace_roots)
        self.matchers = {r: IgnoreMatcher(r, cfg.ignore, cfg.gitignore) for r in self.roots}

    @property
    def default_root(self) -> str:
        return self.roots[0]

    # -- resolution ---------------------------------------------------------------------------
    def resolve(
        self, path: str | None, *, must_exist: bool = True, allow_ignored: bool = True, base: str | None = None
    ) -> Resolved:
        """Resolve a caller's path; PluginError -32602 naming the path when it is outside every
        root (``..``, absolute paths, symlinks), inside ``.git``, missing, or ignored (a missing
        path is ignored when a parent folder is). A relative path is taken against ``base``
        (default: the first root)."""
        given = "." if path is None or path == "" else path
        if not isinstance(given, str) or "\x00" in given:
            raise invalid(f"invalid path {given!r}", path=given)
        cand = given if os.path.isabs(given) else os.path.join(base or self.default_root, given)
        real = os.path.realpath(cand)
        holders = [r for r in self.roots if _within(real, r)]
        if not holders:
            via_link = os.path.normpath(cand) != real
            verb = "resolves (through a symlink) outside" if via_link else "is outside"
            raise invalid(
                f"path {given!r} {verb} the workspace roots ({', '.join(self.roots)})", path=given, roots=self.roots
            )
        root = max(holders, key=len)
        rel = os.path.relpath(real, root).replace(os.sep, "/")
        if "/.git/" in "/" + rel + "/":
            raise invalid(f"path {given!r} is inside .git, which repoagent never touches", path=given)
        res = Resolved(given, root, real, rel)
        if must_exist and not os.path.lexists(real):
            raise invalid(f"path {given!r} does not exist", path=given)
        is_dir = os.path.isdir(real) and not os.path.islink(real)
        if not allow_ignored and rel != "." and self.matchers[root].is_ignored(rel, is_dir):
            raise invalid(f"path {given!r} is ignored (ignore config or .gitignore)", path=given)
        return res

    # -- walking ------------------------------------------------------------------------------
    def walk(
        self, start: Resolved, *, max_depth: int | None = None, cancelled: Callable[[], bool] = lambda: False
    ) -> Iterator[Entry]:
        """Entries under start, breadth first, children sorted by name; ignored paths (and
        ``.git``) are skipped and never entered; symlinks are reported, never followed.
        A file ``start`` yields just itself (depth 0)."""
        matcher = self.matchers[start.root]
        if not os.path.isdir(start.real):
            try:
                st = os.lstat(start.real)
            except OSError:
                return
            yield Entry(start.rel, start.real, _kind(st.st_mode), st.st_size, 0)
            return
        queue: deque[tuple[str, str, int]] = deque([(start.rel if start.rel != "." else "", start.real, 0)])
        while queue:
            if cancelled():
                return
            rel_dir, abs_dir, depth = queue.popleft()
            try:
                with os.scandir(abs_dir) as it:
                    children = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            for e in children:
                rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                kind = _kind(st.st_mode)
                if matcher.match_one(rel, kind == "dir"):
                    continue
                yield Entry(rel, e.path, kind, st.st_size if kind != "dir" else 0, depth + 1)
                if kind == "dir" and (max_depth is None or depth + 1 < max_depth):
                    queue.append((rel, e.path, depth + 1))


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"
