"""Strength analysis of a whole session: every set found and recognised, in any order, with or
without a standing start (docs/algorithms.md; issue 9).

Stages, each a small algorithm run once over the session, in this order (no second pass):

1. time base: box means on a uniform ~50 Hz grid (:mod:`imu.pipeline.timebase`);
2. sensor: gyroscope bias from every still moment, accelerometer bias and scale from still
   postures, orientation (VQF) and world-up in the sensor frame;
3. bouts: quiet, walking, running (:class:`~imu.pipeline.bouts.ActivityBouts`);
4. calibration: mounting segments and neutral up per mounting from the best reference
   anywhere (:class:`~imu.pipeline.neutral.NeutralCalibration`);
5. posture: tilt from neutral, lying blocks (:class:`~imu.pipeline.bouts.PostureBouts`);
6. rep candidates in every posture span (:class:`~imu.pipeline.candidates.ExcursionCandidates`);
7. recognition per candidate (:class:`~imu.pipeline.recognition.ExerciseRecognizer`);
8. sets and their exercise (:class:`~imu.pipeline.sets.SetGrouping`);
9. per set: pelvis frame, rep extremes and phases with the exercise's structure
   (:mod:`imu.pipeline.setreps`, :class:`~imu.pipeline.segmentation.RepSegmentation`);
10. per rep: vertical accelerometer error fit, hip travel, lockout angle, tilt and its class;
    the 25 Hz time series and the summary.

Each stage is a method ``s<k>_<name>`` that a reader can run one by one on a session
(``StrengthAnalysis().s1_time_base(raw, fs)``, ...); :meth:`StrengthAnalysis.analyze` runs
them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Final, Self

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from imu.core import arrow
from imu.core.arrow import column
from imu.core.errors import InputError
from imu.core.exercises import REGISTRY
from imu.core.frames import GRAVITY_M_S2
from imu.core.options import check_option
from imu.core.rotation import Rotation
from imu.core.schema import REPS, SETS
from imu.core.session import RawSession
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M
from imu.metrics.strength import posterior_tilt_pct, tilt_class, tilt_deg
from imu.metrics.timeseries import empty_timeseries, timeseries_interpolated
from imu.pipeline.base import AnalysisAlgorithm
from imu.pipeline.bouts import ActivityBouts, PostureBouts
from imu.pipeline.calibration import AccelerometerRefinement
from imu.pipeline.candidates import ExcursionCandidates, bandpassed_height_cm
from imu.pipeline.gait_bouts import bouts_on_grid
from imu.pipeline.neutral import (
    NO_REFERENCE,
    NeutralCalibration,
    gyro_bias_dps,
    upright_from_motion,
)
from imu.pipeline.orientation import SampledOrientation, VqfOrientation
from imu.pipeline.pelvis import PelvisOrientation, dominant_axis, mounting_from_axes
from imu.pipeline.recognition import ExerciseRecognizer
from imu.pipeline.segmentation import RepSegmentation
from imu.pipeline.setreps import neutral_from_tops, set_extremes, set_frame, set_signal
from imu.pipeline.sets import SetGrouping
from imu.pipeline.signals import row_norm, still_mask
from imu.pipeline.timebase import InternalGrid, internal_grid
from imu.pipeline.travel import HipTravel, VerticalErrorFit, session_height_m

REFERENCES: Final = ("opening_standing", "standing_rest", "walking", "gait", "prior")
"""Calibration sources that are references of their own (not the reps' tops)."""
REPS_OUTPUT_COLUMNS: Final = tuple(c for c in REPS.names if c not in ("form_break", "form_reason"))
"""``reps_`` columns: the reps table (``imu.core.schema.REPS``) without ``form_break`` and
``form_reason``, which the form-break stage adds."""
REPS_OUTPUT: Final = pa.schema([REPS.field(c) for c in REPS_OUTPUT_COLUMNS])
"""``reps_``'s schema (:data:`REPS_OUTPUT_COLUMNS` in the reps table's types)."""

Columns = dict[str, NDArray[Any]]
"""A table as arrays by name, in column order (the stages' reps and sets)."""


def n_rows(cols: Columns) -> int:
    """Rows of a table given as arrays by name (0 without columns)."""
    return len(next(iter(cols.values()))) if cols else 0


def _mean(x: NDArray[np.float64]) -> float:
    """Mean over the values that are not NaN (NaN if none), summed with zeros in the NaN's
    places (pandas' ``Series.mean``: the same bits)."""
    ok = ~np.isnan(x)
    return float(np.sum(np.where(ok, x, 0.0)) / ok.sum()) if ok.any() else float("nan")


@dataclass
class Session:
    """What the stages share, filled stage by stage."""

    grid: InternalGrid
    acc: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3)))
    gyr: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3)))
    strict_still: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    r_es: Rotation | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # made from the sensor stage's results on first use (a workout's session lives through the
    # gait stage before the strength stages need these: memory, docs/scale.md)
    @cached_property
    def up(self) -> NDArray[np.float64]:
        """World-up in the sensor frame per sample (from the orientation)."""
        assert self.r_es is not None
        return self.r_es.apply(np.array([0.0, 0.0, 1.0]), inverse=True)

    @cached_property
    def speed(self) -> NDArray[np.float64]:
        """Angular speed per sample (deg/s, bias removed)."""
        return row_norm(self.gyr)

    @cached_property
    def acc_up(self) -> NDArray[np.float64]:
        """Specific force along world-up (g)."""
        return np.sum(self.acc * self.up, axis=1)

    @cached_property
    def acc_z(self) -> NDArray[np.float64]:
        """Vertical acceleration (m/s^2): the specific force along world-up less gravity."""
        return (self.acc_up - 1.0) * GRAVITY_M_S2

    @property
    def fs(self) -> float:
        return self.grid.rate_hz

    def orientation(self) -> SampledOrientation | None:
        """The sensor stage's orientation as the session's, for other stages at other times
        (None before it ran or without a gyroscope). Sample ``k`` of the grid is the box mean
        centred on ``grid.t_s[k]``; the filter's orientation after it belongs to the box's
        end, half a grid step later."""
        if self.r_es is None:
            return None
        return SampledOrientation(self.r_es, float(self.grid.t_s[0]) + 0.5 / self.fs, self.fs)


