"""A command line that is not JSON is refused in the program's own words, never the interpreter's
(issue 14 #6: ``sys.set_int_max_str_digits()`` reached clients)."""

from __future__ import annotations

import pytest

from cti_tui.protocol.actions import ActionError, parse_line


@pytest.mark.parametrize("line", ['{"action": "ping", "n": ' + "9" * 5000 + "}", b'{"action": "\xff"}'])
def test_a_line_the_parser_cannot_take_is_refused_without_interpreter_wording(line: str | bytes) -> None:
    with pytest.raises(ActionError) as refused:
        parse_line(line)
    message = str(refused.value)
    assert message.startswith("not JSON")
    assert "sys." not in message and "digits" not in message and "codec" not in message, message
