"""Every place cti-tui reaches into Textual's internals, in one package.

Textual's private names (modules and attributes starting with ``_``) change between releases without notice. The
dashboard needs a few of them to stay fast on a busy wall (bench/README.md), so they live here and nowhere else:
one folder to read before upgrading Textual.

- :mod:`.driver`: ``PromptLinuxDriver``, Textual's Linux driver reading keys and writing frames on the event loop
  (``textual._xterm_parser.XTermParser`` and its ``_timeout_time``; LinuxDriver's ``_app``, ``_debug``,
  ``_file``, ``_key_thread``, ``_loop`` and the methods it overrides).
- :mod:`.compositor`: ``DirtyRowsCompositor``, partial updates that ask widgets only for the rows they repaint
  (``textual._compositor.Compositor``, ``ChopsUpdate``, ``_render_chops``, ``_regions_to_spans``,
  ``_dirty_regions``).
- :mod:`.styles_cache`: ``StyledRowCache``, the row views' styles cache that reuses the lines it framed
  (``textual._styles_cache.StylesCache`` and its ``render_line``; ``Widget._styles_cache``, replaced).
- :mod:`.soon`: ``soon``, a cheap ``call_next`` (``App._handle_exception``).
- :mod:`.memory`: the cycle collector kept off the frames (CPython's ``gc``, no Textual names; here because it
  tunes the runtime under Textual, as the others do).
"""
