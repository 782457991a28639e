"""repoagent: a bkg plugin that lets agents explore and (optionally) change a code repository."""

__version__ = "0.1.0"
