"""``cti-tui serve``: one CTI server for many agents and supervisors (HTTP API + WebSocket sessions).

It is given a backend factory and an authenticator, never a PBX object, so it fronts any backend that can
vouch for many users. It owns tokens, sessions, permissions, replay and rate limits; the wire format is
:mod:`cti_tui.protocol.session`'s and the wiring is :mod:`cti_tui.assembly`'s.
"""
