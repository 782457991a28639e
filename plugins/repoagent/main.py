#!/usr/bin/env python3
"""The repoagent bkg plugin: `python3 main.py` (manifests/repoagent.json starts it this way).

Runs from a clean checkout with no install: when bkg_plugin is not importable, the Python SDK in
../../plugin-sdk/python/src (relative to this file) is put on sys.path.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
try:
    import bkg_plugin  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, "plugin-sdk", "python", "src")))

from repoagent.methods import plugin  # noqa: E402

if __name__ == "__main__":
    plugin.run()
