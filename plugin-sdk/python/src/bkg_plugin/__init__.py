"""bkg_plugin: write bkg plugins in Python (protocol v1, standard library only).

from bkg_plugin import Plugin, Context, PluginError

plugin = Plugin("echo", "1.0.0")

@plugin.method(description="Reverses text",
               params={"type": "object", "required": ["text"],
                       "properties": {"text": {"type": "string"}}})
async def reverse(params, ctx: Context):
    return params["text"][::-1]

if __name__ == "__main__":
    plugin.run()
"""

from .context import LOG_LEVELS, Context, LifecycleContext
from .errors import ErrorCodes, PluginError
from .plugin import PROTOCOL_VERSION, MethodSpec, Plugin
from .trace import Trace, parse_traceparent

__version__ = "0.1.0"

__all__ = [
    "LOG_LEVELS",
    "PROTOCOL_VERSION",
    "Context",
    "ErrorCodes",
    "LifecycleContext",
    "MethodSpec",
    "Plugin",
    "PluginError",
    "Trace",
    "__version__",
    "parse_traceparent",
]
