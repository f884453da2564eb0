"""Simulated strength sessions (glute exercises) with exact ground truth.

A session is a script of pelvis postures joined by minimum-jerk moves (C2, see
:mod:`imu.sim.motion`): quiet standing (defines neutral and the world heading), then per set the
way into the start posture (lying on the back, hands and knees, kneeling, standing), the reps,
the way out, and a rest with walking, turns, fidgets and weight shifts. The pelvis pose (centre
position, world <- pelvis orientation from the contract's Baker angles) is rendered on the fine
grid of :mod:`imu.sim.sensor` and turned into a raw recording by :func:`imu.sim.session.assemble`.

The ground truth is computed from the rendered pose with exactly the contract's definitions
(docs/formats.md, section 3): phase boundaries where the true 3-D angular speed crosses 5 % of
that phase's peak, lockout at the middle of the top hold, pelvis angle, hip travel and tilt from
the true pose. docs/simulation.md documents the kinematics and their sources.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES, REST_AT_BOTTOM
from imu.core.frames import pelvis_rotation_from_angles_deg
from imu.core.vocabulary import PLACEMENTS
from imu.metrics.strength import tilt_class
from imu.sim.motion import GaitAmplitudes, Track, cruise_speed, envelope, gait_oscillation, sway
from imu.sim.sensor import Pose, SensorModel, oversample_factor, random_mounting
from imu.sim.session import SimSession, Truth, assemble

__all__ = ["PHASE_THRESHOLD", "StrengthMotion", "rep_truth", "simulate_strength", "strength_motion"]

PHASE_THRESHOLD = 0.05
"""A movement phase starts/ends where |w| crosses this fraction of the phase's peak (contract)."""

CHANNELS = ("bx", "by", "psi", "u", "v", "z", "sag", "obl", "rot", "sway")
"""Planner channels: base position (m, world) and heading (deg) of the person, posture offsets
u (forward), v (left) in the heading frame (m), pelvis-centre height z (m), Baker angles
relative to the heading (deg), and a sway gain (1 standing, smaller when supported)."""

Posture = dict[str, float]

TEMPO_S: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "glute_bridge": ((0.7, 1.6), (0.8, 2.0)),
    "single_leg_bridge": ((0.7, 1.6), (0.8, 2.0)),
    "hip_thrust": ((0.8, 1.8), (0.9, 2.2)),
    "deadlift": ((1.0, 2.2), (0.8, 1.8)),
    "hip_hinge": ((0.8, 1.8), (1.0, 2.3)),
    "romanian_deadlift": ((0.8, 1.8), (1.0, 2.3)),
    "single_leg_rdl": ((0.8, 1.8), (1.0, 2.3)),
    "bulgarian_split_squat": ((0.8, 1.8), (1.0, 2.3)),
    "squat": ((0.8, 1.8), (1.0, 2.3)),
    "glute_ham_raise": ((1.0, 2.2), (1.5, 2.5)),
    "quadruped_hip_extension": ((0.7, 1.5), (0.8, 1.8)),
}
"""Per-set base durations (concentric, eccentric) in s; per rep x0.8-1.25 +- 0.1, clipped to
0.6-2.5 s. Heavy pulls and the glute-ham raise's eccentric are slower."""

MIN_EXCURSION_DEG = 6.0
"""Each rep rotates the pelvis by at least this much in total (tilt is limited if needed), so its
phases are visible in the angular speed; see docs/simulation.md."""

MIN_SAGITTAL_EXCURSION_DEG = 8.0
"""Each rep (except quadruped hip extension, whose pelvis mainly tips and turns) rotates the
pelvis by at least this much in the sagittal plane, so that the medio-lateral axis stays the
dominant rotation axis of the reps (contract section 1)."""


# --------------------------------------------------------------------------------------------
# Exercise kinematics


