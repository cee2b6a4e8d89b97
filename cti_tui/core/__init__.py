"""The pure core: call model, state machine, commands, numbers, clock, permissions and the Backend protocol.

Everything here is sans-I/O and imports nothing else of cti_tui, so a transition or a number check is a plain
function call in a test, and every layer above (protocol, engine, backends, front ends) can rely on it.
"""
