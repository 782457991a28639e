"""The plugin's configuration (the manifest's ``config`` object, received at initialize)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from bkg_plugin import ErrorCodes, PluginError

MIB = 1024 * 1024


@dataclass
class Config:
    workspace_roots: list[str]  # realpaths, first one is the default root
    ignore: list[str] = field(default_factory=list)
    commands: dict[str, list[str]] = field(default_factory=dict)
    command_timeout_ms: int = 10_000
    git_timeout_ms: int = 30_000
    regex_timeout_ms: int = 2_000
    max_output_bytes: int = MIB
    allow_write: bool = False
    max_file_bytes: int = 2 * MIB
    gitignore: bool = True
    commit_identity: dict[str, str] | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "workspaceRoots": list(self.workspace_roots),
            "ignore": list(self.ignore),
            "commands": {k: list(v) for k, v in self.commands.items()},
            "commandTimeoutMs": self.command_timeout_ms,
            "gitTimeoutMs": self.git_timeout_ms,
            "regexTimeoutMs": self.regex_timeout_ms,
            "maxOutputBytes": self.max_output_bytes,
            "allowWrite": self.allow_write,
            "maxFileBytes": self.max_file_bytes,
            "gitignore": self.gitignore,
        }


def _bad(msg: str) -> PluginError:
    return PluginError(ErrorCodes.InvalidParams, f"invalid repoagent config: {msg}")


def _int(raw: dict[str, Any], key: str, default: int, minimum: int = 1) -> int:
    v = raw.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or v < minimum:
        raise _bad(f"{key} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def _bool(raw: dict[str, Any], key: str, default: bool) -> bool:
    v = raw.get(key, default)
    if not isinstance(v, bool):
        raise _bad(f"{key} must be true or false, got {v!r}")
    return v


def parse_config(raw: Any, cwd: str | None = None) -> Config:
    """Validate and normalise the config; raises PluginError (-32602) naming the problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _bad("config must be an object")
    cwd = cwd or os.getcwd()

    roots_raw = raw.get("workspaceRoots")
    if roots_raw is None:
        roots_raw = [cwd]
    if not isinstance(roots_raw, list) or not roots_raw or not all(isinstance(r, str) and r for r in roots_raw):
        raise _bad("workspaceRoots must be a non-empty list of folder paths")
    roots: list[str] = []
    for r in roots_raw:
        real = os.path.realpath(os.path.join(cwd, os.path.expanduser(r)))
        if not os.path.isdir(real):
            raise _bad(f"workspace root {r!r} (resolved to {real}) is not a folder")
        if real not in roots:
            roots.append(real)

    ignore = raw.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(g, str) for g in ignore):
        raise _bad("ignore must be a list of glob strings")

    commands_raw = raw.get("commands", {})
    if not isinstance(commands_raw, dict):
        raise _bad("commands must be an object mapping a name to an argv prefix")
    commands: dict[str, list[str]] = {}
    for name, argv in commands_raw.items():
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv):
            raise _bad(f"commands.{name} must be a non-empty list of non-empty strings (an argv prefix)")
        commands[name] = list(argv)

    ident = raw.get("commitIdentity")
    if ident is not None:
        if (
            not isinstance(ident, dict)
            or not isinstance(ident.get("name"), str)
            or not isinstance(ident.get("email"), str)
        ):
            raise _bad('commitIdentity must be {"name": string, "email": string}')
        ident = {"name": ident["name"], "email": ident["email"]}

    return Config(
        workspace_roots=roots,
        ignore=list(ignore),
        commands=commands,
        command_timeout_ms=_int(raw, "commandTimeoutMs", 10_000),
        git_timeout_ms=_int(raw, "gitTimeoutMs", 30_000),
        regex_timeout_ms=_int(raw, "regexTimeoutMs", 2_000),
        max_output_bytes=_int(raw, "maxOutputBytes", MIB),
        allow_write=_bool(raw, "allowWrite", False),
        max_file_bytes=_int(raw, "maxFileBytes", 2 * MIB),
        gitignore=_bool(raw, "gitignore", True),
        commit_identity=ident,
    )
