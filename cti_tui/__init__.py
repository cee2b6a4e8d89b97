"""cti-tui: a terminal softphone-controller dashboard."""

__version__ = "0.1.0"
