"""Where a frame's time goes (``wall.py --trace-frames``): a diagnostic for whoever tunes the wall.

Three things, counted only between :meth:`FrameTrace.start` and :meth:`FrameTrace.stop`:

* every event-loop callback that ran longer than ``slow_ms``, with what it was (the Textual message pump or
  timer behind it), because a key waits behind the longest of them;
* every screen refresh (``Screen._on_timer_update``): its duration, and whether it re-laid out the screen;
* per widget: how often Textual asked it for lines and how many of those lines it had to draw again (dirty
  in its styles cache) — what a refresh costs is mostly those lines.

It patches Textual and asyncio in the bench process only; nothing in ``cti_tui`` knows about it.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual._styles_cache import StylesCache
from textual.screen import Screen


def _label(callback: Any) -> str:
    """What an event-loop callback is: for a task step, the coroutine and the object whose method it runs."""
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        name = getattr(coro, "__qualname__", repr(coro))
        frame = getattr(coro, "cr_frame", None)
        holder = frame.f_locals.get("self") if frame is not None else None
        return f"task {name} [{type(holder).__name__ if holder is not None else owner.get_name()}]"
    return getattr(callback, "__qualname__", repr(callback))


def _percentiles(values: list[float]) -> str:
    if not values:
        return "n=0"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return (
        f"p50 {at(0.5):.2f} / p90 {at(0.9):.2f} / p99 {at(0.99):.2f} / max {ordered[-1]:.2f} ms "
        f"(n={len(ordered)}, {sum(ordered):.0f} ms in all)"
    )


SLOW_FRAME_MS = 5


class FrameTrace:
    def __init__(self, slow_ms: float = 5.0) -> None:
        self.slow_ns = int(slow_ms * 1e6)
        self.on = False
        self.callbacks: list[float] = []
        self.slow: Counter[str] = Counter()
        self.slow_time: defaultdict[str, float] = defaultdict(float)
        self.frames: list[float] = []
        self.frame_kinds: defaultdict[str, list[float]] = defaultdict(list)
        self.asked: Counter[str] = Counter()
        self.lines: Counter[str] = Counter()
        self.drawn: Counter[str] = Counter()
        self.render_ms: Counter[str] = Counter()
        self.drawing = ""
        self.messages: Counter[str] = Counter()
        self.styled: Counter[str] = Counter()
        self.styled_ms: Counter[str] = Counter()
        self.content: Counter[str] = Counter()
        self.content_ms: Counter[str] = Counter()
        self.built: Counter[str] = Counter()
        self._counting_now: set[int] = set()  # the counters a call under way is counted in
        self.built_ms: Counter[str] = Counter()
        self.layouts: Counter[str] = Counter()
        self.collected: Counter[int] = Counter()
        self.collections: defaultdict[int, list[float]] = defaultdict(list)
        self._gc_t0 = 0
        self._young = ""
        self.passes: list[tuple[float, int, str]] = []  # (ms, generation, what it walked)
        # per refresh, the widgets asked for lines; summed over slow refreshes and the others
        self.frame_parts: Counter[str] = Counter()
        self.frame_part_ms: Counter[str] = Counter()
        self.band_frames: Counter[str] = Counter()
        self.band_ms: Counter[str] = Counter()
        self.band_lines: Counter[tuple[str, str]] = Counter()
        self.band_part_ms: Counter[tuple[str, str]] = Counter()
        # busy streaks: the loop thread's time from waking up to its next wait (a key waits for the rest of one)
        self.streaks: list[float] = []
        self._streak_t0 = 0
        self._streak_parts: list[tuple[str, float]] = []
        self.long_streaks: list[tuple[float, list[tuple[str, float]]]] = []
        self.streak_parts_ms: Counter[str] = Counter()
        self._install()

    def _install(self) -> None:
        trace = self
        handle_run = asyncio.events.Handle._run

        def _run(handle: asyncio.events.Handle) -> None:
            if not trace.on:
                return handle_run(handle)
            t0 = time.perf_counter_ns()
            try:
                return handle_run(handle)
            finally:
                spent = time.perf_counter_ns() - t0
                trace.callbacks.append(spent / 1e6)
                trace._streak_parts.append((_label(handle._callback), spent / 1e6))
                if spent >= trace.slow_ns:
                    label = _label(handle._callback)
                    trace.slow[label] += 1
                    trace.slow_time[label] += spent / 1e6

        asyncio.events.Handle._run = _run  # type: ignore[method-assign]

        update = Screen._on_timer_update

        def _on_timer_update(screen: Screen) -> None:
            if not trace.on:
                return update(screen)
            kind = (
                "layout"
                if screen._layout_required
                else "scroll"
                if screen._scroll_required
                else "repaint"
                if screen._repaint_required
                else "partial"
            )
            trace.frame_parts = Counter()
            trace.frame_part_ms = Counter()
            t0 = time.perf_counter_ns()
            try:
                return update(screen)
            finally:
                ms = (time.perf_counter_ns() - t0) / 1e6
                trace.frames.append(ms)
                trace.frame_kinds[kind].append(ms)
                band = "slow" if ms >= SLOW_FRAME_MS else "other"
                trace.band_frames[band] += 1
                trace.band_ms[band] += ms
                for name, lines in trace.frame_parts.items():
                    trace.band_lines[band, name] += lines
                    trace.band_part_ms[band, name] += trace.frame_part_ms[name]

        Screen._on_timer_update = _on_timer_update  # type: ignore[method-assign]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if not trace.on:
                return
            if phase == "start":
                trace._young = _young_summary(info["generation"]) if info["generation"] < 2 else ""
                trace._gc_t0 = time.perf_counter_ns()
            elif trace._gc_t0:
                ms = (time.perf_counter_ns() - trace._gc_t0) / 1e6
                trace.collections[info["generation"]].append(ms)
                trace.collected[info["generation"]] += info["collected"]
                trace.passes.append((ms, info["generation"], trace._young))
                trace._streak_parts.append((f"(collector, generation {info['generation']}, inside the above)", ms))

        gc.callbacks.append(on_gc)

        from textual.widget import Widget

        refresh = Widget.refresh

        def _refresh(widget: Widget, *regions: Any, **options: Any) -> Any:
            if trace.on and (options.get("layout") or options.get("recompose")):
                caller = sys._getframe(1)
                where = f"{caller.f_code.co_qualname} ({Path(caller.f_code.co_filename).name}:{caller.f_lineno})"
                kind = "recompose" if options.get("recompose") else "layout"
                trace.layouts[f"{kind} {type(widget).__name__} from {where}"] += 1
            return refresh(widget, *regions, **options)

        Widget.refresh = _refresh  # type: ignore[method-assign]

        render_widget = StylesCache.render_widget

        def _render_widget(cache: StylesCache, widget: Any, crop: Any) -> Any:
            if trace.on:
                name = f"{type(widget).__name__}#{widget.id}" if widget.id else type(widget).__name__
                trace.asked[name] += 1
                trace.lines[name] += crop.height
                trace.frame_parts[name] += crop.height
                trace.drawn[name] += sum(1 for y in crop.line_range if y in cache._dirty_lines or y not in cache._cache)
                t0 = time.perf_counter_ns()
                outer, trace.drawing = trace.drawing, type(widget).__name__
                try:
                    return render_widget(cache, widget, crop)
                finally:
                    trace.drawing = outer
                    spent = (time.perf_counter_ns() - t0) / 1e6
                    trace.render_ms[name] += spent
                    trace.frame_part_ms[name] += spent
            return render_widget(cache, widget, crop)

        StylesCache.render_widget = _render_widget  # type: ignore[method-assign]

        StylesCache.render_line = self._counting(  # type: ignore[method-assign]
            StylesCache.render_line,  # Textual's: border, padding and colours around a content line
            self.styled,
            self.styled_ms,
            lambda _cache: trace.drawing,
        )

        from textual.message_pump import MessagePump

        dispatch = MessagePump._dispatch_message

        async def _dispatch_message(pump: MessagePump, message: Any) -> Any:
            if trace.on:
                trace.messages[f"{type(message).__qualname__} → {type(pump).__name__}"] += 1
            return await dispatch(pump, message)

        MessagePump._dispatch_message = _dispatch_message  # type: ignore[method-assign]

        from cti_tui.ui.widgets.row_view import RowView

        RowView.render_line = self._counting(  # type: ignore[method-assign]
            RowView.render_line, self.content, self.content_ms, lambda view: type(view).__name__
        )

        from cti_tui.ui.widgets.active_calls import ActiveCalls

        for cls in (RowView, ActiveCalls):  # rows the cache did not have: built by the pane
            cls.render_item_strip = self._counting(  # type: ignore[method-assign]
                cls.render_item_strip, self.built, self.built_ms, lambda view: type(view).__name__
            )

    def _counting(
        self, function: Callable[..., Any], counts: Counter[str], ms: Counter[str], name: Callable[[Any], str]
    ) -> Callable[..., Any]:
        """``function``, counted and timed in ``counts`` / ``ms`` under ``name(its first argument)`` while the
        trace is on; a call made inside another call counted in the same place (a subclass's method calling
        its base's) counts once."""
        trace = self
        place = id(counts)

        def counted(first: Any, *args: Any, **kwargs: Any) -> Any:
            if not trace.on or place in trace._counting_now:
                return function(first, *args, **kwargs)
            trace._counting_now.add(place)
            t0 = time.perf_counter_ns()
            try:
                return function(first, *args, **kwargs)
            finally:
                trace._counting_now.discard(place)
                key = name(first)
                counts[key] += 1
                ms[key] += (time.perf_counter_ns() - t0) / 1e6

        return counted

    def start(self) -> None:
        self.on = True
        self._t0 = time.perf_counter()
        self._watch_waits(asyncio.get_running_loop())

    def _watch_waits(self, loop: asyncio.AbstractEventLoop) -> None:
        """A busy streak runs from the loop's return from a wait to its next wait (a select that may sleep);
        selects with no timeout to wait (more callbacks ready) belong to the streak."""
        trace = self
        selector = loop._selector  # type: ignore[attr-defined]
        select = selector.select

        def watched(timeout: float | None = None) -> Any:
            if timeout != 0 and trace._streak_t0:
                trace._close_streak()
            try:
                return select(timeout)
            finally:
                if timeout != 0 or not trace._streak_t0:
                    trace._streak_t0 = time.perf_counter_ns()
                    trace._streak_parts = []

        selector.select = watched

    def _close_streak(self) -> None:
        ms = (time.perf_counter_ns() - self._streak_t0) / 1e6
        self._streak_t0 = 0
        if not self.on:
            return
        self.streaks.append(ms)
        if ms >= self.slow_ns / 1e6:
            self.long_streaks.append((ms, self._streak_parts))
            for label, part_ms in self._streak_parts:
                self.streak_parts_ms[label] += part_ms

    def stop(self) -> None:
        if self.on:
            self.on = False
            self._seconds = time.perf_counter() - self._t0

    def report(self, path: Path) -> None:
        seconds = getattr(self, "_seconds", 0.0) or 1.0
        timed = [f"callbacks {[getattr(c, '__qualname__', repr(c)) for c in gc.callbacks]}"]
        for generation in (0, 1, 1, 0):
            t0 = time.perf_counter_ns()
            gc.collect(generation)
            timed.append(f"gen {generation} {(time.perf_counter_ns() - t0) / 1e6:.2f} ms")
        out = [
            f"window {seconds:.1f} s",
            "collections forced at the end, one after another: " + ", ".join(timed),
            f"event-loop callbacks: {_percentiles(self.callbacks)}",
            f"screen refreshes ({len(self.frames) / seconds:.1f}/s): {_percentiles(self.frames)}",
            *(f"  {kind}: {_percentiles(times)}" for kind, times in sorted(self.frame_kinds.items())),
            *(
                f"garbage collections, generation {gen}: {_percentiles(times)}, {self.collected[gen]:,} objects freed"
                for gen, times in sorted(self.collections.items())
            ),
            "",
            f"callbacks ≥ {self.slow_ns / 1e6:.0f} ms: count, ms in all, what",
        ]
        for label, count in self.slow.most_common(25):
            out.append(f"  {count:6d} {self.slow_time[label]:9.0f}  {label}")
        slow_ms = self.slow_ns / 1e6
        out += [
            "",
            f"busy streaks (the loop thread from one wait to the next; a key waits for the rest of one): "
            f"{_percentiles(self.streaks)}; {len(self.long_streaks)} of {slow_ms:.0f} ms or more",
            "  in those, ms in all by callback: "
            + ", ".join(f"{label} {ms:.0f}" for label, ms in self.streak_parts_ms.most_common(8)),
            "  the longest five, callback by callback (ms):",
        ]
        for ms, parts in sorted(self.long_streaks, key=lambda item: item[0], reverse=True)[:5]:
            shown = ", ".join(f"{label} {part:.1f}" for label, part in parts if part >= 0.3)
            out.append(f"    {ms:5.1f}: {shown} (+{sum(1 for _, part in parts if part < 0.3)} under 0.3 ms)")
        oldest = Counter(type(thing).__qualname__ for thing in gc.get_objects(2))
        out.append(
            f"at the end: {sum(oldest.values()):,} objects in the oldest generation (what a full collection walks), "
            f"{gc.get_freeze_count():,} frozen; most: "
            + ", ".join(f"{name} {count:,}" for name, count in oldest.most_common(12))
        )
        out += ["", "slowest collector passes: ms, generation, what it walked (objects; the largest containers)"]
        out += [f"  {ms:6.1f}  gen {gen}  {what}" for ms, gen, what in sorted(self.passes, reverse=True)[:6]]
        out += ["", "refreshes asking for a layout or a recompose: count, what, from where"]
        out += [f"  {count:6d}  {what}" for what, count in self.layouts.most_common(25)]
        out += [
            "",
            "widgets asked for lines: times, lines asked, lines dirty, ms spent (per second; a widget's time "
            "includes its children's only where they draw into it)",
        ]
        for name, count in self.asked.most_common(30):
            out.append(
                f"  {count / seconds:8.1f} {self.lines[name] / seconds:9.1f} {self.drawn[name] / seconds:9.1f}"
                f" {self.render_ms[name] / seconds:8.1f}  {name}"
            )
        out += [
            "",
            f"refreshes of {SLOW_FRAME_MS} ms or more against the others: ms each, then per refresh and widget "
            "the lines asked and the ms",
        ]
        for band in ("slow", "other"):
            count = self.band_frames[band] or 1
            parts = sorted(
                (
                    (self.band_part_ms[key] / count, self.band_lines[key] / count, key[1])
                    for key in self.band_part_ms
                    if key[0] == band
                ),
                reverse=True,
            )
            out.append(
                f"  {band}: {self.band_frames[band]} refreshes, {self.band_ms[band] / count:.2f} ms each; "
                + ", ".join(f"{name} {lines:.0f} lines {ms:.2f} ms" for ms, lines, name in parts[:5])
            )
        out += ["", "messages handled, per second: what → by whom"]
        out += [f"  {count / seconds:8.1f}  {what}" for what, count in self.messages.most_common(15)]
        out += [
            "",
            "row views, per second: content rows asked (ms), of which built by the pane (ms), "
            "lines styled by Textual (ms)",
        ]
        for name in sorted(self.content):
            out.append(
                f"  {name}: {self.content[name] / seconds:.0f} ({self.content_ms[name] / seconds:.1f} ms), "
                f"{self.built[name] / seconds:.0f} ({self.built_ms[name] / seconds:.1f} ms), "
                f"{self.styled[name] / seconds:.0f} ({self.styled_ms[name] / seconds:.1f} ms)"
            )
        path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _young_summary(generation: int) -> str:
    """How many objects a pass over ``generation`` walks, by type, and its largest containers: a pass costs
    what it walks, and a new container of thousands of items is walked item by item."""
    young = gc.get_objects(generation)
    kinds = Counter(type(thing).__qualname__ for thing in young)
    sized = sorted(
        ((len(thing), type(thing).__qualname__) for thing in young if isinstance(thing, dict | list | set | tuple)),
        reverse=True,
    )[:5]
    shapes = Counter(
        "(" + ", ".join(type(item).__qualname__ for item in thing[:4]) + (", …)" if len(thing) > 4 else ")")
        for thing in young
        if type(thing) is tuple
    )
    return (
        f"{len(young):,} objects ({', '.join(f'{k} {n:,}' for k, n in kinds.most_common(5))}); "
        f"largest: {', '.join(f'{kind} of {size:,}' for size, kind in sized)}; "
        f"tuples: {', '.join(f'{shape} {n:,}' for shape, n in shapes.most_common(4))}"
    )
