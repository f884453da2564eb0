"""Simulated workouts as people really train (issue 9), with exact ground truth.

The clip goes on (left hip, right hip or sacrum, any orientation); the session opens with a quiet
stand of 3-8 s, a short stand (< 2.5 s) or already walking; maybe a warm-up jog of minutes (with
restarts); then sets of exercises in random order drawn from all 11 contract exercises (several
sets each, unilateral work per side, sets of 1-3 reps when form breaks, single-leg work often 4
reps per side); between sets people stand, fidget, walk, sit, check their phone, and now and then
take the clip off and put it back with a new orientation; maybe a cool-down walk. The user never
names the exercise: the metadata holds neither ``activity`` nor ``exercise``.

Script: :mod:`imu.sim.workout_plan` (scenario and planner); kinematics: :mod:`imu.sim.plans`
(sets), :mod:`imu.sim.gait` (steps); sensor: :mod:`imu.sim.handling` (mountings and re-seats)
and :mod:`imu.sim.sensor`. Truth (contract section 3): ``sets`` (+ ``side``), ``reps`` (+
``exercise``), ``steps`` (+ ``gait``), ``starts``, ``mountings``, ``bouts``, ``quiet``,
``summary``. docs/simulation.md documents the model, its sources and its limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from imu.core.errors import InputError
from imu.core.exercises import REGISTRY
from imu.core.frames import pelvis_rotation_from_angles_deg
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M, PLACEMENTS
from imu.sim.gait import GaitStyle, integrate_path, render_bouts
from imu.sim.gait_session import check_rate, resolve_mounting
from imu.sim.gait_truth import bouts_table, starts_truth, steps_truth
from imu.sim.handling import MountingTimeline, render_imu_timeline
from imu.sim.motion import sway
from imu.sim.plans import draw
from imu.sim.sensor import Pose, SensorModel, oversample_factor, random_mounting
from imu.sim.session import SimSession, Truth, pack
from imu.sim.strength import angular_speed_dps, rep_truth
from imu.sim.summary import calibrations, gait_summary, quiet_table
from imu.sim.workout_plan import FLOOR_SIDES, Scenario, WorkoutPlanner, draw_scenario

__all__ = ["simulate_workout"]


def _script(scn: Scenario, style: GaitStyle, rng: np.random.Generator,
            rng_gait: np.random.Generator) -> WorkoutPlanner:
    """The whole session as planner segments, bouts and intervals."""
    plan = WorkoutPlanner(rng, scn.height_m, style, rng_gait)
    moving = scn.start == "walk"
    if not moving:
        plan.quiet_stand(scn.standing_s)
    if scn.jog_s > 0:
        plan.jog(scn.jog_s, scn.jog_restarts, moving)
        moving = False
        plan.rest_block(draw(rng, 10.0, 40.0), ("stand", "fidget"))
    # to the mat / bench / rack
    plan.walk_steps(int(rng.integers(4, 16)), float(rng.choice([-1.0, 1.0])) *
                    draw(rng, 0.0, 120.0), moving=moving)
    plan.hold(draw(rng, 0.3, 1.5))
    acts = scn.rest_activities
    for i, sp in enumerate(scn.sets):
        if i > 0:
            prev = scn.sets[i - 1]
            rest = sp.rest_before_s
            if sp.kind == "side":
                if prev.exercise in FLOOR_SIDES:
                    plan.hold(rest)  # still on the floor: switch legs
                else:
                    plan.rest_block(rest, [a for a in acts if a in ("stand", "fidget")] or
                                    ["stand"])
            else:
                walk_to = sp.kind == "new" or ("walk" in acts and rng.random() < 0.5)
                if i in scn.reseat_before:
                    k = scn.reseat_before.index(i)
                    a = draw(rng, 0.2, 0.6) * rest
                    plan.rest_block(a, acts)
                    plan.reseat(scn.reseat_hand_s[k])
                    plan.rest_block(max(rest - a - scn.reseat_hand_s[k], 3.5), acts)
                else:
                    plan.rest_block(rest, acts)
                if walk_to:
                    plan.walk_steps(int(rng.integers(3, 14)), float(rng.choice([-1.0, 1.0])) *
                                    draw(rng, 30.0, 180.0))
                plan.hold(draw(rng, 0.3, 1.5))
        nxt = scn.sets[i + 1] if i + 1 < len(scn.sets) else None
        plan.run_program_set(i + 1, sp, scn.trunk_length_m, nxt)
    plan.hold(draw(rng, 1.0, 3.0))
    if scn.cooldown_s > 0:
        plan.walk_for(scn.cooldown_s)
    plan.quiet_stand(draw(rng, 2.0, 5.0))
    return plan


@dataclasses.dataclass
class WorkoutMotion:
    pose: Pose
    factor: int
    reps: pd.DataFrame
    plan: WorkoutPlanner
    n_out: int


def _render(plan: WorkoutPlanner, sample_rate_hz: float, rng_sway: np.random.Generator,
            trunk_m: float) -> WorkoutMotion:
    """Render the planner's channels and bouts into the pelvis pose; rep truth from the pose."""
    factor = oversample_factor(sample_rate_hz)
    fine_hz = sample_rate_hz * factor
    n_out = int(np.ceil(plan.t * sample_rate_hz))
    t = np.arange(n_out * factor, dtype=float) / fine_hz
    ch = plan.track.render(t)
    g = render_bouts(plan.bouts, plan.style, t)
    gain = ch.pop("sway")
    for name, amp in (("sag", 0.15), ("obl", 0.1), ("rot", 0.15), ("z", 0.0015),
                      ("u", 0.002), ("v", 0.002)):
        ch[name] += gain * sway(t, rng_sway, amp, 0.03, 0.25)
    del gain
    psi_deg = ch.pop("psi")
    heading = np.radians(psi_deg)
    bx, by = integrate_path(g.pop("speed"), heading, 1.0 / fine_hz)
    u = ch.pop("u") + g.pop("fwd")
    v = ch.pop("v") + g.pop("lat")
    cp, sp = np.cos(heading), np.sin(heading)
    del heading
    pos = np.empty((t.size, 3))
    pos[:, 0] = ch.pop("bx") + bx + cp * u - sp * v
    pos[:, 1] = ch.pop("by") + by + sp * u + cp * v
    del bx, by, u, v, cp, sp
    z = ch["z"] + g["z"]
    pos[:, 2] = z
    yaw = psi_deg + ch["rot"] + g["rot"]
    obl = ch["obl"] + g["obl"]
    sag = ch["sag"] + g["sag"]
    del ch, g, psi_deg
    orientation = pelvis_rotation_from_angles_deg(yaw, obl, sag)
    w = angular_speed_dps(yaw, obl, sag, fine_hz)
    reps = rep_truth(plan.reps, t, w, z, sag, trunk_m)
    return WorkoutMotion(Pose(t, pos, orientation), factor, reps, plan, n_out)


