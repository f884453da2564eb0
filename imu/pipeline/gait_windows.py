"""The gait analysis of a long session window by window: memory bounded by a window, not by
the session (docs/scale.md).

A run longer than ``window_s`` plus twice ``overlap_s`` is cut into windows of its uniform
grid: each reports its core (``window_s`` of samples) and sees ``overlap_s`` more either side,
the context its filters, step windows and side votes need. The file is read a window at a time
(:func:`imu.io.rawscan.read_rows`); what each window leaves is a few arrays per step and its
25 Hz rows (:class:`~imu.pipeline.gait.GaitWindow`), and the session's tables are made from
them once (:meth:`GaitAnalysis.finish <imu.pipeline.gait.GaitAnalysis.finish>`).

What the session decides once, it decides on its first window and keeps
(:class:`~imu.pipeline.gait.GaitConstants`): the gyroscope bias, the pelvis frame (up, the
forward axis and its sign), the sensor's side and offset, the rotation's zero. The first
window holds ``window_s + overlap_s`` of running (thousands of steps): the fits it makes are
those a session of that length makes. The orientation filter runs on from window to window
(its state carried: the same quaternions as one pass with that bias). The obliquity's neutral
without a standing start is the median over every running contact of the session, taken
after the windows (:meth:`~imu.pipeline.gait.GaitAnalysis.finish`). A bout of steps that goes
on across a window's edge stays one bout.

Not windowed: a session that is not a run (its strength stages hold the session's 50 Hz
signals), a session given in memory, and a run whose first window finds no pelvis frame
(fewer than 4 steps): those are analysed in one piece.
"""

from __future__ import annotations

from typing import Self

from imu.core.memory import release_free_memory
from imu.io.rawscan import RawScan, read_rows, rows_between
from imu.pipeline.gait import GaitAnalysis, GaitConstants, GaitWindow, WindowPlace

WINDOW_S = 1800.0
"""Core of a window, s: 30 minutes of running (~5,000 steps) per fit and per window."""
OVERLAP_S = 60.0
"""Context either side of a core, s: far beyond the filters' decay (< 2 s), the step windows
(< 1 s) and the side vote (4 steps)."""


def windowed(n_samples: int, fs: float, window_s: float = WINDOW_S,
             overlap_s: float = OVERLAP_S) -> bool:
    """Whether a session of ``n_samples`` at ``fs`` is analysed in windows."""
    return n_samples > round((window_s + 2.0 * overlap_s) * fs)


class WindowedGait:
    """:class:`~imu.pipeline.gait.GaitAnalysis` of a raw file window by window (module
    docstring).

    Parameters
    ----------
    gait
        The gait analysis to run (cloned per window; its parameters are the session's).
        ``max_gait_share`` must be 0: a run is analysed on every sample.
    window_s, overlap_s
        Core of a window and the context either side (s).

    Results
    -------
    gait_
        None when the first window finds no pelvis frame (fewer than 4 steps: analyse the
        session in one piece), else the finished :class:`~imu.pipeline.gait.GaitAnalysis`:
        the session's tables (``steps_``, ``bouts_``, ``starts_``, ``summary_``, ``minutes_``,
        ``timeseries_``) and its first window's decisions (``placement_``, ``mounting_``,
        ``warnings_``, ...); ``gait_bouts_`` is None (per sample, the bouts are the windows').
    constants_
        The session's decisions, from its first window.
    windows_
        The windows' ``(first, stop, core_start, core_stop)`` grid samples.
    """

    def __init__(self, gait: GaitAnalysis | None = None, window_s: float = WINDOW_S,
                 overlap_s: float = OVERLAP_S) -> None:
        self.gait = gait
        self.window_s = window_s
        self.overlap_s = overlap_s

    def analyze(self, scan: RawScan, sampling_rate_hz: float) -> Self:
        """Analyse the file ``scan`` describes (:func:`imu.io.rawscan.scan_raw`: checked)."""
        fs = float(sampling_rate_hz)
        base = self.gait or GaitAnalysis(max_gait_share=0.0)
        if base.max_gait_share != 0.0:
            raise ValueError("a windowed gait analysis runs on every sample (max_gait_share=0)")
        t0, t_last = scan.t_first_s, scan.t_last_s
        n = int(round((t_last - t0) * fs)) + 1
        complete = n == scan.n_samples
        core = max(1, int(round(self.window_s * fs)))
        ctx = max(1, int(round(self.overlap_s * fs)))
        starts = list(range(0, n, core))
        if len(starts) > 1 and n - starts[-1] < ctx:  # no sliver of a last core
            starts.pop()
        ends = [*starts[1:], n]
        parts: list[GaitWindow] = []
        first_gait: GaitAnalysis | None = None
        constants: GaitConstants | None = None
        state, rotation = None, None
        self.windows_: list[tuple[int, int, int, int]] = []
        for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
            first, stop = max(0, a - ctx), min(n, b + ctx)
            nxt = max(0, ends[k] - ctx) if k + 1 < len(starts) else None
            place = WindowPlace(t0_s=t0, t_last_s=t_last, n=n, first=first, stop=stop,
                                core=(a, b), complete=complete, vqf_state=state,
                                next_first=nxt, rotation_deg=rotation)
            rows = (first, stop) if complete else rows_between(
                scan, t0 + first / fs, t0 + (stop - 1) / fs)
            raw = read_rows(scan, *rows)
            gait = base.clone()
            parts.append(gait.analyze_window(raw, fs, release_samples=True,
                                             constants=constants, place=place))
            del raw
            release_free_memory()  # what this window left free: back to the system
            if constants is None:
                first_gait, constants = gait, gait.constants_()
                if constants.mounting is None:  # no pelvis frame to keep: one piece
                    self.gait_ = None
                    return self
            state, rotation = gait.vqf_state_, gait.rotation_at_next_
            self.windows_.append((first, stop, a, b))
        assert first_gait is not None and constants is not None
        first_gait.gait_bouts_ = None  # type: ignore[assignment]
        self.constants_ = constants
        self.gait_ = first_gait.finish(parts, fs)
        return self