@dataclass
class _SetSpec:
    """Random per-set kinematics of one exercise (postures relative to the set's heading)."""

    exercise: str
    setup: list[Posture]
    """Postures passed through from standing to the start of the first rep."""
    exit: list[Posture]
    """Postures passed through from the end of the last rep back to standing."""
    bottom: Callable[[float], Posture]
    """Amplitude factor -> bottom posture."""
    top: Callable[[float], Posture]
    """Amplitude factor -> top (lockout) posture without the pelvic tilt."""
    expected: str
    """'bridge' (90 + beta), 'thrust' (90), 'quadruped' (-90) or 'upright' (0)."""
    tilt_range_deg: tuple[float, float]
    sway_gain: float = 0.3


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _set_spec(
    exercise: str, rng: np.random.Generator, height_m: float, trunk_m: float
) -> _SetSpec:
    """Kinematics of one set (see docs/simulation.md for the numbers and their sources)."""
    h = height_m
    stand: Posture = {"u": 0.0, "v": 0.0, "z": h, "sag": 0.0, "obl": 0.0, "rot": 0.0}
    side = float(rng.choice([-1.0, 1.0]))  # +1: the left leg is the working/lifted/free leg
    posterior_set = rng.random() < 0.3
    squat_down = {"u": -0.05, "z": 0.55, "sag": -25.0, "obl": 0.0, "rot": 0.0}

    def noise(scale: float = 1.0) -> Posture:
        return {"obl": _u(rng, -scale, scale), "rot": _u(rng, -scale, scale)}

    if exercise in ("glute_bridge", "single_leg_bridge"):
        single = exercise == "single_leg_bridge"
        zb = _u(rng, 0.10, 0.12)
        sag_b = 90.0 + _u(rng, -4.0, 2.0)
        ub = -_u(rng, 0.35, 0.45)
        beta_set = _u(rng, 12.0, 22.0) if single else _u(rng, 18.0, 30.0)
        obl_top = -side * _u(rng, 3.0, 8.0) if single else 0.0
        rot_top = side * _u(rng, 2.0, 6.0) if single else 0.0
        obl_bot = -side * _u(rng, 0.0, 2.0) if single else 0.0

        def bottom(a: float) -> Posture:
            n = noise(0.5)
            return {"u": ub, "v": 0.0, "z": zb, "sag": sag_b + _u(rng, -1, 1),
                    "obl": obl_bot + n["obl"], "rot": n["rot"]}

        def top(a: float) -> Posture:
            beta = min(beta_set * a, 60.0)
            rise = trunk_m * np.sin(np.radians(beta))
            n = noise(1.0)
            return {"u": ub - trunk_m * (1 - np.cos(np.radians(beta))), "v": 0.0,
                    "z": zb + rise, "sag": 90.0 + beta,
                    "obl": obl_top * a + n["obl"], "rot": rot_top * a + n["rot"]}

        sit = {"u": -0.25, "z": 0.13, "sag": 25.0, "obl": 0.0, "rot": 0.0}
        return _SetSpec(exercise, [squat_down, sit, bottom(1.0)], [sit, squat_down, stand],
                        bottom, top, "bridge",
                        (-4.0, 12.0) if posterior_set else (-12.0, 12.0), 0.2)

    if exercise == "hip_thrust":
        zt = _u(rng, 0.42, 0.48)
        drop_set = _u(rng, 0.22, 0.30)
        extra = _u(rng, 8.0, 16.0)
        ut = -0.25

        def top(a: float) -> Posture:
            return {"u": ut, "v": 0.0, "z": zt, "sag": 90.0, **noise(1.0)}

        def bottom(a: float) -> Posture:
            d = min(drop_set * a, 0.8 * trunk_m)
            alpha = np.degrees(np.arcsin(d / trunk_m))
            return {"u": ut - trunk_m * (1 - np.cos(np.radians(alpha))), "v": 0.0,
                    "z": zt - d, "sag": 90.0 - alpha - extra, **noise(0.5)}

        sit = {"u": -0.35, "z": 0.14, "sag": 20.0, "obl": 0.0, "rot": 0.0}
        return _SetSpec(exercise, [squat_down, sit, bottom(1.0)], [sit, squat_down, stand],
                        bottom, top, "thrust",
                        (-4.0, 12.0) if posterior_set else (-12.0, 12.0), 0.3)

    if exercise == "quadruped_hip_extension":
        zq = _u(rng, 0.65, 0.72)
        sag_b = -90.0 + _u(rng, -3.0, 3.0)
        obl_set = _u(rng, 8.0, 14.0)
        rot_set = _u(rng, 4.0, 8.0)
        dz_set = _u(rng, 0.005, 0.02)

        def bottom(a: float) -> Posture:
            return {"u": 0.1, "v": 0.0, "z": zq, "sag": sag_b + _u(rng, -1, 1), **noise(0.5)}

        def top(a: float) -> Posture:
            # The lifted leg's hip rises: left leg lifted -> left side up -> obliquity > 0.
            return {"u": 0.1, "v": 0.0, "z": zq + dz_set * a, "sag": -90.0,
                    "obl": side * obl_set * a, "rot": side * rot_set * a}

        half_kneel = {"u": 0.05, "z": 0.55, "sag": -25.0, "obl": 0.0, "rot": 0.0}
        kneel = {"u": 0.1, "z": zq, "sag": -5.0, "obl": 0.0, "rot": 0.0}
        return _SetSpec(exercise, [half_kneel, kneel, bottom(1.0)], [kneel, half_kneel, stand],
                        bottom, top, "quadruped",
                        (-4.0, 10.0) if posterior_set else (-12.0, 8.0), 0.2)

    if exercise == "glute_ham_raise":
        hk = _u(rng, 0.08, 0.14)
        thigh = _u(rng, 0.42, 0.48)
        phi_set = _u(rng, 62.0, 78.0)

        def top(a: float) -> Posture:
            return {"u": 0.2, "v": 0.0, "z": hk + thigh, "sag": 0.0, **noise(0.5)}

        def bottom(a: float) -> Posture:
            # A rigid plank pivoting about the knees: the hip moves on a circle of radius thigh.
            phi = np.radians(min(phi_set * a, 88.0))
            return {"u": 0.2 + thigh * np.sin(phi), "v": 0.0, "z": hk + thigh * np.cos(phi),
                    "sag": -np.degrees(phi), **noise(1.0)}

        half_kneel = {"u": 0.1, "z": 0.55, "sag": -25.0, "obl": 0.0, "rot": 0.0}
        return _SetSpec(exercise, [half_kneel, top(1.0)], [half_kneel, stand], bottom, top,
                        "upright", (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.3)

    if exercise in ("hip_hinge", "romanian_deadlift", "single_leg_rdl", "deadlift"):
        single = exercise == "single_leg_rdl"
        if exercise == "hip_hinge":
            theta_set = _u(rng, 50.0, 68.0)
        elif exercise == "deadlift":
            theta_set = _u(rng, 40.0, 60.0)
        else:
            theta_set = _u(rng, 55.0, 78.0) if single else _u(rng, 55.0, 75.0)
        back_set = _u(rng, 0.12, 0.20) if exercise == "deadlift" else _u(rng, 0.06, 0.16)
        dz_set = _u(rng, 0.28, 0.38) if exercise == "deadlift" else _u(rng, 0.03, 0.10)
        obl_set = side * _u(rng, 4.0, 9.0) if single else 0.0
        rot_set = side * _u(rng, 8.0, 18.0) if single else 0.0
        obl_stance = side * _u(rng, 0.0, 2.0) if single else 0.0

        def top(a: float) -> Posture:
            return {"u": 0.0, "v": 0.0, "z": h - 0.01, "sag": 0.0, "obl": obl_stance,
                    "rot": _u(rng, -1, 1)}

        def bottom(a: float) -> Posture:
            n = noise(1.0)
            return {"u": -back_set * a, "v": 0.0, "z": h - dz_set * a,
                    "sag": -min(theta_set * a, 89.0),
                    "obl": obl_set * a + n["obl"], "rot": rot_set * a + n["rot"]}

        pick = {"u": -0.15, "z": h - 0.30, "sag": -50.0, "obl": 0.0, "rot": 0.0}
        if exercise == "deadlift":
            return _SetSpec(exercise, [bottom(1.0)], [stand], bottom, top, "upright",
                            (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.5)
        return _SetSpec(exercise, [pick, top(1.0)], [pick, stand], bottom, top, "upright",
                        (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.5)

    if exercise == "bulgarian_split_squat":
        obl0 = side * _u(rng, 0.0, 2.0)
        rot0 = side * _u(rng, 4.0, 10.0)
        drop_set = _u(rng, 0.25, 0.40)
        lean_set = _u(rng, 10.0, 22.0)

        def top(a: float) -> Posture:
            return {"u": 0.45, "v": 0.0, "z": h - 0.05, "sag": 0.0, "obl": obl0, "rot": rot0}

        def bottom(a: float) -> Posture:
            return {"u": 0.45 + _u(rng, 0.0, 0.05), "v": 0.0, "z": h - 0.05 - drop_set * a,
                    "sag": -lean_set * a, "obl": obl0 + side * _u(rng, 1.0, 4.0),
                    "rot": rot0 + side * _u(rng, 1.0, 4.0)}

        step_in = {"u": 0.4, "z": h - 0.03, "sag": -5.0, "obl": side * 3.0, "rot": side * 8.0}
        step_out = {"u": 0.2, "z": h - 0.03, "sag": -8.0, "obl": -side * 4.0,
                    "rot": -side * 12.0}
        return _SetSpec(exercise, [step_in, top(1.0)], [step_out, stand], bottom, top,
                        "upright", (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.5)

    if exercise == "squat":
        drop_set = _u(rng, 0.35, 0.50)
        lean_set = _u(rng, 15.0, 30.0)
        back_set = _u(rng, 0.08, 0.15)

        def top(a: float) -> Posture:
            return {"u": -0.6, "v": 0.0, "z": h - 0.01, "sag": 0.0, **noise(0.5)}

        def bottom(a: float) -> Posture:
            return {"u": -0.6 - back_set * a, "v": 0.0, "z": h - 0.01 - drop_set * a,
                    "sag": -lean_set * a, **noise(1.5)}

        unrack = {"u": 0.0, "z": h - 0.12, "sag": -15.0, "obl": 0.0, "rot": 0.0}
        rerack = {"u": 0.0, "z": h - 0.08, "sag": -12.0, "obl": 0.0, "rot": 0.0}
        return _SetSpec(exercise, [unrack, {**stand, "z": h - 0.01}, top(1.0)], [rerack, stand],
                        bottom, top, "upright", (-3.0, 8.0) if posterior_set else (-8.0, 8.0),
                        0.5)

    raise InputError(f"unknown exercise {exercise!r} (expected one of {', '.join(EXERCISES)})")


# --------------------------------------------------------------------------------------------
# Session planner


@dataclass
class _Rep:
    set: int
    rep: int
    exercise: str
    rest_at_bottom: bool
    conc: tuple[float, float]
    ecc: tuple[float, float]
    tilt_deg: float
    last: bool
    next_move: tuple[float, float] | None = None
    """Window of the movement after the final hold (rest-at-top, last rep)."""
    expected: str = "upright"


@dataclass
class _GaitBout:
    t0: float
    t1: float
    ramp_s: float
    phase0: float
    step_hz: float
    scale: float
    cruise: bool


@dataclass
class _Planner:
    rng: np.random.Generator
    height_m: float
    track: Track = field(init=False)
    t: float = 0.0
    gait: list[_GaitBout] = field(default_factory=list)
    reps: list[_Rep] = field(default_factory=list)
    amp: GaitAmplitudes = field(init=False)

    def __post_init__(self) -> None:
        init = dict.fromkeys(CHANNELS, 0.0)
        init["z"] = self.height_m
        init["sway"] = 1.0
        self.track = Track(init)
        r = self.rng
        self.amp = GaitAmplitudes(
            vertical_m=_u(r, 0.010, 0.020), obliquity_deg=_u(r, 3.0, 5.0),
            rotation_deg=_u(r, 4.0, 6.0), sagittal_deg=_u(r, 1.0, 2.0),
            lateral_m=_u(r, 0.015, 0.03),
        )
        self.step_hz = _u(r, 1.7, 1.95)

    # -- primitives --
    def move(self, dur: float, target: Posture, skew: float = 0.0) -> tuple[float, float]:
        t0 = self.t
        self.track.move_to(t0, t0 + dur, target, skew)
        self.t = t0 + dur
        return t0, self.t

    def hold(self, dur: float) -> None:
        self.t += max(dur, 0.0)

    def sway_gain(self, gain: float, dur: float = 1.0) -> None:
        self.track.move_to(self.t, self.t + dur, {"sway": gain})

    def turn(self, dpsi_deg: float) -> None:
        dur = 0.9 + abs(dpsi_deg) / 110.0
        self.track.add("psi", self.t, self.t + dur, dpsi_deg)
        self._gait(self.t, self.t + dur, 0.5, cruise=False)
        self.t += dur

    def walk(self, distance_m: float) -> None:
        speed = _u(self.rng, 1.1, 1.4)
        dur = distance_m / speed + 0.9
        ramp = min(0.9, dur / 2)
        psi = np.radians(self.track.value("psi"))
        for ch, d in (("bx", np.cos(psi)), ("by", np.sin(psi))):
            self.track.add(ch, self.t, self.t + dur, distance_m * d, "cruise", ramp / dur)
        self._gait(self.t, self.t + dur, 1.0, cruise=True, ramp_s=ramp)
        self.t += dur

    def _gait(self, t0: float, t1: float, scale: float, cruise: bool, ramp_s: float = 0.4):
        self.gait.append(_GaitBout(t0, t1, ramp_s, _u(self.rng, 0, 2 * np.pi),
                                   self.step_hz * _u(self.rng, 0.95, 1.05), scale, cruise))

    def fidget(self) -> None:
        r = self.rng
        ch = str(r.choice(["sag", "obl", "rot"]))
        amp = float(r.choice([-1.0, 1.0])) * _u(r, 2.0, 8.0)
        base = self.track.value(ch)
        self.move(_u(r, 0.5, 1.2), {ch: base + amp})
        self.hold(_u(r, 0.2, 1.5))
        self.move(_u(r, 0.5, 1.2), {ch: base})

    def weight_shift(self) -> None:
        r = self.rng
        s = float(r.choice([-1.0, 1.0]))
        base = {k: self.track.value(k) for k in ("obl", "v", "z")}
        self.move(_u(r, 0.6, 1.2), {"obl": base["obl"] + s * _u(r, 2.0, 5.0),
                                    "v": base["v"] + s * _u(r, 0.02, 0.04),
                                    "z": base["z"] - _u(r, 0.0, 0.01)})
        self.hold(_u(r, 1.5, 5.0))
        self.move(_u(r, 0.6, 1.2), base)

    # -- session parts --
    def rest(self, duration_s: float, walking: bool) -> None:
        """Fill ``duration_s`` with standing, fidgets, weight shifts and (optionally) walks."""
        r = self.rng
        end = self.t + duration_s
        while end - self.t > 3.0:
            remaining = end - self.t
            x = r.random()
            if walking and x < 0.35 and remaining > 5.0:
                self.turn(float(r.choice([-1.0, 1.0])) * _u(r, 30.0, 180.0))
                self.walk(min(_u(r, 2.0, 8.0), max(1.0, (end - self.t - 1.0) * 1.2)))
            elif x < 0.55:
                self.fidget()
            elif x < 0.7 and remaining > 6.0:
                self.weight_shift()
            else:
                self.hold(min(_u(r, 1.0, 4.0), remaining))
        self.hold(max(0.5, end - self.t))

    def run_set(self, set_no: int, spec: _SetSpec, n_reps: int) -> None:
        r = self.rng
        for posture in spec.setup:
            self.move(_u(r, 1.0, 2.0), posture)
        self.sway_gain(spec.sway_gain)
        self.hold(_u(r, 1.0, 3.0))
        rest_bottom = spec.exercise in REST_AT_BOTTOM
        (c_lo, c_hi), (e_lo, e_hi) = TEMPO_S[spec.exercise]
        conc_base, ecc_base = _u(r, c_lo, c_hi), _u(r, e_lo, e_hi)
        hold_base = _u(r, 0.0, 2.0) if rest_bottom else _u(r, 0.2, 1.5)
        pause_base = _u(r, 0.3, 1.5) if rest_bottom else _u(r, 0.0, 0.5)

        def jit(base: float, lo: float, hi: float) -> float:
            return float(np.clip(base * _u(r, 0.8, 1.25) + _u(r, -0.1, 0.1), lo, hi))

        def skew() -> float:
            return _u(r, -0.4, 0.4)

        def tilt_for(top: Posture, bottom: Posture) -> float:
            tilt = _u(r, *spec.tilt_range_deg)
            other = np.hypot(top["obl"] - bottom["obl"], top["rot"] - bottom["rot"])
            need = np.sqrt(max(0.0, MIN_EXCURSION_DEG**2 - other**2))
            if spec.exercise != "quadruped_hip_extension":
                need = max(need, MIN_SAGITTAL_EXCURSION_DEG)
            return float(max(tilt, bottom["sag"] + need - top["sag"]))

        current = {k: self.track.value(k) for k in ("u", "v", "z", "sag", "obl", "rot")}
        for i in range(n_reps):
            a = _u(r, 0.87, 1.13)
            last = i == n_reps - 1
            conc_s, ecc_s = jit(conc_base, 0.6, 2.5), jit(ecc_base, 0.6, 2.5)
            if rest_bottom:
                top = spec.top(a)
                nxt_bottom = spec.bottom(a)
                tilt = tilt_for(top, current)
                conc = self.move(conc_s, {**top, "sag": top["sag"] + tilt}, skew())
                self.hold(jit(hold_base, 0.0, 3.0))
                ecc = self.move(ecc_s, nxt_bottom, skew())
                self.hold(jit(pause_base, 0.3, 2.0) if not last else _u(r, 0.5, 2.0))
                current = nxt_bottom
                self.reps.append(_Rep(set_no, i + 1, spec.exercise, True, conc, ecc, tilt, last,
                                      expected=spec.expected))
            else:
                bottom = spec.bottom(a)
                top = spec.top(a)
                tilt = tilt_for(top, bottom)
                ecc = self.move(ecc_s, bottom, skew())
                self.hold(jit(pause_base, 0.0, 1.0))
                conc = self.move(conc_s, {**top, "sag": top["sag"] + tilt}, skew())
                self.hold(jit(hold_base, 0.0, 3.0) if not last else _u(r, 1.0, 3.0))
                current = {**top, "sag": top["sag"] + tilt}
                self.reps.append(_Rep(set_no, i + 1, spec.exercise, False, conc, ecc, tilt, last,
                                      expected=spec.expected))
        self.sway_gain(1.0)
        for k, posture in enumerate(spec.exit):
            window = self.move(_u(r, 1.0, 2.0), posture)
            if k == 0 and not rest_bottom:
                self.reps[-1].next_move = window
            if k < len(spec.exit) - 1:
                self.hold(_u(r, 0.2, 1.0))


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
    reps: list[_Rep],
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
        if rp.expected == "bridge":
            rise = float(height_m[li] - height_m[start])
            beta = np.degrees(np.arcsin(np.clip(rise / trunk_length_m, -1.0, 1.0)))
            expected = 90.0 + beta
        else:
            expected = {"thrust": 90.0, "quadruped": -90.0, "upright": 0.0}[rp.expected]
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
    cols = ["set", "rep", "start_s", "end_s", "lockout_s", "concentric_s", "top_hold_s",
            "eccentric_s", "pelvis_angle_deg", "hip_travel_cm", "tilt_deg", "tilt_class",
            "exercise", "bottom_pause_s", "final_hold_s", "expected_deg", "scripted_tilt_deg"]
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
    height = 0.92 + _u(rng_motion, -0.03, 0.03)
    plan = _Planner(rng_motion, height)
    plan.hold(standing_s)
    for s in range(n_sets):
        if s > 0:
            plan.rest(_u(rng_motion, rest_lo, rest_hi), walking)
        elif walking:
            plan.walk(_u(rng_motion, 1.5, 4.0))
        # Face a new direction for every set: the analysis must not depend on heading.
        plan.turn(float(rng_motion.choice([-1.0, 1.0])) * _u(rng_motion, 20.0, 180.0))
        plan.hold(_u(rng_motion, 0.5, 1.5))
        spec = _set_spec(exercises[s], rng_motion, height, trunk_length_m)
        if tilt_range_deg is not None:
            spec.tilt_range_deg = (float(tilt_range_deg[0]), float(tilt_range_deg[1]))
        plan.run_set(s + 1, spec, reps[s])
    plan.hold(_u(rng_motion, 2.0, 4.0))
    if walking:
        plan.walk(_u(rng_motion, 1.0, 3.0))
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


def _add_gait(ch: dict[str, NDArray[np.float64]], t: NDArray[np.float64], plan: _Planner) -> None:
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
