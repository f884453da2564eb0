"""The live line of ``imu record``: link state, samples/s, lost samples, and the live rep count
with each rep's tilt verdict (issue 9, item 4; docs/algorithms.md section 9).

:class:`LiveRepCounter` runs THE strength stages of the final analysis
(:class:`imu.pipeline.strength.StrengthAnalysis`, stages 1-10) on the last ``window_s`` of the
stream, every ``every_s`` of stream time, so the live count is the final analysis's count as
soon as a rep is complete. Reps older than ``settle_s`` before the window's start are kept as
they were last seen (the window no longer covers them whole). The neutral reference found in an
earlier window is remembered and used when a later window holds none.

Exercises that rest at the bottom (bridges, hip thrust, quadruped hip extension) hold the
lockout before their eccentric: the stages confirm such a rep only once it is back down, up to
a few seconds after the lockout. So that the count shows within 1 s of the lockout, a rep of a
set already under way is counted as soon as the pelvis reaches the set's lockout level and
holds it (``provisional``), with the tilt verdict of the pelvis angle at that moment; the stages
then confirm or withdraw it.

:class:`LiveStatus` feeds the counter from the recorder's consumer thread (buffering only) and
runs the stages on a worker thread at most every ``min_wall_s`` of wall time, so the recording
never waits for the analysis.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imu.core.errors import InputError
from imu.core.exercises import REGISTRY
from imu.core.session import RawSession
from imu.device.chip import SampleBlock
from imu.metrics.strength import tilt_class, tilt_deg
from imu.pipeline.base import StreamingAlgorithm
from imu.pipeline.neutral import NeutralCalibration
from imu.pipeline.signals import runs
from imu.pipeline.strength import Columns, StrengthAnalysis, n_rows

VERDICT = {"posterior": "P", "neutral": "N", "anterior": "A", "": "?"}
"""One letter per rep's tilt class on the live line."""


@dataclass
class LiveRep:
    lockout_s: float
    tilt_class: str
    provisional: bool = False


@dataclass
class LiveSet:
    start_s: float
    exercise: str
    reps: list[LiveRep] = field(default_factory=list)


