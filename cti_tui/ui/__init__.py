"""The Textual app: renders engine state and turns keys into intents.

Widgets never call a backend: they post intents to the session's Connector and redraw from its events. The
UI is handed everything it needs by the composition root (:mod:`cti_tui.assembly`, through
:class:`~cti_tui.ui.services.Services`) and imports no PBX, no concrete backend and no history store, so the
same screens run on the demo PBX, a CTI server or a softphone.
"""
