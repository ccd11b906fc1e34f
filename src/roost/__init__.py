"""Roost: a mail synchronization server."""

__version__ = "0.1.0"
