"""The embedded PBX: a directory, routing, queues, a park lot and a simulated outside world (seeded)."""
