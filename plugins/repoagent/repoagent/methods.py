"""The repoagent plugin: method registration, params schemas and handlers."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from bkg_plugin import Context, ErrorCodes, LifecycleContext, Plugin, PluginError

from . import __version__
from .analyze import analyze
from .argcheck import check_args
from .config import Config, parse_config
from .files import patch, read_file, search, tree
from .gitops import Git
from .params import MAX_SAFE_INTEGER, check, check_schema
from .procs import run_capped
from .workspace import Workspace, invalid

plugin = Plugin("repoagent", __version__)
Handler = Callable[[dict, Context], Any]


class _State:
    cfg: Config | None = None


state = _State()


def _cfg() -> Config:
    if state.cfg is None:  # pragma: no cover - the SDK calls activate before any method
        raise PluginError(ErrorCodes.PluginUnavailable, "repoagent is not configured yet")
    return state.cfg


def _ws() -> Workspace:
    # one per call: .gitignore files are re-read, so edits (and repo.patch) take effect at once
    return Workspace(_cfg())


def _require_write(method: str) -> Config:
    cfg = _cfg()
    if not cfg.allow_write:
        raise PluginError(
            ErrorCodes.PermissionDenied,
            f"{method} is refused: allowWrite is off in the repoagent config "
            '(set "allowWrite": true in manifests/repoagent.json to enable it)',
            {"allowWrite": False},
        )
    return cfg


@plugin.on_activate
def activate(ctx: LifecycleContext) -> None:
    state.cfg = parse_config(ctx.config, os.getcwd())
    ctx.log(
        "info",
        "repoagent ready",
        roots=state.cfg.workspace_roots,
        allowWrite=state.cfg.allow_write,
        commands=sorted(state.cfg.commands),
    )


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        s["required"] = required
    return s


def _method(*, name: str, description: str, params: dict[str, Any]) -> Callable[[Handler], Handler]:
    """``plugin.method``, plus a check of the params against ``params`` before the handler runs
    (the handler sees integral floats as ints; a bad param is -32602 naming it)."""
    check_schema(params)

    def register(fn: Handler) -> Handler:
        def checked(p: Any, ctx: Context) -> Any:
            return fn(check(params, {} if p is None else p), ctx)

        checked.__name__ = checked.__qualname__ = fn.__name__
        plugin.method(name=name, description=description, params=params)(checked)
        return fn

    return register


PATH = {
    "type": "string",
    "minLength": 1,
    "description": "relative to the first workspace root, or absolute inside any root",
}


# -- read-only ------------------------------------------------------------------------------------
@_method(name="repo.info", description="Workspace roots, limits, allowWrite and the command allowlist", params=_obj({}))
def repo_info(params: dict, ctx: Context) -> dict[str, Any]:
    cfg = _cfg()
    out = cfg.summary()
    out["version"] = __version__
    return out


@_method(
    name="repo.tree",
    description="Flat, path-sorted listing under a folder (breadth first up to `limit`), ignores honoured",
    params=_obj(
        {
            "path": PATH,
            "depth": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_SAFE_INTEGER,
                "description": "levels below path (default: no limit)",
            },
            "limit": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "max entries (default 1000)"},
        },
        ["path"],
    ),
)
def repo_tree(params: dict, ctx: Context) -> dict[str, Any]:
    ws = _ws()
    res = ws.resolve(params["path"], allow_ignored=False)
    return tree(ws, res, params.get("depth"), params.get("limit", 1000), lambda: ctx.cancelled)


@_method(
    name="repo.file.read",
    description="Reads a file (up to maxFileBytes) as UTF-8 text or base64, with binary detection",
    params=_obj(
        {
            "path": PATH,
            "encoding": {"enum": ["utf-8", "base64"], "description": "default utf-8"},
            "offset": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_SAFE_INTEGER,
                "description": "byte offset to start at, at most the file's size (default 0)",
            },
        },
        ["path"],
    ),
)
def repo_file_read(params: dict, ctx: Context) -> dict[str, Any]:
    ws = _ws()
    res = ws.resolve(params["path"], allow_ignored=False)
    return read_file(res, params.get("encoding", "utf-8"), params.get("offset", 0), _cfg().max_file_bytes)


@_method(
    name="repo.search",
    description="Searches text files for a string or regular expression; ignores honoured",
    params=_obj(
        {
            "query": {"type": "string", "minLength": 1},
            "path": PATH,
            "maxResults": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "default 100"},
            "caseSensitive": {"type": "boolean", "description": "default false"},
            "regex": {"type": "boolean", "description": "query is a Python regular expression (default false)"},
        },
        ["query"],
    ),
)
def repo_search(params: dict, ctx: Context) -> dict[str, Any]:
    ws = _ws()
    res = ws.resolve(params.get("path", "."), allow_ignored=False)
    return search(
        ws,
        res,
        params["query"],
        max_results=params.get("maxResults", 100),
        case_sensitive=params.get("caseSensitive", False),
        regex=params.get("regex", False),
        max_file_bytes=_cfg().max_file_bytes,
        regex_timeout_ms=_cfg().regex_timeout_ms,
        cancelled=lambda: ctx.cancelled,
    )


@_method(
    name="repo.analyze",
    description="Counts files, folders, bytes, languages; Python modules, classes, functions, "
    "complexity and import graph. Streams progress ($/progress) every `progressEvery` files",
    params=_obj(
        {
            "path": PATH,
            "progressEvery": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_SAFE_INTEGER,
                "description": "files between progress values (default 200; 0 = none)",
            },
        },
        ["path"],
    ),
)
def repo_analyze(params: dict, ctx: Context) -> dict[str, Any]:
    ws = _ws()
    res = ws.resolve(params["path"], allow_ignored=False)
    return analyze(
        ws,
        res,
        max_file_bytes=_cfg().max_file_bytes,
        progress_every=params.get("progressEvery", 200),
        progress=ctx.progress,
        cancelled=lambda: ctx.cancelled,
    )


@_method(
    name="repo.log",
    description="Commits touching a path (git log): hash, author, email, ISO date, subject",
    params=_obj(
        {"path": PATH, "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "default 20"}},
        ["path"],
    ),
)
def repo_log(params: dict, ctx: Context) -> dict[str, Any]:
    ws = _ws()
    res = ws.resolve(params["path"])
    return Git(_cfg(), ws).log(res, params.get("limit", 20), lambda: ctx.cancelled)


@_method(
    name="repo.diff",
    description="Unified diff of a path: working tree vs HEAD (default) or vs `rev` (or a rev range A..B)",
    params=_obj(
        {"path": PATH, "rev": {"type": "string", "minLength": 1, "description": "commit, branch, tag, or A..B"}},
        ["path"],
    ),
)
def repo_diff(params: dict, ctx: Context) -> dict[str, Any]:
    ws = _ws()
    res = ws.resolve(params["path"], must_exist=False)
    return Git(_cfg(), ws).diff(res, params.get("rev"), lambda: ctx.cancelled)


@_method(
    name="repo.command",
    description="Runs an allowlisted command (config.commands: name -> argv prefix) plus args, no shell, "
    "in the workspace root, with a timeout and output caps",
    params=_obj(
        {
            "name": {"type": "string", "minLength": 1},
            "args": {"type": "array", "items": {"type": "string"}},
            "cwd": {**PATH, "description": "folder to run in (default: the first workspace root)"},
        },
        ["name"],
    ),
)
def repo_command(params: dict, ctx: Context) -> dict[str, Any]:
    cfg = _cfg()
    name = params["name"]
    if name not in cfg.commands:
        allowed = sorted(cfg.commands)
        raise PluginError(
            ErrorCodes.PermissionDenied,
            f"command {name!r} is not on the allowlist; allowed: "
            f"{', '.join(allowed) if allowed else '(none: config.commands is empty)'}",
            {"allowed": allowed},
        )
    ws = Workspace(cfg)
    where = ws.resolve(params.get("cwd", "."), allow_ignored=False)
    if not os.path.isdir(where.real):
        raise invalid(f"cwd {where.given!r} is not a folder", path=where.given)
    argv = cfg.commands[name] + check_args(ws, where, name, cfg.commands[name], params.get("args", []))
    try:
        r = run_capped(
            argv,
            where.real,
            timeout_s=cfg.command_timeout_ms / 1000.0,
            max_bytes=cfg.max_output_bytes,
            cancelled=lambda: ctx.cancelled,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as e:
        raise PluginError(
            ErrorCodes.PluginError, f"command {name!r} could not start {argv[0]!r}: {e.strerror or e}", {"argv": argv}
        ) from None
    if r.timed_out:
        raise PluginError(
            ErrorCodes.PluginError,
            f"command {name!r} timed out after {cfg.command_timeout_ms} ms (commandTimeoutMs) and was killed",
            {
                "timeoutMs": cfg.command_timeout_ms,
                "argv": argv,
                "stdout": r.text("stdout"),
                "stderr": r.text("stderr"),
                "truncated": r.truncated,
            },
        )
    return {
        "name": name,
        "argv": argv,
        "cwd": where.rel,
        "exitCode": r.exit_code,
        "stdout": r.text("stdout"),
        "stderr": r.text("stderr"),
        "truncated": r.truncated,
        "stdoutTruncated": r.stdout_truncated,
        "stderrTruncated": r.stderr_truncated,
        "durationMs": r.elapsed_ms,
    }


# -- writes (allowWrite) ----------------------------------------------------------------------------
@_method(
    name="repo.patch",
    description="Writes, appends to or deletes files (all paths checked before any change); needs allowWrite",
    params=_obj(
        {
            "changes": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["path", "mode"],
                    "properties": {
                        "path": PATH,
                        "mode": {"enum": ["write", "append", "delete"]},
                        "content": {"type": "string", "description": "needed by write and append"},
                        "encoding": {"enum": ["utf-8", "base64"], "description": "of content (default utf-8)"},
                    },
                },
            }
        },
        ["changes"],
    ),
)
def repo_patch(params: dict, ctx: Context) -> dict[str, Any]:
    cfg = _require_write("repo.patch")
    return patch(Workspace(cfg), params["changes"], cfg.max_file_bytes)


@_method(
    name="repo.commit",
    description="Stages (git add -A) and commits the given paths, or everything under the first root; needs allowWrite",
    params=_obj(
        {"message": {"type": "string", "minLength": 1}, "paths": {"type": "array", "minItems": 1, "items": PATH}},
        ["message"],
    ),
)
def repo_commit(params: dict, ctx: Context) -> dict[str, Any]:
    cfg = _require_write("repo.commit")
    ws = Workspace(cfg)
    return Git(cfg, ws).commit(params["message"], params.get("paths"), lambda: ctx.cancelled)