class LiveRepCounter(StreamingAlgorithm):
    """Rep count and tilt verdicts of the sets so far, from the strength stages on the stream.

    Parameters
    ----------
    exercise
        The exercise of every set (None: recognised, as in the final analysis).
    placement, trunk_length_m
        As for :class:`~imu.pipeline.strength.StrengthAnalysis`.
    window_s
        The stages run on this much of the latest stream.
    every_s
        Run the stages every this much stream time inside :meth:`update` (0: only when
        :meth:`analyse` is called, e.g. by :class:`LiveStatus`'s worker).
    settle_s
        Reps whose lockout lies less than this after the window's start are taken from the
        latest run; earlier ones keep their last result.
    hold_fraction
        A provisional rep: the excursion reaches this fraction of the set's median rep
        excursion and the angular speed falls below 10 % of the movement's peak.

    Results
    -------
    sets_
        The sets so far (:class:`LiveSet`: start, exercise, reps with lockout time, tilt class,
        provisional flag).
    analysed_to_s_
        Stream time up to which the stages have run.
    """

    def __init__(
        self,
        exercise: str | None = None,
        placement: str = "left_hip",
        trunk_length_m: float = 0.50,
        window_s: float = 120.0,
        every_s: float = 0.5,
        settle_s: float = 15.0,
        hold_fraction: float = 0.6,
    ) -> None:
        self.exercise = exercise
        self.placement = placement
        self.trunk_length_m = trunk_length_m
        self.window_s = window_s
        self.every_s = every_s
        self.settle_s = settle_s
        self.hold_fraction = hold_fraction
        self._t: list[np.ndarray] = []
        self._acc: list[np.ndarray] = []
        self._gyr: list[np.ndarray] = []
        self._fs = 0.0
        self._neutral: tuple[float, float, float] | None = None
        self._history: list[tuple[float, str, LiveRep]] = []  # (set start, exercise, rep)
        self._pending: list[LiveRep] = []  # provisional reps not yet confirmed
        self._last_run = -np.inf

    # -- counts --------------------------------------------------------------------------------
    @property
    def reps_(self) -> int:
        """Reps of the latest set (0 before the first)."""
        sets = getattr(self, "sets_", [])
        return len(sets[-1].reps) if sets else 0

    def verdicts(self) -> str:
        """Tilt verdict letters of the latest set's reps (P posterior, N neutral, A anterior)."""
        sets = getattr(self, "sets_", [])
        return "".join(VERDICT.get(r.tilt_class, "?") for r in sets[-1].reps) if sets else ""

    # -- streaming -----------------------------------------------------------------------------
    def update(
        self,
        t_s: np.ndarray,
        acc_g: np.ndarray,
        gyr_dps: np.ndarray,
        sampling_rate_hz: float,
    ) -> LiveRepCounter:
        """Append a block (times s, specific force g, angular rate deg/s) and, every
        ``every_s`` of stream time, run the stages."""
        if not hasattr(self, "sets_"):
            self.sets_: list[LiveSet] = []
            self.analysed_to_s_ = float("nan")
        if len(t_s) == 0:
            return self
        self._fs = float(sampling_rate_hz)
        self._t.append(np.asarray(t_s, dtype=float))
        self._acc.append(np.asarray(acc_g, dtype=float))
        self._gyr.append(np.asarray(gyr_dps, dtype=float))
        t_end = float(self._t[-1][-1])
        # keep the window (and a little more) only
        while len(self._t) > 1 and self._t[1][0] < t_end - self.window_s - 1.0:
            self._t.pop(0)
            self._acc.pop(0)
            self._gyr.pop(0)
        if self.every_s > 0 and t_end - self._last_run >= self.every_s:
            self.analyse()
        return self

    def snapshot(self) -> RawSession | None:
        """The buffered window as a raw session (None when too short)."""
        if not self._t:
            return None
        t = np.concatenate(self._t)
        keep = t >= t[-1] - self.window_s
        t = t[keep]
        if t.size < 3 * self._fs:
            return None
        acc = np.concatenate(self._acc)[keep]
        gyr = np.concatenate(self._gyr)[keep]
        return RawSession(t_s=t, acc_g=acc, gyr_dps=gyr, seq=None,
                          meta={"sample_rate_hz": self._fs})

    def analyse(self, raw: RawSession | None = None) -> None:
        """Run the stages on the window now and merge their sets into ``sets_``."""
        if not hasattr(self, "sets_"):
            self.sets_ = []
            self.analysed_to_s_ = float("nan")
        raw = raw if raw is not None else self.snapshot()
        if raw is None:
            return
        self._last_run = float(raw.t_s[-1])
        sa = StrengthAnalysis(
            exercise=self.exercise, placement=self.placement,
            trunk_length_m=self.trunk_length_m,
            calibration=NeutralCalibration(prior_up=self._neutral, closing_anchor=False),
        )
        try:
            s = sa.s2_sensor(sa.s1_time_base(raw, self._fs))
            bouts = sa.s3_bouts(s)
            cal = sa.s4_calibration(s, bouts)
            posture = sa.s5_posture(s, bouts, cal)
            cands = sa.s6_candidates(s, bouts, cal, posture)
            # a candidate whose window reaches the end of the stream is still moving: its
            # features are not those of a whole rep (the final analysis sees it whole)
            done = cands.candidates_["hi"] < s.grid.n - 1
            cands.candidates_ = {k: v[done] for k, v in cands.candidates_.items()}
            rec = sa.s7_recognition(cands, self.exercise)
            groups = sa.s8_sets(s, cands, rec, bouts, self.exercise)
            reps, sets, frames = sa.s9_reps(s, cands, groups, cal)
            if n_rows(reps):
                reps = sa.s10_metrics(s, reps, frames, sa._checked_options()[1],
                                      float(self.trunk_length_m))
        except InputError:
            return
        seg = cal.segments_
        if seg.source[-1] not in ("none", "rep_tops", "prior"):
            self._neutral = tuple(float(v) for v in seg.up[-1])
        self._merge(raw, reps, sets)
        self._provisional(s, posture, bouts.quiet_, sets, frames)
        self._show_pending(float(raw.t_s[-1]))
        self.analysed_to_s_ = float(raw.t_s[-1])

    def _merge(self, raw: RawSession, reps: Columns, sets: Columns) -> None:
        boundary = float(raw.t_s[0]) + self.settle_s
        if raw.t_s[0] <= self._t[0][0] + 1e-9:  # the window still holds the whole stream
            boundary = -np.inf
        keep = [h for h in self._history if h[2].lockout_s < boundary]
        new = []
        for i in range(n_rows(reps)):
            lockout = float(reps["lockout_s"][i])
            if lockout < boundary:
                continue
            k = int(np.flatnonzero(sets["set"] == reps["set"][i])[0])
            new.append((float(sets["start_s"][k]), str(sets["exercise"][k]),
                        LiveRep(lockout, str(reps["tilt_class"][i]))))
        self._history = keep + new
        out: list[LiveSet] = []
        for start, ex, rep in sorted(self._history, key=lambda h: h[2].lockout_s):
            # reps of one set share (about) its start; the oldest part of a set may come from
            # an earlier run whose set started later in its own window
            if out and (abs(out[-1].start_s - start) < 1.0 or rep.lockout_s - out[-1].reps[
                    -1].lockout_s < 12.0 and out[-1].exercise == ex):
                out[-1].reps.append(rep)
            else:
                out.append(LiveSet(start, ex, [rep]))
        self.sets_ = out

    def _provisional(self, s: Any, posture: Any, quiet: np.ndarray, sets: Columns,
                     frames: dict[int, Any]) -> None:
        """Count the rep held at lockout now in a lying block (module docstring)."""
        fs, n = s.fs, s.grid.n
        blocks = posture.lying_blocks_
        if not len(blocks) or blocks[-1, 1] < n - int(0.5 * fs):
            return
        a = int(blocks[-1, 0])
        qr = runs(quiet[a:]) + a
        qr = qr[(qr[:, 1] - qr[:, 0]) >= int(0.3 * fs)]
        if not len(qr):
            return
        rest0 = s.r_es[int(qr[0, 0]) : int(qr[0, 1])].mean()
        near = [k for k in range(len(qr)) if np.degrees(np.linalg.norm(
            (rest0.inv() * s.r_es[int(qr[k, 0]) : int(qr[k, 1])].mean()).as_rotvec())) < 4.0]
        k = near[-1] if near else 0
        r0, r1 = int(qr[k, 0]), int(qr[k, 1])
        if n - r1 < int(0.5 * fs):
            return  # resting now
        ref = s.r_es[r0:r1].mean()
        x = np.degrees(np.linalg.norm((ref.inv() * s.r_es[r1:]).as_rotvec(), axis=1))
        t0 = float(s.grid.t_s[0])
        t_rest = t0 + r1 / s.fs
        cur = self.sets_[-1] if self.sets_ else None
        same = cur is not None and cur.reps and cur.reps[-1].lockout_s > t0 + a / fs
        if same and cur is not None and cur.reps[-1].lockout_s >= t_rest:
            return  # this rep is already counted
        amp = 8.0
        ex = ""
        if same and n_rows(sets):
            ex = str(sets["exercise"][-1])
        sp = s.speed[r1:]
        i_pk = int(np.argmax(x))
        if x[i_pk] < amp or sp[-1] > 0.1 * float(sp.max()) or x[-1] < 0.7 * x[i_pk]:
            return
        if posture.tilt_deg_[-1] < posture.lying_deg:
            return  # sitting up, not a rep
        verdict = ""
        if ex and int(sets["set"][-1]) in frames:
            p = frames[int(sets["set"][-1])]["frame"].apply(s.up[-1:])[0]
            angle = float(np.degrees(np.arctan2(p[0], p[2])))
            h = s.extra["height_bp_cm"]
            lift = float(h[-1] - h[r1]) / 100.0
            tilt = tilt_deg(np.array([angle]), ex, np.array([lift]), float(self.trunk_length_m))
            verdict = str(tilt_class(tilt)[0])
        self._pending = [LiveRep(t0 + (r1 + i_pk) / fs, verdict, provisional=True)]

    def _show_pending(self, now_s: float) -> None:
        """Keep showing a provisional rep until the stages confirm it (a confirmed rep within
        1.5 s of it), at most 8 s."""
        keep = []
        confirmed = [r.lockout_s for st in self.sets_ for r in st.reps]
        for rep in self._pending:
            if any(abs(c - rep.lockout_s) < 1.5 for c in confirmed) or now_s - rep.lockout_s > 8:
                continue
            keep.append(rep)
            cur = self.sets_[-1] if self.sets_ else None
            if cur is not None and rep.lockout_s - cur.reps[-1].lockout_s < 12.0:
                cur.reps.append(rep)
            else:
                self.sets_.append(LiveSet(rep.lockout_s, "", [rep]))
        self._pending = keep


