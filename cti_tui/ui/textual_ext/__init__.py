"""Every place cti-tui reaches into Textual's internals, in one package, checked against one Textual version.

Textual's private names (modules and attributes starting with ``_``, and the undocumented methods of its
drivers) change between releases without notice. The dashboard needs a few of them to stay fast on a busy wall
(bench/README.md), so they live here and nowhere else: one folder to read before upgrading Textual.

- :mod:`.driver`: ``PromptLinuxDriver``, Textual's Linux driver reading keys and writing frames on the event loop
  (``textual._xterm_parser.XTermParser`` and its ``_timeout_time``; LinuxDriver's ``_app``, ``_debug``,
  ``_file``, ``_key_thread``, ``_loop``, ``fileno`` and the methods it overrides).
- :mod:`.compositor`: ``DirtyRowsCompositor``, partial updates that ask widgets only for the rows they repaint
  (``textual._compositor.Compositor``, ``ChopsUpdate``, ``_render_chops``, ``_regions_to_spans``,
  ``_dirty_regions``); ``use_dirty_rows_compositor`` swaps it in for ``Screen._compositor``.
- :mod:`.styles_cache`: ``StyledRowCache``, the row views' styles cache that reuses the lines it framed
  (``textual._styles_cache.StylesCache`` and its ``render_line``); ``use_styled_row_cache`` swaps it in for
  ``Widget._styles_cache``.
- :mod:`.soon`: ``soon``, a cheap ``call_next`` (``App._handle_exception``).
- :mod:`.memory`: the cycle collector kept off the frames (CPython's ``gc``, no Textual names; here because it
  tunes the runtime under Textual, as the others do).

:data:`WRITTEN_FOR` is the Textual release all of this was written and measured against (pyproject.toml pins
it), and :data:`TEXTUAL_INTERNALS` lists every internal name the code here relies on.
``tests/ui/test_textual_ext.py`` fails when another Textual is installed, when one of those names is gone or
its parameters changed, and when a Textual private name is used anywhere else in ``cti_tui/ui``.

(Nothing here is imported by this file: ``cti-tui`` imports :mod:`.memory` before anything else, Textual
included.)
"""

from __future__ import annotations

from typing import NamedTuple

WRITTEN_FOR = "8.2.8"
"""The Textual release these overrides were written for. Before changing it, with the new Textual installed:
run tests/ui/test_driver.py, test_compositor.py, test_row_view.py, test_soon.py and the snapshot tests, read
what changed in Textual around every name in TEXTUAL_INTERNALS, and look at the app in tmux (log in, move
around a busy dashboard, press Escape alone, quit)."""


class Internal(NamedTuple):
    """A name of Textual's, private or undocumented, that code in this package relies on."""

    path: str
    """Dotted: ``module.Class.attribute`` (or ``module.name``)."""
    used_by: str
    """The module here that relies on it, and how."""
    instance: bool = False
    """An attribute Textual sets on its instances (``self.x = ...``), not one of the class."""
    parameters: tuple[str, ...] | None = None
    """For a callable whose arguments the code passes on or overrides: its parameters in order (no ``self``)."""


TEXTUAL_INTERNALS: tuple[Internal, ...] = (
    # driver.py
    Internal("textual.drivers.linux_driver.LinuxDriver", "driver: subclassed; app.py swaps it for this class"),
    Internal("textual.drivers.linux_driver.LinuxDriver.start_application_mode", "driver: overridden", parameters=()),
    Internal("textual.drivers.linux_driver.LinuxDriver.stop_application_mode", "driver: overridden", parameters=()),
    Internal("textual.drivers.linux_driver.LinuxDriver.write", "driver: overridden", parameters=("data",)),
    Internal("textual.drivers.linux_driver.LinuxDriver.flush", "driver: overridden", parameters=()),
    Internal(
        "textual.drivers.linux_driver.LinuxDriver.run_input_thread",
        "driver: overridden (the loop reads instead); called as a fallback for input the loop cannot watch",
        parameters=(),
    ),
    Internal("textual.drivers.linux_driver.LinuxDriver.send_message", "driver: overridden", parameters=("message",)),
    Internal("textual.drivers.linux_driver.LinuxDriver.disable_input", "driver: overridden", parameters=()),
    Internal(
        "textual.drivers.linux_driver.LinuxDriver.process_message",
        "driver: each parsed key is handed to it",
        parameters=("message",),
    ),
    Internal("textual.drivers.linux_driver.LinuxDriver._app", "driver: panics the app", instance=True),
    Internal("textual.drivers.linux_driver.LinuxDriver._debug", "driver: passed to the parser", instance=True),
    Internal("textual.drivers.linux_driver.LinuxDriver._file", "driver: the terminal it writes to", instance=True),
    Internal("textual.drivers.linux_driver.LinuxDriver._key_thread", "driver: the fallback thread", instance=True),
    Internal("textual.drivers.linux_driver.LinuxDriver._loop", "driver: the loop it reads on", instance=True),
    Internal("textual.drivers.linux_driver.LinuxDriver.fileno", "driver: the descriptor it reads", instance=True),
    Internal("textual._xterm_parser.XTermParser", "driver: parses what it reads", parameters=("debug",)),
    Internal("textual._xterm_parser.XTermParser.feed", "driver: text in, events out", parameters=("data",)),
    Internal("textual._xterm_parser.XTermParser.tick", "driver: a lone Escape after the delay", parameters=()),
    Internal(
        "textual._xterm_parser.XTermParser._timeout_time",
        "driver: set while the parser waits for the rest of a sequence (an Escape): a tick is due",
        instance=True,
    ),
    Internal("textual.constants.ESCAPE_DELAY", "driver: when that tick is due"),
    # compositor.py
    Internal("textual._compositor.Compositor", "compositor: subclassed", parameters=()),
    Internal("textual._compositor.Compositor.render_partial_update", "compositor: overridden", parameters=()),
    Internal(
        "textual._compositor.Compositor._render_chops",
        "compositor: overridden; Textual's full and partial updates call it",
        parameters=("crop", "is_rendered_line"),
    ),
    Internal("textual._compositor.Compositor._regions_to_spans", "compositor: called", parameters=("regions",)),
    Internal("textual._compositor.Compositor._dirty_regions", "compositor: read and cleared", instance=True),
    Internal(
        "textual._compositor.ChopsUpdate",
        "compositor: built as Textual's render_partial_update does",
        parameters=("chops", "spans", "chop_ends"),
    ),
    Internal("textual.screen.Screen._compositor", "compositor: use_dirty_rows_compositor replaces it", instance=True),
    # styles_cache.py
    Internal("textual._styles_cache.StylesCache", "styles_cache: subclassed", parameters=()),
    Internal(
        "textual._styles_cache.StylesCache.render_line",
        "styles_cache: overridden; its arguments are passed on in order and opacity read as the third from last",
        parameters=(
            "styles",
            "y",
            "size",
            "content_size",
            "padding",
            "base_background",
            "background",
            "render_content_line",
            "border_title",
            "border_subtitle",
            "opacity",
            "ansi_theme",
            "native_ansi",
        ),
    ),
    Internal("textual.widget.Widget._styles_cache", "styles_cache: use_styled_row_cache replaces it", instance=True),
    # soon.py
    Internal("textual.app.App._handle_exception", "soon: exceptions go where call_next's go", parameters=("error",)),
)
