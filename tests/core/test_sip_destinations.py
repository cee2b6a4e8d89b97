"""SIP addresses as destinations: accepted as typed for a backend that dials SIP itself, refused with the
reason elsewhere; and the config's registrar/proxy addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti_tui.config import load_config, valid_sip_host
from cti_tui.core.numbers import InvalidNumber, parse_destination


@pytest.mark.parametrize(
    "uri", ["sip:1002@pbx.example", "sip:alice@10.0.0.5:5062", "sips:bob@pbx.example;transport=tls"]
)
def test_sip_uris_are_kept_as_typed(uri: str) -> None:
    destination = parse_destination(uri, sip_uris=True)
    assert destination.number == uri and not destination.is_extension


@pytest.mark.parametrize("uri", ["sip:", "sip:@host", "sip:a b@host", "sip:alice@", "sip:alice@host:port", "sip:<x>@h"])
def test_malformed_sip_uris_are_refused_with_the_shape(uri: str) -> None:
    with pytest.raises(InvalidNumber, match="not a SIP address"):
        parse_destination(uri, sip_uris=True)


def test_a_backend_that_dials_numbers_refuses_sip_uris() -> None:
    with pytest.raises(InvalidNumber, match="dials numbers, not SIP addresses"):
        parse_destination("sip:1002@pbx.example")
    assert parse_destination("1002", sip_uris=True).number == "1002"  # numbers still work


SIP_HOSTS = [("pbx.example", True), ("127.0.0.1:5062", True), ("[::1]:5060", True), ("pbx example", False)]
SIP_HOSTS += [("host:0", False), ("host:70000", False), ("", False)]


@pytest.mark.parametrize(("text", "ok"), SIP_HOSTS)
def test_sip_host_shape(text: str, ok: bool) -> None:
    assert valid_sip_host(text) is ok


def test_config_softphone_account_settings_and_no_sip_password(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'softphone_registrar = "pbx.example:5060"\nsoftphone_proxy = "bad proxy"\nsoftphone_user = "1001"\n'
        'softphone_password = "hunter2"\n'
    )
    config = load_config(path)
    assert (config.softphone_registrar, config.softphone_proxy, config.softphone_user) == (
        "pbx.example:5060",
        "",
        "1001",
    )
    assert any("softphone_proxy" in p for p in config.problems)
    assert any("softphone_password" in p and "never read" in p for p in config.problems)
    assert "hunter2" not in repr(config)