class LiveStatus:
    """Thread-safe counters fed by the consumer thread, rendered by the live-line task; the
    rep counter's stages run on a worker thread at most every ``min_wall_s``."""

    def __init__(self, rate_hz: float, count_reps: bool = True, min_wall_s: float = 0.5) -> None:
        self.rate_hz = rate_hz
        self.reps = LiveRepCounter(every_s=0.0) if count_reps else None
        self.samples = 0
        self.t_s = 0.0
        self.min_wall_s = min_wall_s
        self._lock = threading.Lock()
        self._hist: list[tuple[float, int]] = []
        self._worker: threading.Thread | None = None
        self._last_wall = -np.inf

    def add(self, block: SampleBlock) -> None:
        with self._lock:
            self.samples += len(block)
            self.t_s = float(block.t_s[-1])
            if self.reps is None:
                return
            self.reps.update(block.t_s, block.acc_g, block.gyr_dps, self.rate_hz)
            now = time.monotonic()
            busy = self._worker is not None and self._worker.is_alive()
            if busy or now - self._last_wall < self.min_wall_s:
                return
            self._last_wall = now
            raw = self.reps.snapshot()
        if raw is not None:
            self._worker = threading.Thread(target=self._run, args=(raw,), daemon=True)
            self._worker.start()

    def _run(self, raw: RawSession) -> None:
        assert self.reps is not None
        counter = self.reps
        counter.analyse(raw)

    def finish(self) -> None:
        """Wait for the running analysis and run the stages once more on the latest window."""
        if self._worker is not None:
            self._worker.join()
        if self.reps is not None:
            with self._lock:
                raw = self.reps.snapshot()
            if raw is not None:
                self.reps.analyse(raw)

    def rate(self) -> float:
        """Samples per host second over the last ~2 s."""
        now = time.monotonic()
        with self._lock:
            self._hist.append((now, self.samples))
            self._hist = [h for h in self._hist if now - h[0] <= 2.0]
            (t0, n0), (t1, n1) = self._hist[0], self._hist[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def line(self, state: str, lost: int, link_losses: int) -> str:
        reps = ""
        if self.reps is not None:
            sets = getattr(self.reps, "sets_", [])
            if sets:
                cur = sets[-1]
                name = REGISTRY[cur.exercise].label if cur.exercise in REGISTRY else "set"
                reps = (f" | set {len(sets)} {name}: reps "
                        f"{len(cur.reps)} {self.reps.verdicts()}")
            else:
                reps = " | reps 0"
        return (
            f"{state:<12} | t {self.t_s:7.1f} s | {self.rate():6.0f} samples/s | "
            f"lost {lost} | reconnects {link_losses}{reps}"
        )
