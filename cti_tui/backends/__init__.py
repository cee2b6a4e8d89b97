"""One adapter per outside world (embedded demo PBX, CTI server client, baresip softphone), each a
:class:`~cti_tui.core.backend.Backend`. Only the composition root (:mod:`cti_tui.assembly`) picks one."""
