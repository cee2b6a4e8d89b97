"""Every wire format, sans-I/O: event JSON, the command vocabulary, the WebSocket session protocol (both
roles), baresip's netstrings and the Asterisk Manager Interface (AMI). Bytes or dicts in, values out; no
sockets, so each is fuzzed on its own."""
