"""Simulated walking and running sessions built step by step (:mod:`imu.sim.gait`), for the gait
pipeline: walking bouts with step truth, run starts and restarts (after standing or walking) with
a chosen lead foot and an optional half-step, no standing start, accelerometer-only recordings,
any rate from 50 to 1000 Hz.

:func:`simulate_gait` takes a ``pattern``: a list of ``("stand" | "walk" | "run", seconds)``
items, a run item optionally with a dict ``{"lead": "L" | "R", "half_step": bool}``. Walking and
running items that follow each other form one bout; standing splits bouts (a restart after
standing). With ``standing_s=0`` the recording starts already moving (mid-stride).

The older :func:`imu.sim.running.simulate_run` is unchanged (its outputs are pinned).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from imu.core.errors import InputError
from imu.core.frames import pelvis_rotation_from_angles_deg
from imu.core.vocabulary import PLACEMENTS
from imu.sim.gait import Bout, BoutBuilder, GaitStyle, integrate_path, render_bouts
from imu.sim.gait_truth import bouts_table, starts_truth, steps_truth
from imu.sim.motion import sway
from imu.sim.running import smoothstep
from imu.sim.sensor import Pose, SensorModel, oversample_factor, random_mounting
from imu.sim.session import SimSession, Truth, assemble
from imu.sim.summary import calibrations, gait_summary, quiet_table

RATE_RANGE_HZ = (50.0, 1000.0)
"""Sample rates the simulators accept (contract section 2)."""

Item = tuple[Any, ...]


def check_rate(sample_rate_hz: float) -> None:
    if not RATE_RANGE_HZ[0] <= float(sample_rate_hz) <= RATE_RANGE_HZ[1]:
        raise InputError(f"sample_rate_hz must be within 50..1000 Hz (got {sample_rate_hz})")


def resolve_mounting(mounting: Rotation | str | None, rng: np.random.Generator) -> Rotation:
    if isinstance(mounting, str):
        if mounting != "random":
            raise InputError(f"mounting must be a Rotation, 'random' or None (got {mounting!r})")
        return random_mounting(rng)
    return Rotation.identity() if mounting is None else mounting


def default_pattern(rng: np.random.Generator) -> list[Item]:
    """Walk, run, stop and stand, restart, walk break, restart, walk: two restarts (one after
    standing, one after walking)."""
    u = rng.uniform
    return [("walk", u(8, 15)), ("run", u(40, 80)), ("walk", u(4, 8)), ("stand", u(4, 10)),
            ("run", u(30, 60)), ("walk", u(10, 20)), ("run", u(30, 60)), ("walk", u(6, 12))]


def build_bouts(pattern: Sequence[Item], style: GaitStyle, rng: np.random.Generator,
                t_start: float) -> tuple[list[Bout], list[tuple[float, float]], float]:
    """Bouts and standing intervals of a pattern starting at ``t_start``; returns the end time."""
    bouts: list[Bout] = []
    quiet: list[tuple[float, float]] = []
    t = float(t_start)
    builder: BoutBuilder | None = None
    for item in pattern:
        kind, secs = str(item[0]), float(item[1])
        opts = dict(item[2]) if len(item) > 2 else {}
        if kind not in ("stand", "walk", "run") or secs < 0:
            raise InputError(f"pattern items are ('stand'|'walk'|'run', seconds >= 0), got {item}")
        if kind == "stand":
            if builder is not None:
                bouts.append(builder.finish())
                t = bouts[-1].t1
                builder = None
            quiet.append((t, t + secs))
            t += secs
            continue
        if builder is None:
            builder = BoutBuilder(style, rng, t, moving=(t <= 0.0))
        if kind == "walk":
            builder.walk(max(2, int(round(secs * style.walk_hz))))
        else:
            if set(opts) - {"lead", "half_step"}:
                raise InputError(f"run options are lead and half_step, got {sorted(opts)}")
            lead = opts.get("lead")
            if lead is not None and lead not in ("L", "R"):
                raise InputError(f"lead must be 'L' or 'R' (got {lead!r})")
            builder.run(max(2, int(round(secs * style.run_cadence_spm / 60.0))), lead=lead,
                        half_step=opts.get("half_step"))
    if builder is not None:
        bouts.append(builder.finish())
        t = bouts[-1].t1
    return bouts, quiet, t


def simulate_gait(
    seed: int = 0,
    sample_rate_hz: float = 200.0,
    placement: str = "left_hip",
    mounting: Rotation | str | None = "random",
    with_gyro: bool = True,
    standing_s: float = 5.0,
    pattern: Sequence[Item] | None = None,
    lead_side: str | None = None,
    half_step: bool | None = None,
    style: dict[str, Any] | None = None,
    sensor_model: SensorModel | None = None,
    sensor_offset_m: tuple[float, float, float] | None = None,
    turns: bool = True,
    end_standing_s: float = 2.0,
    meta_activity: str | None = None,
) -> SimSession:
    """Simulate a walking / running session (see the module docstring).

    ``standing_s`` (>= 0) opens the session with quiet standing; 0 starts mid-stride.
    ``lead_side`` ('L' | 'R') and ``half_step`` (bool) force every run start (else the person's
    habit from the seed: a usual lead side, 70-100 % consistent, half-steps at some rate);
    ``style`` overrides fields of :class:`imu.sim.gait.GaitStyle` (e.g. ``run_speed_m_s``).
    ``meta_activity`` is written into the metadata when given (the analysis detects it
    otherwise). Truth: ``steps`` (with ``gait``), ``starts``, ``bouts``, ``quiet``, ``summary``.
    """
    check_rate(sample_rate_hz)
    if placement not in PLACEMENTS:
        raise InputError(f"unknown placement {placement!r} (expected {', '.join(PLACEMENTS)})")
    if not standing_s >= 0 or not end_standing_s >= 0:
        raise InputError("standing_s and end_standing_s must be >= 0")
    rng_scn, rng_mount, rng_sensor, rng_gait, rng_sway = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 13]).spawn(5))
    st = GaitStyle.draw(rng_scn)
    if lead_side is not None:
        if lead_side not in ("L", "R"):
            raise InputError(f"lead_side must be 'L' or 'R' (got {lead_side!r})")
        st = dataclasses.replace(st, lead_side=lead_side, lead_consistency=1.0)
    if half_step is not None:
        st = dataclasses.replace(st, half_step_rate=1.0 if half_step else 0.0)
    if style:
        bad = set(style) - {f.name for f in dataclasses.fields(GaitStyle)}
        if bad:
            raise InputError(f"unknown style fields {sorted(bad)}")
        st = dataclasses.replace(st, **style)
    items = list(pattern) if pattern is not None else default_pattern(rng_scn)
    if standing_s > 0:
        items = [("stand", float(standing_s)), *items]
    items.append(("stand", float(end_standing_s)))
    bouts, quiet, t_end = build_bouts(items, st, rng_gait, 0.0)
    mount = resolve_mounting(mounting, rng_mount)
    model = sensor_model if sensor_model is not None else SensorModel()

    factor = oversample_factor(sample_rate_hz)
    fine_hz = sample_rate_hz * factor
    n_out = int(np.ceil(t_end * sample_rate_hz))
    t = np.arange(n_out * factor, dtype=float) / fine_hz
    g = render_bouts(bouts, st, t)
    psi = np.zeros(t.size)
    if turns:
        for b in bouts:
            tt = b.t0 + rng_scn.uniform(5.0, 30.0)
            while tt < b.t1 - 8.0:
                ang = float(rng_scn.choice([-1.0, 1.0]) * rng_scn.uniform(20.0, 90.0))
                dur = float(rng_scn.uniform(3.0, 6.0))
                i0, i1 = np.searchsorted(t, [tt, tt + dur])
                psi[i0:i1] += ang * smoothstep((t[i0:i1] - tt) / dur)
                psi[i1:] += ang
                tt += float(rng_scn.uniform(30.0, 90.0))
    heading = np.radians(psi)
    bx, by = integrate_path(g["speed"], heading, 1.0 / fine_hz)
    ch, sh = np.cos(heading), np.sin(heading)
    height = 0.92 + float(rng_scn.uniform(-0.03, 0.03))
    pos = np.stack([bx + ch * g["fwd"] - sh * g["lat"], by + sh * g["fwd"] + ch * g["lat"],
                    height + g["z"] + sway(t, rng_sway, 0.0015, 0.03, 0.25)], axis=1)
    rot = psi + g["rot"] + sway(t, rng_sway, 0.15, 0.03, 0.25)
    obl = g["obl"] + sway(t, rng_sway, 0.1, 0.03, 0.25)
    sag = g["sag"] + sway(t, rng_sway, 0.15, 0.03, 0.25)
    pose = Pose(t_s=t, position_m=pos, orientation=pelvis_rotation_from_angles_deg(rot, obl, sag))
    meta: dict[str, Any] = {}
    if meta_activity is not None:
        meta["activity"] = meta_activity
    session = assemble(pose, factor, Truth(), placement=placement, mounting=mount, model=model,
                       rng=rng_sensor, meta=meta, with_gyro=with_gyro, offset_m=sensor_offset_m)
    tr = session.truth
    duration = float(n_out / sample_rate_hz)
    tr.steps = steps_truth(bouts, tr.pelvis, duration)
    tr.starts = starts_truth(bouts, duration)
    tr.bouts = bouts_table(bouts)
    tr.quiet = quiet_table(quiet, [0.0])
    has_run = bool((tr.steps["gait"] == "run").any()) if len(tr.steps) else False
    m = session.raw.meta
    tr.summary = {
        "session_id": m["session_id"], "started_at": m["started_at"],
        "activity": "run" if has_run else "walk", "exercise": "", "duration_s": duration,
        "n_sets": 0, "n_reps": 0,
        "calibration": calibrations(tr.quiet, tr.steps, [0.0], [duration])[0],
        "mounting_changes": 0, "gyro_present": bool(with_gyro),
        **gait_summary(tr.steps, tr.starts, tr.pelvis, with_gyro),
    }
    return session

