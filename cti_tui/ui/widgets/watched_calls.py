"""The watched-calls pane: a supervisor's view of its watched lines' calls, apart from its own.

Mixed into one table, an agent's ringing call looked like the supervisor's own and a hang-up key acted on
whichever row was selected. Same rows as the active-calls pane (one drawing), another title; the keys act
on the selected row of whichever of the two panes has the focus.
"""

from __future__ import annotations

from cti_tui.core.model import Call, Identity
from cti_tui.ui.widgets.active_calls import ActiveCalls


def is_own(call: Call, identity: Identity) -> bool:
    """The user's own call (its phone's, or one it parked and still sees), not a watched line's."""
    return call.line == identity.line or identity.line in call.also


class WatchedCalls(ActiveCalls):
    TITLE = "Watched calls"
