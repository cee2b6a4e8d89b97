"""The embedded PBX, a simulator: a directory, routing, queues, a park lot and a seeded outside world.

It is the default backend's world (through :mod:`cti_tui.backends.embedded`) and what tests and benchmarks
drive; it imports only :mod:`cti_tui.core`, so its calls change status only through the core's one
transition table.
"""
