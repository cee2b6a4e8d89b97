"""Every backend adapter has every method of the Backend protocol.

The adapters are reached through the registry by name, so mypy never compares them with the protocol: a
method the connector or the screen calls (``now`` was reached with getattr and a fallback until issue 15)
could be missing from one adapter and fail only when that backend is used.
"""

from __future__ import annotations

import pytest

from cti_tui.backends.asterisk import AsteriskBackend
from cti_tui.backends.embedded import EmbeddedBackend
from cti_tui.backends.server import ServerBackend
from cti_tui.backends.softphone import SoftphoneBackend
from cti_tui.core.backend import Backend

METHODS = sorted(name for name, value in vars(Backend).items() if callable(value) and not name.startswith("_"))


def test_the_protocol_lists_what_the_connector_needs() -> None:
    assert {"login", "two_factor_auth", "open", "close", "execute", "directory", "now"} <= set(METHODS)


@pytest.mark.parametrize("adapter", [EmbeddedBackend, ServerBackend, SoftphoneBackend, AsteriskBackend])
def test_each_adapter_has_every_method(adapter: type) -> None:
    assert [name for name in METHODS if not callable(getattr(adapter, name, None))] == []
