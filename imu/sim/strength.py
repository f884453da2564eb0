"""Simulated strength sessions (glute exercises) with exact ground truth.

A session is a script of pelvis postures joined by minimum-jerk moves (C2, see
:mod:`imu.sim.motion`): quiet standing (defines neutral and the world heading), then per set the
way into the start posture (lying on the back, hands and knees, kneeling, standing), the reps,
the way out, and a rest with walking, turns, fidgets and weight shifts. The pelvis pose (centre
position, world <- pelvis orientation from the contract's Baker angles) is rendered on the fine
grid of :mod:`imu.sim.sensor` and turned into a raw recording by :func:`imu.sim.session.assemble`.
The script itself (set kinematics per exercise and the planner) is :mod:`imu.sim.plans`.

The ground truth is computed from the rendered pose with exactly the contract's definitions
(docs/formats.md, section 3): phase boundaries where the true 3-D angular speed crosses 5 % of
that phase's peak, lockout at the middle of the top hold, pelvis angle, hip travel and tilt from
the true pose (the tilt with :mod:`imu.metrics.strength`, as the analysis does).
docs/simulation.md documents the kinematics and their sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES
from imu.core.frames import pelvis_rotation_from_angles_deg
from imu.core.schema import REPS_CONTRACT_COLUMNS
from imu.core.vocabulary import PLACEMENTS
from imu.metrics.strength import expected_lockout_deg, tilt_class
from imu.sim.motion import cruise_speed, envelope, gait_oscillation, sway
from imu.sim.plans import Planner, ScriptedRep, draw, set_spec
from imu.sim.sensor import Pose, SensorModel, oversample_factor, random_mounting
from imu.sim.session import SimSession, Truth, assemble

__all__ = ["PHASE_THRESHOLD", "StrengthMotion", "rep_truth", "simulate_strength", "strength_motion"]

PHASE_THRESHOLD = 0.05
"""A movement phase starts/ends where |w| crosses this fraction of the phase's peak (contract)."""

TRUTH_REP_EXTRAS = ("bottom_pause_s", "final_hold_s", "expected_deg", "scripted_tilt_deg")
"""Truth-only rep columns after the contract's and ``exercise``: the pause at the bottom and
the final hold (rest at top), the expected lockout angle and the scripted tilt."""


# --------------------------------------------------------------------------------------------
# Ground truth from the pose


def angular_speed_dps(
    yaw_deg: NDArray[np.float64],
    obl_deg: NDArray[np.float64],
    sag_deg: NDArray[np.float64],
    rate_hz: float,
) -> NDArray[np.float64]:
    """|w| (deg/s) of R = Rz(yaw) Rx(obl) Ry(-sag) from the angle rates.

    w_world = yaw' e_z + obl' Rz e_x + (-sag') Rz Rx e_y.
    """
    dt = 1.0 / rate_hz
    da, db, dc = (np.gradient(x, dt) for x in (yaw_deg, obl_deg, sag_deg))
    dc = -dc
    a, b = np.radians(yaw_deg), np.radians(obl_deg)
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    wx = db * ca - dc * sa * cb
    wy = db * sa + dc * ca * cb
    wz = da + dc * sb
    return np.sqrt(wx * wx + wy * wy + wz * wz)


def _phase_bounds(
    w: NDArray[np.float64], i0: int, i1: int, lo: int, hi: int
) -> tuple[int, int]:
    """First/last sample of a movement around the scripted window [i0, i1): where |w| crosses
    PHASE_THRESHOLD x the peak inside the window, searched within [lo, hi)."""
    i1 = max(i1, i0 + 1)
    pk = i0 + int(np.argmax(w[i0:i1]))
    thr = PHASE_THRESHOLD * w[pk]
    below = np.flatnonzero(w[lo:pk] < thr)
    start = lo + int(below[-1]) + 1 if below.size else lo
    below = np.flatnonzero(w[pk:hi] < thr)
    end = pk + int(below[0]) if below.size else hi - 1
    return start, end


