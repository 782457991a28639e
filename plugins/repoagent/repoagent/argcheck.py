"""The checks on a caller's extra arguments to an allowlisted command (repo.command).

A command's argv grammar is unknown in general, so every argument is classified conservatively:

- after ``--``, and any argument not starting with ``-``, is an operand: it is checked as a path
  (relative to the command's cwd). It must lie inside a workspace root once ``..`` and symlinks
  are resolved, and must not be in ``.git`` or an ignored folder. An operand that is not a path
  (a git rev, a pattern) passes as long as it would name a path inside the cwd's root;
- ``--name=value``: the value is checked as a path too;
- ``-abc`` (a cluster of short flags): letters and digits only, since an attached value
  (``-C/tmp``, ``-o../x``) cannot be told apart from flags; a separate value is an operand;
- a git command takes extra args only if its prefix names a read-only subcommand (status, log,
  diff, ...; branch and tag only with --list), since others write the repository or run
  programs from their operands (config, rebase --exec, submodule foreach, bisect run);
- per-program tables refuse options that write files, run programs, or point the program at
  another repository or recurse past the ignore rules (git's ``--output``, ``--ext-diff``,
  ``--upload-pack``, ``ls -R``, ``find -exec``). A long option is refused if it is a prefix of a denied one,
  because git and GNU getopt accept unambiguous abbreviations (``--outp`` is ``--output``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from bkg_plugin import ErrorCodes, PluginError

from .workspace import Resolved, Workspace

_FLAGS = re.compile(r"^-[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Denied:
    long: tuple[str, ...]  # option names, "--" included
    short: str  # flag letters refused in any cluster
    why: str
    words: tuple[str, ...] = ()  # single-dash long options (find's -exec), refused as written


# git options that write outside the command's output, run a program, or read another repository
# or ignored files (grep --no-exclude-standard)
_GIT = Denied(
    long=(
        "--output",
        "--output-directory",
        "--ext-diff",
        "--exec",
        "--exec-path",
        "--upload-pack",
        "--receive-pack",
        "--open-files-in-pager",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--super-prefix",
        "--config-env",
        "--template",
        "--no-index",
        "--orderfile",
        "--no-exclude-standard",
    ),
    short="oO",
    why="it writes files, runs another program, or reads outside the repository",
)
# the git subcommands that only read, whose extra args repoagent can check; any other one
# (config, rebase --exec, submodule foreach, bisect run, difftool -x, fetch ext::...) can write
# the repository or run a program, so it takes no extra args
_GIT_READ_ONLY = frozenset(
    {
        "status",
        "log",
        "show",
        "diff",
        "blame",
        "ls-files",
        "ls-tree",
        "rev-parse",
        "describe",
        "shortlog",
        "grep",
        "cat-file",
        "rev-list",
        "show-ref",
        "name-rev",
        "whatchanged",
        "count-objects",
        "branch",
        "tag",
    }
)
# these list with --list / -l, but create or delete refs without it
_GIT_LISTING = frozenset({"branch", "tag"})
_LS = Denied(long=("--recursive",), short="R", why="it recurses into ignored folders (.git, node_modules, ...)")
_FIND = Denied(
    long=(),
    short="",
    words=("-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls"),
    why="it runs a program, deletes or writes files",
)
_TABLES = {"git": _GIT, "ls": _LS, "find": _FIND}

# git's global options that take a value in the next argument (for finding the subcommand)
_GIT_GLOBAL_WITH_VALUE = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--super-prefix", "--config-env"}
)


def git_subcommand(prefix: list[str]) -> str | None:
    """The git subcommand named in an allowlisted argv prefix, or None if the prefix leaves it to
    the caller (``["git"]``, ``["git", "-C", "x"]``)."""
    i = 1
    while i < len(prefix):
        a = prefix[i]
        if a in _GIT_GLOBAL_WITH_VALUE:
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        return a
    return None


def _program(prefix: list[str]) -> str:
    return os.path.basename(prefix[0])


def _refuse(name: str, index: int, arg: str, rule: str, code: int = ErrorCodes.InvalidParams) -> PluginError:
    return PluginError(
        code, f"command {name!r}: args[{index}] {arg!r} is refused: {rule}", {"arg": arg, "index": index, "rule": rule}
    )


def _denied_for(prefix: list[str]) -> tuple[Denied | None, str]:
    prog = _program(prefix)
    return _TABLES.get(prog), prog


def _git_refusal(name: str, prefix: list[str]) -> PluginError | None:
    """Why a git command takes no extra args at all (-33003), or None."""
    sub = git_subcommand(prefix)
    why = None
    if sub is None:
        why = (
            "leaves the git subcommand (and git's global options such as -c) to the caller; "
            "name the subcommand in config.commands"
        )
    elif sub not in _GIT_READ_ONLY:
        why = (
            f"runs 'git {sub}', which is not one of the read-only subcommands whose args repoagent "
            f"can check ({', '.join(sorted(_GIT_READ_ONLY))})"
        )
    elif sub in _GIT_LISTING and not {"--list", "-l"} & set(prefix):
        why = f"runs 'git {sub}' without --list, where an extra arg would create or delete a {sub}"
    if why is None:
        return None
    return PluginError(
        ErrorCodes.PermissionDenied,
        f"command {name!r}: extra args are refused because its allowlisted argv {prefix!r} {why}",
        {"rule": "git subcommand", "subcommand": sub},
    )


def _check_option(name: str, i: int, arg: str, denied: Denied | None, prog: str) -> str | None:
    """Checks an option; returns the value of ``--name=value`` (to check as a path) or None."""
    if arg.startswith("--"):
        opt, eq, value = arg.partition("=")
        if denied and any(d.startswith(opt) for d in denied.long):
            full = next(d for d in denied.long if d.startswith(opt))
            shown = opt if opt == full else f"{opt} (an abbreviation of {full})"
            raise _refuse(
                name, i, arg, f"{prog} option {shown} is not allowed: {denied.why}", ErrorCodes.PermissionDenied
            )
        return value if eq else None
    if denied and arg in denied.words:
        raise _refuse(name, i, arg, f"{prog} option {arg} is not allowed: {denied.why}", ErrorCodes.PermissionDenied)
    if not _FLAGS.match(arg):
        raise _refuse(
            name,
            i,
            arg,
            "an option with an attached value cannot be checked; "
            "pass the value as its own argument (e.g. ['-C', 'dir'])",
        )
    if denied:
        bad = sorted({c for c in arg[1:] if c in denied.short})
        if bad:
            raise _refuse(
                name, i, arg, f"{prog} option -{bad[0]} is not allowed: {denied.why}", ErrorCodes.PermissionDenied
            )
    return None


def _check_path(ws: Workspace, cwd: Resolved, name: str, i: int, arg: str, what: str, path: str | None = None) -> None:
    try:
        ws.resolve(arg if path is None else path, must_exist=False, allow_ignored=False, base=cwd.real)
    except PluginError as e:
        # the workspace message names the path; say which argument and which rule it broke
        raise _refuse(
            name, i, arg, f"{what} must be a path inside the workspace roots, not ignored and not in .git ({e.message})"
        ) from None


def check_args(ws: Workspace, cwd: Resolved, name: str, prefix: list[str], args: list[object]) -> list[str]:
    """Checks the caller's extra args of command ``name`` (argv prefix ``prefix``) run in ``cwd``.

    Returns the args (all strings). Raises PluginError naming the first refused argument and the
    rule: -32602 for a path outside the roots or an unclassifiable argument, -33003 for an option
    the program's table denies. Pure apart from reading the file system; never runs anything."""
    if not isinstance(args, list):
        raise PluginError(
            ErrorCodes.InvalidParams, f"command {name!r}: args must be a list of strings", {"rule": "args is a list"}
        )
    denied, prog = _denied_for(prefix)
    if prog == "git" and args:
        refusal = _git_refusal(name, prefix)
        if refusal is not None:
            raise refusal
    out: list[str] = []
    operands_only = False
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            raise _refuse(name, i, repr(arg), "every argument must be a string")
        if "\x00" in arg:
            raise _refuse(name, i, arg, "an argument cannot contain a NUL byte")
        out.append(arg)
        if not operands_only and arg == "--":
            operands_only = True
            continue
        if operands_only or not arg.startswith("-") or arg == "-":
            _check_path(ws, cwd, name, i, arg, "an operand")
            continue
        value = _check_option(name, i, arg, denied, prog)
        if value:
            _check_path(ws, cwd, name, i, arg, f"the value of {arg.partition('=')[0]}", value)
    return out
