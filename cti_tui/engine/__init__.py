"""The connector engine: one session's live call view over any backend, and the action runner.

Above core and protocol, below every backend and front end; imports no UI, no PBX and no concrete backend.
"""