class StrengthAnalysis(AnalysisAlgorithm):
    """The strength stages on a raw session (module docstring).

    The options are this algorithm's own parameters: it does not read the recording's metadata
    (:func:`imu.analysis.analyze` resolves option -> metadata -> default once). Sub-algorithms
    given as instances are cloned before use (None: their defaults).

    Parameters
    ----------
    exercise
        A contract exercise name for every set; None recognises each set's exercise.
    trunk_length_m
        Shoulder-joint-to-hip-joint length for the bridge body-line angle (m).
    sensor_offset_m
        Sensor position from the pelvis centre (pelvis frame, m); None uses the placement default.
    placement
        ``left_hip``/``right_hip``/``sacrum``: gives the default sensor offset.
    internal_rate_hz
        Target rate of the internal grid.
    bouts, calibration, posture, candidates, recognizer, grouping, segmentation, travel, refinement
        The stages' algorithms (None: defaults; the recogniser gets ``exercise``).
    vertical_fit
        Subtract the vertical accelerometer error fitted from the reps (``VerticalErrorFit``).

    Results
    -------
    reps_
        One row per rep: the reps table's columns (``imu.core.schema.REPS``) but
        ``form_break`` and ``form_reason``.
    sets_
        One row per set: ``imu.core.schema.SETS``.
    timeseries_
        Pelvis angles and centre height at 25 Hz (``imu.core.schema.TIMESERIES``).
    summary_
        Session summary values (exercise, counts, calibration, mounting changes, means, ...).
    diagnostics_
        Intermediate estimates (biases, mountings, candidates, ...).
    bouts_
        The session's :class:`~imu.pipeline.bouts.ActivityBouts` (quiet, walking, running).
    """

    def __init__(
        self,
        exercise: str | None = None,
        trunk_length_m: float = 0.50,
        sensor_offset_m: tuple[float, float, float] | None = None,
        placement: str = "left_hip",
        internal_rate_hz: float = 50.0,
        bouts: ActivityBouts | None = None,
        calibration: NeutralCalibration | None = None,
        posture: PostureBouts | None = None,
        candidates: ExcursionCandidates | None = None,
        recognizer: ExerciseRecognizer | None = None,
        grouping: SetGrouping | None = None,
        segmentation: RepSegmentation | None = None,
        travel: HipTravel | None = None,
        refinement: AccelerometerRefinement | None = None,
        vertical_fit: bool = True,
    ) -> None:
        self.exercise = exercise
        self.trunk_length_m = trunk_length_m
        self.sensor_offset_m = sensor_offset_m
        self.placement = placement
        self.internal_rate_hz = internal_rate_hz
        self.bouts = bouts
        self.calibration = calibration
        self.posture = posture
        self.candidates = candidates
        self.recognizer = recognizer
        self.grouping = grouping
        self.segmentation = segmentation
        self.travel = travel
        self.refinement = refinement
        self.vertical_fit = vertical_fit

    # -- options ------------------------------------------------------------------------------
    def _checked_options(self) -> tuple[str | None, NDArray[np.float64], float]:
        exercise = check_option("exercise", self.exercise)
        placement = check_option("placement", self.placement)
        offset = np.asarray(
            self.sensor_offset_m
            if self.sensor_offset_m is not None
            else DEFAULT_SENSOR_OFFSET_M[placement],
            dtype=float,
        )
        trunk = check_option("trunk_length_m", self.trunk_length_m)
        if trunk is None:
            raise InputError("trunk length must be a positive number of metres, got None")
        return exercise, offset, float(trunk)

    # -- stages -------------------------------------------------------------------------------
    def s1_time_base(self, raw: RawSession, sampling_rate_hz: float) -> Session:
        """Box means on the internal grid."""
        t = np.asarray(raw.t_s, dtype=float)
        if t.size < 2 * sampling_rate_hz:
            raise InputError("no usable reference for neutral: the recording is shorter than 2 s")
        grid = internal_grid(t, raw.acc_g, raw.gyr_dps, sampling_rate_hz, self.internal_rate_hz)
        return Session(grid=grid)

    def s2_sensor(self, s: Session) -> Session:
        """Gyroscope bias, accelerometer refinement, orientation (world-up, angular speed and
        vertical acceleration follow from them on first use: :class:`Session`)."""
        fs, acc, gyr = s.fs, s.grid.acc_g, s.grid.gyr_dps
        assert gyr is not None
        still = still_mask(acc, gyr, fs)
        bias = gyro_bias_dps(gyr, still, fs)
        gyr = gyr - bias
        strict = still_mask(acc, gyr, fs, window_s=0.5, gyr_std_dps=1.5, acc_std_g=0.01)
        refine = (self.refinement or AccelerometerRefinement()).clone().fit(acc, strict, fs)
        acc = refine.apply(acc)
        vqf = VqfOrientation().estimate(acc, gyr, fs)
        s.acc, s.gyr, s.strict_still, s.r_es = acc, gyr, strict, vqf.orientation_
        # the grid's raw box means have served: it keeps the corrected ones (no later stage
        # reads either; a workout's session lives through the gait stage: memory, docs/scale.md)
        s.grid = replace(s.grid, acc_g=acc, gyr_dps=gyr)
        s.extra |= {"gyro_bias_dps": bias.tolist(), "acc_bias_g": refine.bias_g_.tolist(),
                    "acc_scale": refine.scale_.tolist()}
        return s

    def s3_bouts(self, s: Session, gait_bouts: pa.Table | None = None) -> ActivityBouts:
        """Quiet, walking and running samples; quiet runs and gait bouts. ``gait_bouts``: the
        walking and running the gait stage found on the raw samples
        (:data:`imu.pipeline.gait_bouts.BOUTS`, times from the first sample), used instead of
        detecting them again (None: detected here)."""
        found = None
        if gait_bouts is not None:
            centre = s.grid.t_s - (s.grid.t_s[0] - 0.5 / s.fs)  # from the first raw sample
            found = (bouts_on_grid(gait_bouts, centre, "walk"),
                     bouts_on_grid(gait_bouts, centre, "run"))
        return (self.bouts or ActivityBouts()).clone().detect(
            s.acc, s.gyr, s.up, s.fs, speed_dps=s.speed, vertical_g=s.acc_up, gait=found
        )

    def s4_calibration(self, s: Session, bouts: ActivityBouts) -> NeutralCalibration:
        """Mounting segments and neutral up per mounting (InputError: no reference at all)."""
        return (self.calibration or NeutralCalibration()).clone().calibrate(
            bouts.quiet_runs_, bouts.gait_runs_, s.grid.n, s.fs
        )

    def s5_posture(self, s: Session, bouts: ActivityBouts, cal: NeutralCalibration
                   ) -> PostureBouts:
        """Tilt from neutral, posture codes and lying blocks."""
        up_n = cal.up_per_sample()
        s.extra["height_bp_cm"] = h = bandpassed_height_cm(s.acc_z, s.fs, gap=s.grid.gap)
        seg = cal.segments_
        for k in range(len(seg)):
            if seg.source[k] != "none":
                continue
            a, b = int(seg.start[k]), int(seg.end[k])
            # no standing, no gait: the most upright posture the reps come back to
            up = upright_from_motion(s.up[a:b], h[a:b])
            if up is None:
                m = s.up[a:b].mean(axis=0)
                up = m / np.linalg.norm(m)
            else:
                seg.source[k] = "rep_tops"
            up_n[a:b] = up
        s.extra["neutral_up"] = up_n
        return (self.posture or PostureBouts()).clone().detect(s.up, up_n, bouts.quiet_, s.fs)

    def s6_candidates(self, s: Session, bouts: ActivityBouts, cal: NeutralCalibration,
                      posture: PostureBouts) -> ExcursionCandidates:
        """Rep candidates with their features, in every posture span."""
        assert s.r_es is not None
        cuts = cal.segments_.start[1:]
        excluded = bouts.walking_ | bouts.running_
        for a, b in (*cal.handling_, *posture.sits_):  # the sensor in the hand; sits
            excluded[a:b] = True
        return (self.candidates or ExcursionCandidates()).clone().segment(
            posture.tilt_deg_, s.r_es, s.speed, s.acc_z, bouts.quiet_, posture.lying_ & ~excluded,
            excluded, s.fs, boundaries=cuts, height_cm=s.extra["height_bp_cm"], up_sensor=s.up,
        )

    def s7_recognition(self, cands: ExcursionCandidates, exercise: str | None
                       ) -> ExerciseRecognizer:
        """Class probabilities of every candidate."""
        rec = (self.recognizer or ExerciseRecognizer()).clone()
        if exercise is not None:
            rec.set_params(exercise=exercise)
        return rec.recognize(cands.candidates_)

    def s8_sets(self, s: Session, cands: ExcursionCandidates, rec: ExerciseRecognizer,
                bouts: ActivityBouts, exercise: str | None) -> SetGrouping:
        """Sets of rep candidates and their exercises."""
        return (self.grouping or SetGrouping()).clone().segment(
            cands.candidates_, rec.proba_, rec.rep_proba_, bouts.quiet_, cands.excursion_, s.fs,
            exercise,
        )

    def s9_reps(self, s: Session, cands: ExcursionCandidates, sets: SetGrouping,
                cal: NeutralCalibration) -> tuple[Columns, Columns, dict[int, Any]]:
        """Per set: pelvis frame, extremes and phases. Returns reps and sets (arrays by name;
        reps: the segmentation's columns, ``exercise``, ``pelvis_angle_deg``, ``mounting``;
        sets: :data:`imu.core.schema.SETS`'s) and per-set frames.

        The reps' columns are put together once at the end from the sets' columns."""
        c = cands.candidates_
        c_lo, c_hi, c_pk = (np.asarray(c[k], dtype=np.int64) for k in ("lo", "hi", "peak"))
        span_start, span_end = cands.spans_["start"], cands.spans_["end"]
        seg_start, seg_source = cal.segments_.start, cal.segments_.source
        up_n = s.extra["neutral_up"]
        segmenter = (self.segmentation or RepSegmentation()).clone()  # same parameters per set
        t0 = float(s.grid.t_s[0])
        margin = int(6 * s.fs)
        set_list = [(g.exercise, g.members, g.span) for g in sets.sets_]
        bounds = [(int(c_lo[m[0]]), int(c_hi[m[-1]])) for _, m, _ in set_list]
        rep_tables: list[dict[str, NDArray]] = []
        rep_ex, rep_angle, rep_mount = [], [], []
        set_rows, frames = [], {}
        for k, (name, idx, span) in enumerate(set_list):
            ex = str(name)
            idx = np.asarray(idx, dtype=np.int64)
            members = {"lo": c_lo[idx], "hi": c_hi[idx], "peak": c_pk[idx]}
            lo = max(int(span_start[int(span)]), bounds[k][0] - margin,
                     bounds[k - 1][1] if k else 0)
            hi = min(int(span_end[int(span)]), bounds[k][1] + margin + 1,
                     bounds[k + 1][0] if k + 1 < len(bounds) else s.grid.n)
            pk0 = members["peak"][0]
            mount = int(np.searchsorted(seg_start, pk0, side="right") - 1)
            neutral = up_n[int(pk0)]
            if seg_source[mount] == "none":
                # no standing, no gait, no clear upright arc: a set of upright reps repeated at
                # least three times stands at its tops; anything else has no reference
                if REGISTRY[ex].posture in ("supine", "prone") or idx.size < 3:
                    continue
                neutral = neutral_from_tops(s.up, members)
            first, last = int(members["lo"][0]), int(members["hi"][-1])
            frame = set_frame(ex, s.up, neutral, members, s.gyr[first:last])
            sag, obl, x = set_signal(ex, s.up, frame, s.r_es, members, s.extra["height_bp_cm"],
                                     cands.height_weight, lo, hi)
            peaks = set_extremes(ex, x, members, lo)
            if peaks.size == 0:
                continue
            no = len(set_rows) + 1
            reps = segmenter.segment(
                x, s.speed[lo:hi], s.fs, peaks, REGISTRY[ex].rest_at_bottom,
                t0_s=t0 + lo / s.fs, set_no=no,
            ).rep_columns_
            n_reps = len(reps["rep"])
            lock_i = (reps["lockout_s"] - t0) * s.fs - lo
            rep_tables.append(reps)
            rep_ex.append(np.full(n_reps, ex, dtype=object))
            rep_angle.append(np.interp(lock_i, np.arange(sag.size), sag))
            rep_mount.append(np.full(n_reps, mount, dtype=np.int64))
            set_rows.append({"set": no, "exercise": ex,
                             "start_s": float(reps["start_s"][0]),
                             "end_s": float(reps["end_s"][-1]), "reps": n_reps})
            frames[no] = {"frame": frame, "lo": lo, "hi": hi, "mounting": mount}
        reps: Columns = {}
        if rep_tables:  # one table of all sets' reps
            reps = {c: np.concatenate([r[c] for r in rep_tables]) for c in rep_tables[0]}
            reps["exercise"] = np.concatenate(rep_ex)
            reps["pelvis_angle_deg"] = np.concatenate(rep_angle)
            reps["mounting"] = np.concatenate(rep_mount)
        sets_cols: Columns = {
            "set": np.array([r["set"] for r in set_rows], dtype=np.int64),
            "exercise": np.array([r["exercise"] for r in set_rows], dtype=object),
            "start_s": np.array([r["start_s"] for r in set_rows], dtype=float),
            "end_s": np.array([r["end_s"] for r in set_rows], dtype=float),
            "reps": np.array([r["reps"] for r in set_rows], dtype=np.int64),
        }
        return reps, sets_cols, frames

    def s10_metrics(self, s: Session, reps: Columns, frames: dict[int, Any],
                    offset: NDArray[np.float64], trunk: float) -> Columns:
        """Hip travel (lever arm from each set's frame, vertical error fit), tilt, class."""
        fs, t0 = s.fs, float(s.grid.t_s[0])
        acc_z = s.acc_z.copy()
        for f in frames.values():  # the lever arm: the centre moves less than the sensor
            lo, hi = f["lo"], f["hi"]
            lever = f["frame"].apply(s.up[lo:hi]) @ offset
            dt = 1.0 / fs
            if hi - lo > 2:
                acc_z[lo:hi] -= np.gradient(np.gradient(lever, dt), dt)
        start = (reps["start_s"] - t0) * fs
        end = (reps["end_s"] - t0) * fs
        vfit = VerticalErrorFit().fit(acc_z, s.up, start, end, s.strict_still, fs)
        if self.vertical_fit:
            acc_z = acc_z - vfit.error_m_s2(s.up)
        s.extra["vertical_error_params"] = vfit.params_.tolist()
        s.extra["acc_z_centre"] = acc_z
        trav = (self.travel or HipTravel()).clone().estimate(
            acc_z, reps["start_s"], reps["end_s"], fs, lockout_s=reps["lockout_s"], t0_s=t0,
        )
        reps["hip_travel_cm"] = trav.travel_m_ * 100.0
        reps["hip_rise_cm"] = trav.rise_m_ * 100.0
        names = reps["exercise"]
        angle = reps["pelvis_angle_deg"]
        tilt = np.full(names.size, np.nan)
        for name in dict.fromkeys(names):
            m = names == name
            tilt[m] = tilt_deg(angle[m], str(name), trav.rise_m_[m], trunk)
        reps["tilt_deg"] = tilt
        reps["tilt_class"] = tilt_class(tilt)
        a = np.clip(np.floor(start).astype(int), 0, s.grid.n - 1)
        b = np.clip(np.ceil(end).astype(int), 0, s.grid.n - 1)
        # max(speed[a:b + 1], initial=0) per rep: the reps' samples in one flat index (the
        # reps may share their boundary samples), one reduceat
        size = b - a + 1
        first = np.concatenate([[0], np.cumsum(size)[:-1]])
        idx = np.arange(int(size.sum())) - np.repeat(first - a, size)
        reps["peak_speed_dps"] = np.maximum(np.maximum.reduceat(s.speed[idx], first), 0.0)
        return reps

    def s11_timeseries(self, s: Session, cal: NeutralCalibration, frames: dict[int, Any],
                       still: NDArray[np.bool_]) -> pa.Table:
        """Pelvis angles and centre height at 25 Hz, per mounting in one frame (display)."""
        assert s.r_es is not None
        n = s.grid.n
        angles = np.zeros((n, 3))
        up_n = s.extra["neutral_up"]
        seg = cal.segments_
        for k in range(len(seg)):
            a, b = int(seg.start[k]), int(seg.end[k])
            mine = [f for f in frames.values() if f["mounting"] == k]
            up = up_n[a]
            if mine:
                frame = max(mine, key=lambda f: f["hi"] - f["lo"])["frame"]
            else:
                left, _ = dominant_axis(s.gyr[a:b], up)
                frame = mounting_from_axes(up, left)
            r0, r1 = int(seg.ref_start[k]), int(seg.ref_end[k])
            ref = slice(r0, r1) if r1 > r0 else slice(a, min(b, a + int(s.fs)))
            po = PelvisOrientation(keep_orientation=False).estimate(
                s.r_es[a:b], frame, slice(ref.start - a, ref.stop - a), s.fs)
            angles[a:b] = po.angles_deg_
        height = session_height_m(s.extra.get("acc_z_centre", s.acc_z), still, s.fs)
        return timeseries_interpolated(s.grid.t_s, angles, height)

    # -- main ---------------------------------------------------------------------------------
    def sensor(self, raw: RawSession, sampling_rate_hz: float) -> Session:
        """Stages 1 and 2 alone (the grid only, without a gyroscope): the session whose
        orientation other stages share (:meth:`Session.orientation`), to go on with in
        :meth:`analyze`."""
        s = self.s1_time_base(raw, float(sampling_rate_hz))
        return s if s.grid.gyr_dps is None else self.s2_sensor(s)

    def analyze(self, raw: RawSession | Session, sampling_rate_hz: float,
                gait_bouts: pa.Table | None = None) -> Self:
        """Run the stages in order (results: ``reps_``, ``sets_``, ``summary_``, ...). ``raw``
        may be what stages 1-2 made of it (:meth:`sensor`): the caller can then let the raw
        samples go and share the orientation before the other stages run
        (:func:`imu.analysis.analyze`). ``gait_bouts``: the gait stage's walking and running
        bouts (:meth:`s3_bouts`; None: detected again on the internal grid)."""
        exercise, offset, trunk = self._checked_options()
        if isinstance(raw, Session):
            s = raw
        elif raw.gyr_dps is None:  # no gyroscope: not even the time base
            return self._empty(exercise)
        else:
            s = self.sensor(raw, sampling_rate_hz)
        if s.r_es is None:
            return self._empty(exercise)
        bouts = self.s3_bouts(s, gait_bouts)
        cal = self.s4_calibration(s, bouts)
        posture = self.s5_posture(s, bouts, cal)
        cands = self.s6_candidates(s, bouts, cal, posture)
        rec = self.s7_recognition(cands, exercise)
        groups = self.s8_sets(s, cands, rec, bouts, exercise)
        reps, sets, frames = self.s9_reps(s, cands, groups, cal)
        if not np.isin(cal.segments_.source, REFERENCES).any() and not n_rows(sets):
            raise InputError(NO_REFERENCE)  # nothing standing, walking or repeating upright
        if n_rows(reps):
            reps = self.s10_metrics(s, reps, frames, offset, trunk)
        self.reps_ = arrow.table(reps, REPS_OUTPUT)
        self.sets_ = arrow.table(sets, SETS)
        self.timeseries_ = self.s11_timeseries(s, cal, frames, bouts.quiet_)
        self.summary_ = self._summary(exercise, cal)
        self.diagnostics_ = {
            **{k: v for k, v in s.extra.items() if k not in ("neutral_up", "acc_z_centre")},
            "internal_rate_hz": s.fs,
            "mountings": cal.segments_.records(),
            "candidates": int(cands.candidates_["peak"].size),
            "recognizer_model": rec.model_version_,
            "set_confidence": [g.confidence for g in groups.sets_],
            "walking_s": float(bouts.walking_.sum()) / s.fs,
            "running_s": float(bouts.running_.sum()) / s.fs,
        }
        self.bouts_ = bouts
        return self

    def _empty(self, exercise: str | None) -> Self:
        """No gyroscope: no pelvis angles, so no reps (empty tables, documented)."""
        self.reps_ = arrow.empty(REPS_OUTPUT)
        self.sets_ = arrow.empty(SETS)
        self.timeseries_ = empty_timeseries()
        self.summary_ = self._summary(exercise, None)
        self.diagnostics_ = {"note": "no gyroscope: strength analysis needs angular rate"}
        return self

    def _summary(self, exercise: str | None, cal: NeutralCalibration | None) -> dict[str, Any]:
        r = self.reps_
        ex = exercise
        if ex is None and self.sets_.num_rows:
            names = list(dict.fromkeys(column(self.sets_, "exercise").tolist()))
            ex = str(names[0]) if len(names) == 1 else ""
        out: dict[str, Any] = {
            "exercise": ex,
            "n_sets": int(self.sets_.num_rows),
            "n_reps": int(r.num_rows),
            "calibration": _calibration_word(cal),
            "mounting_changes": int(cal.mounting_changes_) if cal is not None else 0,
        }
        for key, col in (("mean_concentric_s", "concentric_s"), ("mean_top_hold_s", "top_hold_s"),
                         ("mean_eccentric_s", "eccentric_s"),
                         ("mean_pelvis_angle_deg", "pelvis_angle_deg"),
                         ("mean_hip_travel_cm", "hip_travel_cm"), ("mean_tilt_deg", "tilt_deg")):
            out[key] = _mean(column(r, col)) if r.num_rows else np.nan
        out["posterior_tilt_pct"] = posterior_tilt_pct(r)
        return out


def _calibration_word(cal: NeutralCalibration | None) -> str:
    """The summary's ``calibration`` (contract section 3) for the first mounting: the rep tops
    of upright sets done without any standing or walking count as standing (docs)."""
    if cal is None:
        return "none"
    src = str(cal.segments_.source[0])
    return "standing_rest" if src in ("rep_tops", "none") else src