def _sets_table(reps: pd.DataFrame, scn: Scenario) -> pd.DataFrame:
    sets = (reps.groupby("set", sort=True)
            .agg(exercise=("exercise", "first"), start_s=("start_s", "min"),
                 end_s=("end_s", "max"), reps=("rep", "count")).reset_index())
    sets["reps"] = sets["reps"].astype("int64")
    sets["side"] = [scn.sets[int(s) - 1].side for s in sets["set"]]
    return sets


def simulate_workout(
    seed: int = 0,
    sample_rate_hz: float = 200.0,
    placement: str | None = None,
    mounting: Rotation | str | None = "random",
    with_gyro: bool = True,
    sensor_model: SensorModel | None = None,
    preset: str | None = None,
    start: str | None = None,
    standing_s: float | None = None,
    warmup_jog_s: float | None = None,
    jog_restarts: int | None = None,
    program: Sequence[Sequence[Any]] | None = None,
    exercises: Sequence[str] | None = None,
    rest_s: tuple[float, float] | None = None,
    rest_activities: Sequence[str] | None = None,
    reseats: int | None = None,
    reseat_hand_s: tuple[float, float] = (3.0, 20.0),
    cooldown_walk_s: float | None = None,
    short_set_rate: float | None = None,
    trunk_length_m: float | None = None,
    style: dict[str, Any] | None = None,
    trunk_in_metadata: bool = True,
) -> SimSession:
    """Simulate a realistic workout (module docstring); every ``None`` option is drawn from
    ``seed`` (the realistic mix), any of them can be forced:

    ``placement`` (left_hip | right_hip | sacrum); ``mounting`` (pelvis <- sensor Rotation,
    'random', None = identity) of the first clip-on; ``preset='hour_all_exercises'`` (one hour,
    28 sets of all 11 exercises, rests with walking); ``start`` ('quiet' | 'short' | 'walk') and
    ``standing_s`` (0 = walking from the first sample); ``warmup_jog_s`` (0 = none) and
    ``jog_restarts``; ``program``: the sets, ``[(exercise, reps[, 'L'|'R']), ...]`` (the side
    is the working leg of unilateral work), else ``exercises`` (the pool, in this order) or a
    random choice of 3-6 exercises; ``rest_s`` (lo, hi) for every rest (the other side of
    unilateral work rests 0.3 x that); ``rest_activities`` (subset of stand, fidget, walk, sit,
    phone); ``reseats`` (count) and ``reseat_hand_s`` (time in the hand); ``cooldown_walk_s``;
    ``short_set_rate`` (share of sets of 1-3 reps); ``trunk_length_m``; ``style`` (fields of
    :class:`imu.sim.gait.GaitStyle`); ``trunk_in_metadata`` (write the user's trunk length).
    """
    check_rate(sample_rate_hz)
    rng_scn, rng_motion, rng_mount, rng_sensor, rng_sway, rng_gait = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 9]).spawn(6))
    if placement is None:
        placement = str(rng_scn.choice(PLACEMENTS))
    if placement not in PLACEMENTS:
        raise InputError(f"unknown placement {placement!r} (expected {', '.join(PLACEMENTS)})")
    scn = draw_scenario(
        rng_scn, start=start, standing_s=standing_s, warmup_jog_s=warmup_jog_s,
        jog_restarts=jog_restarts, program=program, exercises=exercises, rest_s=rest_s,
        rest_activities=rest_activities, reseats=reseats, reseat_hand_s=reseat_hand_s,
        cooldown_walk_s=cooldown_walk_s, short_set_rate=short_set_rate,
        trunk_length_m=trunk_length_m, preset=preset)
    gs = GaitStyle.draw(rng_scn)
    if style:
        bad = set(style) - {f.name for f in dataclasses.fields(GaitStyle)}
        if bad:
            raise InputError(f"unknown style fields {sorted(bad)}")
        gs = dataclasses.replace(gs, **style)
    plan = _script(scn, gs, rng_motion, rng_gait)
    motion = _render(plan, sample_rate_hz, rng_sway, scn.trunk_length_m)

    # ---- the sensor: first mounting and every re-seat ----
    first = resolve_mounting(mounting, rng_mount)
    base = np.asarray(DEFAULT_SENSOR_OFFSET_M[placement], dtype=float)
    timeline = MountingTimeline(first, base)
    for t_off, t_on in plan.reseats:
        timeline.add_reseat(t_off, t_on, random_mounting(rng_mount),
                            base + rng_mount.normal(0.0, 0.01, 3), rng_mount)
    model = sensor_model if sensor_model is not None else SensorModel()
    rec = render_imu_timeline(motion.pose, motion.factor, timeline, model, rng_sensor)
    meta: dict[str, Any] = {}
    if trunk_in_metadata:
        meta["trunk_length_m"] = float(scn.trunk_length_m)
    session = pack(rec, motion.pose, motion.factor, Truth(), placement=placement,
                   mounting=first, model=model, rng=rng_sensor, meta=meta, with_gyro=with_gyro)
    _truth(session, motion, scn, timeline, with_gyro)
    return session


