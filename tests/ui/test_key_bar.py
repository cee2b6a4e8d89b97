"""Issue 17 #8: every key the bar offers is on screen; what does not fit one line wraps onto another."""

from __future__ import annotations

from scenes import answered_call, as_agent, settle

from cti_tui.ui.widgets.key_bar import KeyBar


async def test_every_key_is_shown_at_80_columns(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await as_agent(pilot)
        await answered_call(pilot)
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        drawn = bar.render().plain
        assert len(bar.shown) >= 10
        for entry in bar.shown:  # "x Hang up", "q Quit", ...
            key, _, description = entry.partition(" ")
            assert f" {key} {description} " in drawn, (entry, drawn)
        assert bar.size.height == len(drawn.splitlines()) >= 2
        assert "^p" in drawn.splitlines()[0]  # the palette stays on the first line's right edge
