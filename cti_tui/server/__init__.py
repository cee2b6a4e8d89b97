"""``cti-tui serve``: one CTI server for many agents and supervisors (HTTP API + WebSocket sessions)."""
