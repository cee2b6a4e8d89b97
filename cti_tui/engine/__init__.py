"""The connector engine: call model, state machine, public async API. Imports nothing from the UI."""