def rep_truth(
    reps: list[ScriptedRep],
    t_s: NDArray[np.float64],
    w_dps: NDArray[np.float64],
    height_m: NDArray[np.float64],
    sagittal_deg: NDArray[np.float64],
    trunk_length_m: float,
) -> pd.DataFrame:
    """Per-rep truth table (contract section 3) from the true pose on a uniform grid."""
    rate = 1.0 / (t_s[1] - t_s[0])
    n = t_s.size

    def idx(t: float) -> int:
        return int(np.clip(round((t - t_s[0]) * rate), 0, n - 1))

    margin = int(0.25 * rate)

    def bounds(win: tuple[float, float], prev_end: float, next_start: float) -> tuple[int, int]:
        i0, i1 = idx(win[0]), idx(win[1])
        lo = max(i0 - margin, (idx(prev_end) + i0) // 2)
        hi = min(i1 + margin, (i1 + idx(next_start)) // 2 + 1)
        return _phase_bounds(w_dps, i0, i1, max(lo, 0), min(max(hi, i1 + 1), n))

    rows: list[dict[str, Any]] = []
    starts: list[int] = []
    for k, rp in enumerate(reps):
        prev = reps[k - 1] if k > 0 and reps[k - 1].set == rp.set else None
        nxt = reps[k + 1] if k + 1 < len(reps) and reps[k + 1].set == rp.set else None
        if rp.rest_at_bottom:
            prev_end = prev.ecc[1] if prev else rp.conc[0] - 1.0
            nxt_start = nxt.conc[0] if nxt else rp.ecc[1] + 1.0
            c0, c1 = bounds(rp.conc, prev_end, rp.ecc[0])
            e0, e1 = bounds(rp.ecc, rp.conc[1], nxt_start)
            start, end = c0, e1
            hold_s = (e0 - c1) / rate
            lock = 0.5 * (t_s[c1] + t_s[e0])
        else:
            prev_end = prev.conc[1] if prev else rp.ecc[0] - 1.0
            e0, e1 = bounds(rp.ecc, prev_end, rp.conc[0])
            after = nxt.ecc[0] if nxt else (rp.next_move[0] if rp.next_move else rp.conc[1] + 1)
            c0, c1 = bounds(rp.conc, rp.ecc[1], after)
            start, end = e0, c1
            if nxt is not None:
                nxt_prev_end = rp.conc[1]
                nxt_after = nxt.conc[0]
                ns, _ = bounds(nxt.ecc, nxt_prev_end, nxt_after)
            elif rp.next_move is not None:
                ns, _ = bounds(rp.next_move, rp.conc[1], rp.next_move[1] + 1.0)
            else:
                ns = c1
            hold_s = (ns - c1) / rate
            lock = 0.5 * (t_s[c1] + t_s[ns])
        li = idx(lock)
        sag_lock = float(sagittal_deg[li])
        rise = float(height_m[li] - height_m[start])
        expected = float(expected_lockout_deg(rp.exercise, rise, trunk_length_m))
        seg = height_m[start : end + 1]
        tilt = sag_lock - expected
        rows.append({
            "set": rp.set,
            "rep": rp.rep,
            "start_s": float(t_s[start]),
            "end_s": float(t_s[end]),
            "lockout_s": float(lock),
            "concentric_s": (c1 - c0) / rate,
            "top_hold_s": hold_s if (rp.rest_at_bottom or nxt is not None) else np.nan,
            "eccentric_s": (e1 - e0) / rate,
            "pelvis_angle_deg": sag_lock,
            "hip_travel_cm": 100.0 * float(seg.max() - seg.min()),
            "tilt_deg": tilt,
            "tilt_class": str(tilt_class(tilt)),
            "exercise": rp.exercise,
            "bottom_pause_s": ((c0 - e1) / rate) if not rp.rest_at_bottom else np.nan,
            "final_hold_s": hold_s if (not rp.rest_at_bottom and nxt is None) else np.nan,
            "expected_deg": expected,
            "scripted_tilt_deg": rp.tilt_deg,
        })
        starts.append(start)
    cols = [*REPS_CONTRACT_COLUMNS, "exercise", *TRUTH_REP_EXTRAS]
    df = pd.DataFrame(rows, columns=cols)
    df["set"] = df["set"].astype("int64")
    df["rep"] = df["rep"].astype("int64")
    return df


# --------------------------------------------------------------------------------------------
# Front door


def _as_list(value: Any, n: int, name: str) -> list[Any]:
    if isinstance(value, str) or np.ndim(value) == 0:
        return [value] * n
    out = list(value)
    if len(out) != n:
        raise InputError(f"{name}: expected {n} values (one per set), got {len(out)}")
    return out


@dataclass
class StrengthMotion:
    """The simulated movement before any sensor: fine-grid pose plus its ground truth."""

    pose: Pose
    """Pelvis pose on the fine grid (``factor`` x the output rate), t_s from 0."""
    factor: int
    truth: Truth
    """reps and sets filled; summary and pelvis are filled by :func:`simulate_strength`."""
    exercises: list[str]
    trunk_length_m: float
    n_out: int
    """Number of output samples."""


def _check_common(n_sets: int, sample_rate_hz: float, standing_s: float,
                  trunk_length_m: float, rest_s: tuple[float, float]) -> None:
    if int(n_sets) < 1:
        raise InputError(f"n_sets must be >= 1 (got {n_sets})")
    if not sample_rate_hz > 0:
        raise InputError(f"sample_rate_hz must be > 0 (got {sample_rate_hz})")
    if not standing_s >= 3.0:
        raise InputError(f"standing_s must be >= 3 s (contract), got {standing_s}")
    if not 0.2 <= trunk_length_m <= 1.0:
        raise InputError(f"trunk_length_m must be in 0.2..1.0 m (got {trunk_length_m})")
    if not 0 <= float(rest_s[0]) <= float(rest_s[1]):
        raise InputError(f"rest_s must be a range (lo, hi) with 0 <= lo <= hi, got {rest_s}")


def strength_motion(
    exercise: str | Sequence[str] = "glute_bridge",
    n_sets: int = 3,
    reps_per_set: int | Sequence[int] | None = None,
    sample_rate_hz: float = 200.0,
    seed: int = 0,
    trunk_length_m: float = 0.50,
    rest_s: tuple[float, float] = (20.0, 60.0),
    walking: bool = True,
    standing_s: float = 5.0,
    tilt_range_deg: tuple[float, float] | None = None,
) -> StrengthMotion:
    """Script, render and measure the pelvis motion of a strength session (no sensor yet).

    Same options as :func:`simulate_strength`; used by it and by tests that need the fine pose.
    """
    _check_common(n_sets, sample_rate_hz, standing_s, trunk_length_m, rest_s)
    if tilt_range_deg is not None and not (
        -30.0 <= float(tilt_range_deg[0]) <= float(tilt_range_deg[1]) <= 30.0
    ):
        raise InputError(f"tilt_range_deg must be (lo, hi) within -30..30, got {tilt_range_deg}")
    n_sets = int(n_sets)
    exercises = [str(e) for e in _as_list(exercise, n_sets, "exercise")]
    for e in exercises:
        if e not in EXERCISES:
            raise InputError(f"unknown exercise {e!r} (expected one of {', '.join(EXERCISES)})")
    rng_motion, _, _, rng_sway = _rngs(seed)
    if reps_per_set is None:
        reps = [int(x) for x in rng_motion.integers(5, 16, n_sets)]
    else:
        reps = [int(x) for x in _as_list(reps_per_set, n_sets, "reps_per_set")]
    if any(r < 1 for r in reps):
        raise InputError(f"reps_per_set must be >= 1 (got {reps})")
    rest_lo, rest_hi = float(rest_s[0]), float(rest_s[1])

    # ---- script ----
    height = 0.92 + draw(rng_motion, -0.03, 0.03)
    plan = Planner(rng_motion, height)
    plan.hold(standing_s)
    for s in range(n_sets):
        if s > 0:
            plan.rest(draw(rng_motion, rest_lo, rest_hi), walking)
        elif walking:
            plan.walk(draw(rng_motion, 1.5, 4.0))
        # Face a new direction for every set: the analysis must not depend on heading.
        plan.turn(float(rng_motion.choice([-1.0, 1.0])) * draw(rng_motion, 20.0, 180.0))
        plan.hold(draw(rng_motion, 0.5, 1.5))
        spec = set_spec(exercises[s], rng_motion, height, trunk_length_m)
        if tilt_range_deg is not None:
            spec.tilt_range_deg = (float(tilt_range_deg[0]), float(tilt_range_deg[1]))
        plan.run_set(s + 1, spec, reps[s])
    plan.hold(draw(rng_motion, 2.0, 4.0))
    if walking:
        plan.walk(draw(rng_motion, 1.0, 3.0))
    plan.hold(2.0)

    # ---- render the pose on the fine grid ----
    factor = oversample_factor(sample_rate_hz)
    fine_hz = sample_rate_hz * factor
    n_out = int(np.ceil(plan.t * sample_rate_hz))
    t = np.arange(n_out * factor, dtype=float) / fine_hz
    ch = plan.track.render(t)
    _add_gait(ch, t, plan)
    gain = ch.pop("sway")
    for name, amp in (("sag", 0.15), ("obl", 0.1), ("rot", 0.15), ("z", 0.0015),
                      ("u", 0.002), ("v", 0.002)):
        ch[name] += gain * sway(t, rng_sway, amp, 0.03, 0.25)
    del gain
    yaw = ch.pop("psi") + ch["rot"]
    psi = np.radians(yaw - ch.pop("rot"))
    cp, sp = np.cos(psi), np.sin(psi)
    del psi
    pos = np.empty((t.size, 3))
    u, v = ch.pop("u"), ch.pop("v")
    pos[:, 0] = ch.pop("bx") + cp * u - sp * v
    pos[:, 1] = ch.pop("by") + sp * u + cp * v
    pos[:, 2] = ch["z"]
    del u, v, cp, sp
    orientation = pelvis_rotation_from_angles_deg(yaw, ch["obl"], ch["sag"])
    pose = Pose(t_s=t, position_m=pos, orientation=orientation)

    # ---- truth ----
    w = angular_speed_dps(yaw, ch["obl"], ch["sag"], fine_hz)
    reps_df = rep_truth(plan.reps, t, w, ch["z"], ch["sag"], trunk_length_m)
    del w, ch, yaw
    sets_df = (
        reps_df.groupby("set", sort=True)
        .agg(exercise=("exercise", "first"), start_s=("start_s", "min"),
             end_s=("end_s", "max"), reps=("rep", "count"))
        .reset_index()
    )
    sets_df["reps"] = sets_df["reps"].astype("int64")
    return StrengthMotion(pose, factor, Truth(reps=reps_df, sets=sets_df), exercises,
                          float(trunk_length_m), n_out)


def _rngs(seed: int) -> list[np.random.Generator]:
    """Independent streams: motion, mounting, sensor errors, sway (truth ignores 1 and 2)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]


def simulate_strength(
    exercise: str | Sequence[str] = "glute_bridge",
    n_sets: int = 3,
    reps_per_set: int | Sequence[int] | None = None,
    sample_rate_hz: float = 200.0,
    placement: str = "left_hip",
    mounting: Rotation | str | None = "random",
    seed: int = 0,
    trunk_length_m: float = 0.50,
    rest_s: tuple[float, float] = (20.0, 60.0),
    walking: bool = True,
    sensor_model: SensorModel | None = None,
    with_gyro: bool = True,
    standing_s: float = 5.0,
    tilt_range_deg: tuple[float, float] | None = None,
) -> SimSession:
    """Simulate a strength session and its ground truth (see the module docstring).

    ``exercise`` is one name for all sets or one per set; ``reps_per_set`` one count, one per
    set, or None (random 5..15 per set); ``mounting`` is pelvis <- sensor (``"random"``:
    uniform, None: identity). ``tilt_range_deg`` (optional) replaces the per-exercise lockout
    tilt distribution by uniform(lo, hi) for every set (e.g. to build a trend across sessions;
    the minimum-excursion limits of docs/simulation.md still apply). The motion depends only on
    ``seed`` and the motion options, not on the placement, mounting or sensor model, so the
    truth is mounting-invariant.
    """
    if placement not in PLACEMENTS:
        raise InputError(f"unknown placement {placement!r} (expected {', '.join(PLACEMENTS)})")
    _, rng_mount, rng_sensor, _ = _rngs(seed)
    if isinstance(mounting, str):
        if mounting != "random":
            raise InputError(f"mounting must be a Rotation, 'random' or None (got {mounting!r})")
        mount = random_mounting(rng_mount)
    elif mounting is None:
        mount = Rotation.identity()
    else:
        mount = mounting
    motion = strength_motion(
        exercise, n_sets, reps_per_set, sample_rate_hz, seed, trunk_length_m, rest_s, walking,
        standing_s, tilt_range_deg,
    )
    exercises = motion.exercises
    single = exercises[0] if len(set(exercises)) == 1 else None
    meta: dict[str, Any] = {"activity": "strength", "trunk_length_m": float(trunk_length_m)}
    if single is not None:
        meta["exercise"] = single
    truth = motion.truth
    session = assemble(
        motion.pose, motion.factor, truth, placement=placement, mounting=mount,
        model=sensor_model or SensorModel(), rng=rng_sensor, meta=meta, with_gyro=with_gyro,
    )
    m = session.raw.meta
    truth.summary = {
        "session_id": m["session_id"],
        "started_at": m["started_at"],
        "activity": "strength",
        "exercise": single if single is not None else "mixed",
        "duration_s": float(motion.n_out / sample_rate_hz),
        "n_sets": len(exercises),
        "n_reps": int(len(truth.reps)),
    }
    return session


def _add_gait(ch: dict[str, NDArray[np.float64]], t: NDArray[np.float64], plan: Planner) -> None:
    """Add the walking oscillation of every gait bout (scaled by its smooth envelope)."""
    rate = 1.0 / (t[1] - t[0])
    for b in plan.gait:
        i0 = max(int(np.floor(b.t0 * rate)), 0)
        i1 = min(int(np.ceil(b.t1 * rate)) + 1, t.size)
        if i1 <= i0:
            continue
        tt = t[i0:i1]
        if b.cruise:
            env = cruise_speed((tt - b.t0) / (b.t1 - b.t0), b.ramp_s / (b.t1 - b.t0))
            env *= 1.0 - b.ramp_s / (b.t1 - b.t0)
        else:
            env = envelope(tt, b.t0, b.t1, b.ramp_s)
        osc = gait_oscillation(tt - b.t0, b.phase0, b.step_hz, plan.amp)
        for name, x in osc.items():
            ch[name][i0:i1] += b.scale * env * x