def _truth(session: SimSession, motion: WorkoutMotion, scn: Scenario,
           timeline: MountingTimeline, gyro: bool) -> None:
    tr = session.truth
    plan = motion.plan
    duration = float(session.raw.t_s[-1] + 1.0 / float(session.raw.meta["sample_rate_hz"]))
    reps = motion.reps
    reps["side"] = [scn.sets[int(s) - 1].side for s in reps["set"]]
    reps["scripted_form_break"] = [bool(r.form_break) for r in plan.reps]
    tr.reps = reps
    tr.sets = _sets_table(reps, scn)
    tr.steps = steps_truth(plan.bouts, tr.pelvis, duration)
    tr.starts = starts_truth(plan.bouts, duration)
    tr.bouts = bouts_table(plan.bouts)
    tr.mountings = timeline.table()
    from_s = tr.mountings["from_s"].tolist()
    to_s = [*tr.mountings["off_s"].tolist()[1:], duration]
    tr.quiet = quiet_table(plan.quiet, from_s)
    cal = calibrations(tr.quiet, tr.steps, from_s, to_s)
    has_run = bool(len(tr.steps)) and bool((tr.steps["gait"] == "run").any())
    names = tr.sets["exercise"].unique()
    m = session.raw.meta
    tr.summary = {
        "session_id": m["session_id"], "started_at": m["started_at"],
        "activity": "mixed" if has_run else "strength",
        "exercise": str(names[0]) if len(names) == 1 else "",
        "duration_s": duration, "n_sets": int(len(tr.sets)), "n_reps": int(len(tr.reps)),
        "calibration": cal[0], "mounting_changes": len(timeline.reseats),
        "gyro_present": bool(gyro),
        **gait_summary(tr.steps, tr.starts, tr.pelvis, gyro),
        # truth-only extras
        "calibrations": cal, "placement": m["placement"], "start": scn.start,
        "standing_s": scn.standing_s, "warmup_jog_s": scn.jog_s,
        "cooldown_walk_s": scn.cooldown_s, "trunk_length_m": scn.trunk_length_m,
        "exercises": [str(e) for e in dict.fromkeys(tr.sets["exercise"])],
        "unilateral_sets": int(sum(REGISTRY[e].unilateral for e in tr.sets["exercise"])),
        "sits": [(float(a), float(b)) for a, b in plan.sits],
    }
