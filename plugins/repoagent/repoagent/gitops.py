"""git through the CLI (no GitPython): log, diff, commit."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from bkg_plugin import ErrorCodes, PluginError

from .config import Config
from .procs import RunResult, run_capped
from .workspace import Resolved, Workspace, invalid

GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",  # never wait for credentials
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_OPTIONAL_LOCKS": "0",  # read-only commands do not take index.lock
    "LC_ALL": "C",
    # a path is a path: pathspec magic such as ":(top)" would reach files above the workspace
    # root when that root is a folder inside a larger repository
    "GIT_LITERAL_PATHSPECS": "1",
}
INTERNAL_MAX_BYTES = 16 * 1024 * 1024  # for git output we parse (diff text uses maxOutputBytes)
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# no ":" (rev:path, :/search, :0:path name blobs and trees, not commits), no leading "-" (options)
_REV = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./~^@{}+-]*$")
_FIELD, _RECORD = "\x1f", "\x1e"


class Git:
    def __init__(self, cfg: Config, ws: Workspace) -> None:
        self.cfg = cfg
        self.ws = ws

    def run(
        self,
        cwd: str,
        args: list[str],
        *,
        cancelled: Callable[[], bool] = lambda: False,
        max_bytes: int | None = None,
        identity: bool = False,
        check: bool = True,
    ) -> RunResult:
        argv = ["git", "-c", "core.quotepath=false", "-c", "color.ui=false"]
        if identity and self.cfg.commit_identity:
            argv += [
                "-c",
                f"user.name={self.cfg.commit_identity['name']}",
                "-c",
                f"user.email={self.cfg.commit_identity['email']}",
            ]
        argv += args
        try:
            r = run_capped(
                argv,
                cwd,
                timeout_s=self.cfg.git_timeout_ms / 1000.0,
                max_bytes=max_bytes or INTERNAL_MAX_BYTES,
                cancelled=cancelled,
                env=GIT_ENV,
            )
        except FileNotFoundError:
            raise PluginError(ErrorCodes.PluginError, "git is not installed (not found on PATH)") from None
        if r.timed_out:
            raise PluginError(
                ErrorCodes.PluginError,
                f"git {args[0]} timed out after {self.cfg.git_timeout_ms} ms (gitTimeoutMs)",
                {"timeoutMs": self.cfg.git_timeout_ms},
            )
        if check and r.exit_code != 0 and not r.cancelled:
            raise PluginError(
                ErrorCodes.PluginError,
                f"git {args[0]} failed: {r.text('stderr').strip() or r.exit_code}",
                {"exitCode": r.exit_code, "stderr": r.text("stderr")},
            )
        return r

    @staticmethod
    def where(res: Resolved) -> tuple[str, str]:
        """(cwd, pathspec) to run git about a resolved path."""
        if os.path.isdir(res.real):
            return res.real, "."
        return os.path.dirname(res.real), os.path.basename(res.real)

    def toplevel(self, cwd: str, given: str) -> str:
        r = self.run(cwd, ["rev-parse", "--show-toplevel"], check=False)
        if r.exit_code != 0:
            raise PluginError(ErrorCodes.PluginError, f"{given!r} is not inside a git repository", {"path": given})
        return r.text().strip()

    def has_head(self, cwd: str) -> bool:
        return self.run(cwd, ["rev-parse", "--verify", "--quiet", "HEAD"], check=False).exit_code == 0

    # -- methods ------------------------------------------------------------------------------
    def log(self, res: Resolved, limit: int, cancelled: Callable[[], bool]) -> dict[str, Any]:
        cwd, spec = self.where(res)
        self.toplevel(cwd, res.given)
        if not self.has_head(cwd):
            return {"path": res.rel, "root": res.root, "commits": []}
        fmt = _FIELD.join(["%H", "%an", "%ae", "%aI", "%s"]) + _RECORD
        r = self.run(cwd, ["log", f"-n{limit}", "--no-color", f"--format={fmt}", "--", spec], cancelled=cancelled)
        commits = []
        for rec in r.text().split(_RECORD):
            rec = rec.strip("\n")
            if not rec:
                continue
            parts = rec.split(_FIELD)
            if len(parts) != 5:
                continue
            h, name, email, date, subject = parts
            commits.append({"hash": h, "author": name, "email": email, "date": date, "subject": subject})
        return {"path": res.rel, "root": res.root, "commits": commits}

    def diff(self, res: Resolved, rev: str | None, cancelled: Callable[[], bool]) -> dict[str, Any]:
        cwd, spec = self.where(res)
        self.toplevel(cwd, res.given)
        if rev is not None:
            if not _REV.match(rev):
                raise invalid(
                    f"invalid rev {rev!r}: must look like a commit, branch, tag or A..B range "
                    "(letters, digits and _./~^@{}+-, not starting with '-'; no ':')",
                    rev=rev,
                )
            base = rev
        else:
            base = "HEAD" if self.has_head(cwd) else EMPTY_TREE
        args = ["diff", "--no-color", "--no-ext-diff", base, "--", spec]
        r = self.run(cwd, args, cancelled=cancelled, max_bytes=self.cfg.max_output_bytes)
        names = self.run(cwd, ["diff", "--name-only", "--no-ext-diff", base, "--", spec], cancelled=cancelled)
        out: dict[str, Any] = {
            "path": res.rel,
            "root": res.root,
            "rev": rev if rev is not None else "HEAD",
            "diff": r.text(),
            "bytes": len(r.stdout),
            "truncated": r.stdout_truncated,
            "files": [f for f in names.text().splitlines() if f],
        }
        if rev is None:
            u = self.run(
                cwd, ["ls-files", "--full-name", "--others", "--exclude-standard", "--", spec], cancelled=cancelled
            )
            out["untracked"] = [f for f in u.text().splitlines() if f]
        return out

    def _refuse_excluded(self, root: str, top: str, specs: list[str], cancelled: Callable[[], bool]) -> None:
        """Refuses (-32602) a commit whose ``git add -A`` would stage a file the ignore config
        excludes but .gitignore does not (a ``*.pem`` under a folder path): asks git first
        (``--dry-run``), so the index is never touched."""
        dry = self.run(root, ["add", "-A", "--dry-run", "--", *specs], cancelled=cancelled)
        excluded = []
        for line in dry.text().splitlines():
            verb, _, quoted = line.partition(" ")
            if verb not in ("add", "remove") or len(quoted) < 2 or quoted[0] != "'" or quoted[-1] != "'":
                continue
            rel = os.path.relpath(os.path.join(top, quoted[1:-1]), root).replace(os.sep, "/")
            if not rel.startswith("../") and self.ws.matchers[root].is_excluded(rel, False):
                excluded.append(rel)
        if excluded:
            raise invalid(
                f"repo.commit would stage {', '.join(repr(x) for x in excluded[:10])}"
                f"{' and more' if len(excluded) > 10 else ''}, which the ignore config excludes; "
                "name the paths to commit, or add them to .gitignore",
                excluded=excluded,
            )

    def commit(self, message: str, paths: list[str] | None, cancelled: Callable[[], bool]) -> dict[str, Any]:
        if paths:
            resolved = [self.ws.resolve(p, must_exist=False) for p in paths]
            for r in resolved:
                if self.ws.matchers[r.root].is_excluded(r.rel, os.path.isdir(r.real)):
                    raise invalid(
                        f"repo.commit: path {r.given!r} matches the ignore config, which repo.commit never stages",
                        path=r.given,
                    )
            roots = {r.root for r in resolved}
            if len(roots) > 1:
                raise invalid("repo.commit: all paths must lie in the same workspace root", paths=paths)
            root = resolved[0].root
            specs = [r.rel for r in resolved]
        else:
            root = self.ws.default_root
            specs = ["."]
        top = self.toplevel(root, paths[0] if paths else ".")
        self._refuse_excluded(root, top, specs, cancelled)
        self.run(root, ["add", "-A", "--", *specs], cancelled=cancelled)
        st = self.run(root, ["diff", "--cached", "--name-only", "--", *specs], cancelled=cancelled)
        if not st.text().strip():
            raise PluginError(ErrorCodes.PluginError, "nothing to commit", {"paths": specs})
        self.run(root, ["commit", "-q", "-m", message, "--", *specs], cancelled=cancelled, identity=True)
        head = self.run(root, ["log", "-n1", f"--format=%H{_FIELD}%s"], cancelled=cancelled).text().strip()
        h, _, subject = head.partition(_FIELD)
        files = self.run(root, ["show", "--name-only", "--format=", "HEAD"], cancelled=cancelled).text()
        return {"commit": h, "subject": subject, "files": [f for f in files.splitlines() if f]}
