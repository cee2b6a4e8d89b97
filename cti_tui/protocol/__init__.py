"""Every wire format, sans-I/O: event JSON, the command vocabulary, the WebSocket session protocol (both
roles) and baresip's netstrings. Bytes or dicts in, values out; no sockets, so each is fuzzed on its own."""
