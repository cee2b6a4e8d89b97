"""Dashboard panes and small widgets."""
