"""gitignore-style matching: .gitignore files (nested), .git/info/exclude, config globs, and .git.

Pattern semantics follow gitignore(5):

- blank lines and ``#`` comments are skipped; ``\\#`` / ``\\!`` escape a leading ``#`` / ``!``;
  trailing spaces are dropped unless escaped;
- ``!pattern`` re-includes what an earlier pattern excluded (the last matching pattern wins);
- ``pattern/`` matches directories only;
- a pattern with a slash at the start or in the middle is anchored to the folder of the file that
  holds it (the workspace root for config globs); otherwise it matches a name at any depth;
- ``*`` and ``?`` do not match ``/``; ``[...]`` is a character class; ``**/x``, ``x/**`` and
  ``a/**/b`` span any number of folders.

As in git, nothing inside an ignored folder can be re-included (walks never enter it, and
``is_ignored`` checks every ancestor).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    base: str  # folder holding the pattern, relative to the root, posix ("" = root)
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    anchored: bool
    source: str  # the pattern as written (for diagnostics)


def _translate(glob: str) -> str:
    """Regex source for a gitignore glob (without anchoring/negation/trailing slash)."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("**", i):
                at_start = i == 0 or glob[i - 1] == "/"
                j = i + 2
                at_end = j == n
                if at_start and at_end:  # "**" alone or ".../**": everything below
                    out.append(".*")
                    i = j
                    continue
                if at_start and glob.startswith("/", j):  # "**/": zero or more folders
                    out.append("(?:.*/)?")
                    i = j + 1
                    continue
                # other consecutive asterisks are ordinary asterisks
                while i < n and glob[i] == "*":
                    i += 1
                out.append("[^/]*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and glob[j] in "!^":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:  # no closing bracket: a literal "["
                out.append(re.escape(c))
            else:
                body = glob[i + 1 : j]
                neg = body[:1] in ("!", "^")
                if neg:
                    body = body[1:]
                body = body.replace("[", "\\[")
                out.append("[^/" + body + "]" if neg else "[" + body + "]")
                i = j
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def compile_rule(line: str, base: str = "") -> Rule | None:
    """One gitignore line as a Rule, or None for blanks and comments."""
    line = line.rstrip("\r\n")
    if not line or line.startswith("#"):
        return None
    # trailing spaces are ignored unless escaped with a backslash
    stripped = line.rstrip(" ")
    if stripped != line and stripped.endswith("\\"):
        stripped += " "
    line = stripped
    if not line:
        return None
    negate = False
    if line.startswith("!"):
        negate, line = True, line[1:]
    elif line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    dir_only = line.endswith("/") and not line.endswith("\\/")
    if dir_only:
        line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    if line.startswith("/"):
        line = line.lstrip("/")
    source = line
    try:
        regex = re.compile(r"\A" + _translate(line) + r"\Z", re.DOTALL)
    except re.error:
        return None
    return Rule(base, regex, negate, dir_only, anchored, source)


def parse_lines(lines: list[str], base: str = "") -> list[Rule]:
    rules = []
    for ln in lines:
        r = compile_rule(ln, base)
        if r is not None:
            rules.append(r)
    return rules


def _apply(rules: list[Rule], rel: str, is_dir: bool, state: bool | None) -> bool | None:
    """Run rules (in order, last match wins) over rel; state is the verdict so far."""
    name = rel.rsplit("/", 1)[-1]
    for r in rules:
        if r.dir_only and not is_dir:
            continue
        if r.base:
            if not rel.startswith(r.base + "/"):
                continue
            sub = rel[len(r.base) + 1 :]
        else:
            sub = rel
        target = sub if r.anchored else name
        if r.regex.match(target):
            state = not r.negate
    return state


class IgnoreMatcher:
    """Decides whether a path (relative to one root, posix) is ignored.

    ``config_globs`` are always enforced (a .gitignore cannot re-include them); ``.git``
    anywhere in a path is always ignored.
    """

    def __init__(self, root: str, config_globs: list[str] | None = None, use_gitignore: bool = True) -> None:
        self.root = root
        self.config_rules = parse_lines(list(config_globs or []), "")
        self.use_gitignore = use_gitignore
        self._dir_rules: dict[str, list[Rule]] = {}
        self._root_rules: list[Rule] = []
        if use_gitignore:
            exclude = os.path.join(root, ".git", "info", "exclude")
            self._root_rules = parse_lines(_read_lines(exclude), "")

    def rules_for_dir(self, rel_dir: str) -> list[Rule]:
        """The rules of rel_dir's own .gitignore (cached)."""
        if not self.use_gitignore:
            return []
        rules = self._dir_rules.get(rel_dir)
        if rules is None:
            path = (
                os.path.join(self.root, *rel_dir.split("/"), ".gitignore")
                if rel_dir
                else os.path.join(self.root, ".gitignore")
            )
            rules = parse_lines(_read_lines(path), rel_dir)
            self._dir_rules[rel_dir] = rules
        return rules

    def _git_rules(self, rel: str) -> list[Rule]:
        parts = rel.split("/")[:-1]
        rules = list(self._root_rules) + self.rules_for_dir("")
        for i in range(len(parts)):
            rules += self.rules_for_dir("/".join(parts[: i + 1]))
        return rules

    def match_one(self, rel: str, is_dir: bool) -> bool:
        """Whether rel itself is ignored, assuming its parent folders are not (walk use)."""
        if rel in ("", "."):
            return False
        if rel.rsplit("/", 1)[-1] == ".git":
            return True
        if _apply(self.config_rules, rel, is_dir, None):
            return True
        if self.use_gitignore:
            return bool(_apply(self._git_rules(rel), rel, is_dir, None))
        return False

    def is_excluded(self, rel: str, is_dir: bool) -> bool:
        """Whether rel or a parent folder matches the config's ignore globs or is ``.git``: the
        hard excludes, which even writes respect (.gitignore only hides from reads)."""
        if rel in ("", "."):
            return False
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            last = i == len(parts)
            if parts[i - 1] == ".git" or _apply(self.config_rules, sub, is_dir if last else True, None):
                return True
        return False

    def is_ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether rel or any of its parent folders is ignored."""
        if rel in ("", "."):
            return False
        parts = rel.split("/")
        for i in range(1, len(parts)):
            if self.match_one("/".join(parts[:i]), True):
                return True
        return self.match_one(rel, is_dir)


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []
