"""Checks a call's params against the method's declared JSON Schema, inside the plugin.

The daemon validates params too, but the plugin must not rely on it (a test, a dev harness or a
daemon with validation off talks to it directly), and a bad number used to reach the OS: an
``offset`` of 1e15 answered ``[Errno 22] Invalid argument``. Only the schema keywords the
methods use are understood: type (object, string, integer, boolean, array), properties,
required, additionalProperties: false, enum, minimum, maximum, minLength, minItems, maxItems and
items. Anything else in a schema is a programming error and raises at registration.
"""

from __future__ import annotations

from typing import Any

from .workspace import invalid

MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer every JSON peer (JavaScript included) keeps exact
_KNOWN = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "minItems",
    "maxItems",
    "items",
    "description",
}


def check_schema(schema: dict[str, Any]) -> None:
    """Raises ValueError if ``schema`` uses a keyword ``check`` does not understand."""
    unknown = set(schema) - _KNOWN
    if unknown:
        raise ValueError(f"params schema keywords not supported by repoagent.params: {sorted(unknown)}")
    for sub in schema.get("properties", {}).values():
        check_schema(sub)
    if "items" in schema:
        check_schema(schema["items"])


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"


def check(schema: dict[str, Any], value: Any, where: str = "params") -> Any:
    """``value`` checked against ``schema``; returns it with integral floats (5.0) made ints.
    Raises PluginError -32602 naming the field, the rule and the value it got."""
    t = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        raise invalid(f"{where} must be one of {schema['enum']}, got {value!r}", field=where)
    if t == "object":
        if not isinstance(value, dict):
            raise invalid(f"{where} must be an object, got {_type_name(value)}", field=where)
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                raise invalid(f"{where}.{key} is required", field=f"{where}.{key}")
        out = {}
        for key, v in value.items():
            if key == "_meta":
                out[key] = v
            elif key in props:
                out[key] = check(props[key], v, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                raise invalid(
                    f"{where}.{key} is not a known parameter (known: {', '.join(sorted(props))})",
                    field=f"{where}.{key}",
                )
            else:
                out[key] = v
        return out
    if t == "integer":
        return _integer(schema, value, where)
    if t == "string":
        if not isinstance(value, str):
            raise invalid(f"{where} must be a string, got {_type_name(value)}", field=where)
        if len(value) < schema.get("minLength", 0):
            raise invalid(f"{where} must not be empty", field=where)
        return value
    if t == "boolean":
        if not isinstance(value, bool):
            raise invalid(f"{where} must be true or false, got {value!r}", field=where)
        return value
    if t == "array":
        if not isinstance(value, list):
            raise invalid(f"{where} must be an array, got {_type_name(value)}", field=where)
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")
        if len(value) < lo or (hi is not None and len(value) > hi):
            bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise invalid(f"{where} must have {bound} items, got {len(value)}", field=where)
        items = schema.get("items")
        return [check(items, v, f"{where}[{i}]") for i, v in enumerate(value)] if items else list(value)
    return value


def _integer(schema: dict[str, Any], value: Any, where: str) -> int:
    lo = schema.get("minimum", -MAX_SAFE_INTEGER)
    hi = min(schema.get("maximum", MAX_SAFE_INTEGER), MAX_SAFE_INTEGER)
    rule = f"{where} must be an integer from {lo} to {hi}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"{rule}, got {_type_name(value)}", field=where, minimum=lo, maximum=hi)
    if isinstance(value, float) and not value.is_integer():
        raise invalid(f"{rule}, got {value!r}", field=where, minimum=lo, maximum=hi)
    n = int(value)
    if not lo <= n <= hi:
        raise invalid(f"{rule}, got {value!r}", field=where, minimum=lo, maximum=hi)
    return n
