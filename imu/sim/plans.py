"""The script of a simulated strength session (docs/simulation.md): per-exercise set kinematics
(:func:`set_spec`: postures, tempo, tilt ranges) and the :class:`Planner` that joins postures
into smooth moves on named channels, with rests, walks, turns, fidgets and weight shifts.

:mod:`imu.sim.strength` renders the planned channels into a pelvis pose and measures the truth.
Exercise facts (which exercises rest at the bottom) come from :mod:`imu.core.exercises`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES, REST_AT_BOTTOM
from imu.sim.motion import GaitAmplitudes, Track

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
class SetSpec:
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
    tilt_range_deg: tuple[float, float]
    sway_gain: float = 0.3
    side: float = 0.0
    """+1 or -1 as drawn (:func:`set_spec`): the left leg is the free / lifted / rear leg when
    +1 (single-leg bridge and RDL, split squat), the lifted leg in quadruped hip extension."""


def draw(rng: np.random.Generator, lo: float, hi: float) -> float:
    """One uniform draw in [lo, hi) as a float."""
    return float(rng.uniform(lo, hi))


def set_spec(
    exercise: str, rng: np.random.Generator, height_m: float, trunk_m: float,
    side: float | None = None,
) -> SetSpec:
    """Kinematics of one set (see docs/simulation.md for the numbers and their sources).

    ``side`` (+1 / -1, see :attr:`SetSpec.side`) forces the side of unilateral work; the random
    draw happens anyway, so the other draws do not depend on it."""
    forced_side = side
    h = height_m
    stand: Posture = {"u": 0.0, "v": 0.0, "z": h, "sag": 0.0, "obl": 0.0, "rot": 0.0}
    side = float(rng.choice([-1.0, 1.0]))  # +1: the left leg is the working/lifted/free leg
    if forced_side is not None:
        side = float(np.sign(forced_side))
    posterior_set = rng.random() < 0.3
    squat_down = {"u": -0.05, "z": 0.55, "sag": -25.0, "obl": 0.0, "rot": 0.0}

    def noise(scale: float = 1.0) -> Posture:
        return {"obl": draw(rng, -scale, scale), "rot": draw(rng, -scale, scale)}

    if exercise in ("glute_bridge", "single_leg_bridge"):
        single = exercise == "single_leg_bridge"
        zb = draw(rng, 0.10, 0.12)
        sag_b = 90.0 + draw(rng, -4.0, 2.0)
        ub = -draw(rng, 0.35, 0.45)
        beta_set = draw(rng, 12.0, 22.0) if single else draw(rng, 18.0, 30.0)
        obl_top = -side * draw(rng, 3.0, 8.0) if single else 0.0
        rot_top = side * draw(rng, 2.0, 6.0) if single else 0.0
        obl_bot = -side * draw(rng, 0.0, 2.0) if single else 0.0

        def bottom(a: float) -> Posture:
            n = noise(0.5)
            return {"u": ub, "v": 0.0, "z": zb, "sag": sag_b + draw(rng, -1, 1),
                    "obl": obl_bot + n["obl"], "rot": n["rot"]}

        def top(a: float) -> Posture:
            beta = min(beta_set * a, 60.0)
            rise = trunk_m * np.sin(np.radians(beta))
            n = noise(1.0)
            return {"u": ub - trunk_m * (1 - np.cos(np.radians(beta))), "v": 0.0,
                    "z": zb + rise, "sag": 90.0 + beta,
                    "obl": obl_top * a + n["obl"], "rot": rot_top * a + n["rot"]}

        sit = {"u": -0.25, "z": 0.13, "sag": 25.0, "obl": 0.0, "rot": 0.0}
        return SetSpec(exercise, [squat_down, sit, bottom(1.0)], [sit, squat_down, stand],
                       bottom, top, (-4.0, 12.0) if posterior_set else (-12.0, 12.0), 0.2,
                       side=side)

    if exercise == "hip_thrust":
        zt = draw(rng, 0.42, 0.48)
        drop_set = draw(rng, 0.22, 0.30)
        extra = draw(rng, 8.0, 16.0)
        ut = -0.25

        def top(a: float) -> Posture:
            return {"u": ut, "v": 0.0, "z": zt, "sag": 90.0, **noise(1.0)}

        def bottom(a: float) -> Posture:
            d = min(drop_set * a, 0.8 * trunk_m)
            alpha = np.degrees(np.arcsin(d / trunk_m))
            return {"u": ut - trunk_m * (1 - np.cos(np.radians(alpha))), "v": 0.0,
                    "z": zt - d, "sag": 90.0 - alpha - extra, **noise(0.5)}

        sit = {"u": -0.35, "z": 0.14, "sag": 20.0, "obl": 0.0, "rot": 0.0}
        return SetSpec(exercise, [squat_down, sit, bottom(1.0)], [sit, squat_down, stand],
                       bottom, top, (-4.0, 12.0) if posterior_set else (-12.0, 12.0), 0.3,
                       side=side)

    if exercise == "quadruped_hip_extension":
        zq = draw(rng, 0.65, 0.72)
        sag_b = -90.0 + draw(rng, -3.0, 3.0)
        obl_set = draw(rng, 8.0, 14.0)
        rot_set = draw(rng, 4.0, 8.0)
        dz_set = draw(rng, 0.005, 0.02)

        def bottom(a: float) -> Posture:
            return {"u": 0.1, "v": 0.0, "z": zq, "sag": sag_b + draw(rng, -1, 1), **noise(0.5)}

        def top(a: float) -> Posture:
            # The lifted leg's hip rises: left leg lifted -> left side up -> obliquity > 0.
            return {"u": 0.1, "v": 0.0, "z": zq + dz_set * a, "sag": -90.0,
                    "obl": side * obl_set * a, "rot": side * rot_set * a}

        half_kneel = {"u": 0.05, "z": 0.55, "sag": -25.0, "obl": 0.0, "rot": 0.0}
        kneel = {"u": 0.1, "z": zq, "sag": -5.0, "obl": 0.0, "rot": 0.0}
        return SetSpec(exercise, [half_kneel, kneel, bottom(1.0)], [kneel, half_kneel, stand],
                       bottom, top, (-4.0, 10.0) if posterior_set else (-12.0, 8.0), 0.2,
                       side=side)

    if exercise == "glute_ham_raise":
        hk = draw(rng, 0.08, 0.14)
        thigh = draw(rng, 0.42, 0.48)
        phi_set = draw(rng, 62.0, 78.0)

        def top(a: float) -> Posture:
            return {"u": 0.2, "v": 0.0, "z": hk + thigh, "sag": 0.0, **noise(0.5)}

        def bottom(a: float) -> Posture:
            # A rigid plank pivoting about the knees: the hip moves on a circle of radius thigh.
            phi = np.radians(min(phi_set * a, 88.0))
            return {"u": 0.2 + thigh * np.sin(phi), "v": 0.0, "z": hk + thigh * np.cos(phi),
                    "sag": -np.degrees(phi), **noise(1.0)}

        half_kneel = {"u": 0.1, "z": 0.55, "sag": -25.0, "obl": 0.0, "rot": 0.0}
        return SetSpec(exercise, [half_kneel, top(1.0)], [half_kneel, stand], bottom, top,
                       (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.3,
                       side=side)

    if exercise in ("hip_hinge", "romanian_deadlift", "single_leg_rdl", "deadlift"):
        single = exercise == "single_leg_rdl"
        if exercise == "hip_hinge":
            theta_set = draw(rng, 50.0, 68.0)
        elif exercise == "deadlift":
            theta_set = draw(rng, 40.0, 60.0)
        else:
            theta_set = draw(rng, 55.0, 78.0) if single else draw(rng, 55.0, 75.0)
        back_set = draw(rng, 0.12, 0.20) if exercise == "deadlift" else draw(rng, 0.06, 0.16)
        dz_set = draw(rng, 0.28, 0.38) if exercise == "deadlift" else draw(rng, 0.03, 0.10)
        obl_set = side * draw(rng, 4.0, 9.0) if single else 0.0
        rot_set = side * draw(rng, 8.0, 18.0) if single else 0.0
        obl_stance = side * draw(rng, 0.0, 2.0) if single else 0.0

        def top(a: float) -> Posture:
            return {"u": 0.0, "v": 0.0, "z": h - 0.01, "sag": 0.0, "obl": obl_stance,
                    "rot": draw(rng, -1, 1)}

        def bottom(a: float) -> Posture:
            n = noise(1.0)
            return {"u": -back_set * a, "v": 0.0, "z": h - dz_set * a,
                    "sag": -min(theta_set * a, 89.0),
                    "obl": obl_set * a + n["obl"], "rot": rot_set * a + n["rot"]}

        pick = {"u": -0.15, "z": h - 0.30, "sag": -50.0, "obl": 0.0, "rot": 0.0}
        if exercise == "deadlift":
            return SetSpec(exercise, [bottom(1.0)], [stand], bottom, top,
                           (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.5,
                       side=side)
        return SetSpec(exercise, [pick, top(1.0)], [pick, stand], bottom, top,
                       (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.5,
                       side=side)

    if exercise == "bulgarian_split_squat":
        obl0 = side * draw(rng, 0.0, 2.0)
        rot0 = side * draw(rng, 4.0, 10.0)
        drop_set = draw(rng, 0.25, 0.40)
        lean_set = draw(rng, 10.0, 22.0)

        def top(a: float) -> Posture:
            return {"u": 0.45, "v": 0.0, "z": h - 0.05, "sag": 0.0, "obl": obl0, "rot": rot0}

        def bottom(a: float) -> Posture:
            return {"u": 0.45 + draw(rng, 0.0, 0.05), "v": 0.0, "z": h - 0.05 - drop_set * a,
                    "sag": -lean_set * a, "obl": obl0 + side * draw(rng, 1.0, 4.0),
                    "rot": rot0 + side * draw(rng, 1.0, 4.0)}

        step_in = {"u": 0.4, "z": h - 0.03, "sag": -5.0, "obl": side * 3.0, "rot": side * 8.0}
        step_out = {"u": 0.2, "z": h - 0.03, "sag": -8.0, "obl": -side * 4.0,
                    "rot": -side * 12.0}
        return SetSpec(exercise, [step_in, top(1.0)], [step_out, stand], bottom, top,
                       (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.5,
                       side=side)

    if exercise == "squat":
        drop_set = draw(rng, 0.35, 0.50)
        lean_set = draw(rng, 15.0, 30.0)
        back_set = draw(rng, 0.08, 0.15)

        def top(a: float) -> Posture:
            return {"u": -0.6, "v": 0.0, "z": h - 0.01, "sag": 0.0, **noise(0.5)}

        def bottom(a: float) -> Posture:
            return {"u": -0.6 - back_set * a, "v": 0.0, "z": h - 0.01 - drop_set * a,
                    "sag": -lean_set * a, **noise(1.5)}

        unrack = {"u": 0.0, "z": h - 0.12, "sag": -15.0, "obl": 0.0, "rot": 0.0}
        rerack = {"u": 0.0, "z": h - 0.08, "sag": -12.0, "obl": 0.0, "rot": 0.0}
        return SetSpec(exercise, [unrack, {**stand, "z": h - 0.01}, top(1.0)], [rerack, stand],
                       bottom, top, (-3.0, 8.0) if posterior_set else (-8.0, 8.0), 0.5,
                       side=side)

    raise InputError(f"unknown exercise {exercise!r} (expected one of {', '.join(EXERCISES)})")


# --------------------------------------------------------------------------------------------
# Session planner


@dataclass
class ScriptedRep:
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
    form_break: bool = False
    """The rep where form broke and the set stopped (workouts)."""


@dataclass
class GaitBout:
    t0: float
    t1: float
    ramp_s: float
    phase0: float
    step_hz: float
    scale: float
    cruise: bool


@dataclass
class Planner:
    rng: np.random.Generator
    height_m: float
    track: Track = field(init=False)
    t: float = 0.0
    gait: list[GaitBout] = field(default_factory=list)
    reps: list[ScriptedRep] = field(default_factory=list)
    amp: GaitAmplitudes = field(init=False)

    def __post_init__(self) -> None:
        init = dict.fromkeys(CHANNELS, 0.0)
        init["z"] = self.height_m
        init["sway"] = 1.0
        self.track = Track(init)
        r = self.rng
        self.amp = GaitAmplitudes(
            vertical_m=draw(r, 0.010, 0.020), obliquity_deg=draw(r, 3.0, 5.0),
            rotation_deg=draw(r, 4.0, 6.0), sagittal_deg=draw(r, 1.0, 2.0),
            lateral_m=draw(r, 0.015, 0.03),
        )
        self.step_hz = draw(r, 1.7, 1.95)

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
        speed = draw(self.rng, 1.1, 1.4)
        dur = distance_m / speed + 0.9
        ramp = min(0.9, dur / 2)
        psi = np.radians(self.track.value("psi"))
        for ch, d in (("bx", np.cos(psi)), ("by", np.sin(psi))):
            self.track.add(ch, self.t, self.t + dur, distance_m * d, "cruise", ramp / dur)
        self._gait(self.t, self.t + dur, 1.0, cruise=True, ramp_s=ramp)
        self.t += dur

    def _gait(self, t0: float, t1: float, scale: float, cruise: bool, ramp_s: float = 0.4):
        self.gait.append(GaitBout(t0, t1, ramp_s, draw(self.rng, 0, 2 * np.pi),
                                   self.step_hz * draw(self.rng, 0.95, 1.05), scale, cruise))

    def fidget(self) -> None:
        r = self.rng
        ch = str(r.choice(["sag", "obl", "rot"]))
        amp = float(r.choice([-1.0, 1.0])) * draw(r, 2.0, 8.0)
        base = self.track.value(ch)
        self.move(draw(r, 0.5, 1.2), {ch: base + amp})
        self.hold(draw(r, 0.2, 1.5))
        self.move(draw(r, 0.5, 1.2), {ch: base})

    def weight_shift(self) -> None:
        r = self.rng
        s = float(r.choice([-1.0, 1.0]))
        base = {k: self.track.value(k) for k in ("obl", "v", "z")}
        self.move(draw(r, 0.6, 1.2), {"obl": base["obl"] + s * draw(r, 2.0, 5.0),
                                    "v": base["v"] + s * draw(r, 0.02, 0.04),
                                    "z": base["z"] - draw(r, 0.0, 0.01)})
        self.hold(draw(r, 1.5, 5.0))
        self.move(draw(r, 0.6, 1.2), base)

    # -- session parts --
    def rest(self, duration_s: float, walking: bool) -> None:
        """Fill ``duration_s`` with standing, fidgets, weight shifts and (optionally) walks."""
        r = self.rng
        end = self.t + duration_s
        while end - self.t > 3.0:
            remaining = end - self.t
            x = r.random()
            if walking and x < 0.35 and remaining > 5.0:
                self.turn(float(r.choice([-1.0, 1.0])) * draw(r, 30.0, 180.0))
                self.walk(min(draw(r, 2.0, 8.0), max(1.0, (end - self.t - 1.0) * 1.2)))
            elif x < 0.55:
                self.fidget()
            elif x < 0.7 and remaining > 6.0:
                self.weight_shift()
            else:
                self.hold(min(draw(r, 1.0, 4.0), remaining))
        self.hold(max(0.5, end - self.t))

    def run_set(self, set_no: int, spec: SetSpec, n_reps: int, setup: bool = True,
                exit: bool = True, fatigue_per_rep: float = 0.0,
                form_break_last: bool = False) -> None:
        """The set: the way into the start posture, the reps, the way out to standing.

        ``setup=False``: already in the exercise's posture (the other side of a floor exercise):
        only a short repositioning into the new start posture. ``exit=False`` (rest-at-bottom
        exercises only): stay down after the last rep. ``fatigue_per_rep``: the concentric phase
        slows by this fraction per rep (velocity loss within a set, Sanchez-Medina &
        Gonzalez-Badillo 2011). ``form_break_last``: the last rep is the one where form broke
        and the set stopped: its concentric 30-70 % slower, its lockout tilt 4-8 deg lower."""
        r = self.rng
        if setup:
            for posture in spec.setup:
                self.move(draw(r, 1.0, 2.0), posture)
        else:
            self.move(draw(r, 1.0, 2.0), spec.setup[-1])
        self.sway_gain(spec.sway_gain)
        self.hold(draw(r, 1.0, 3.0))
        rest_bottom = spec.exercise in REST_AT_BOTTOM
        (c_lo, c_hi), (e_lo, e_hi) = TEMPO_S[spec.exercise]
        conc_base, ecc_base = draw(r, c_lo, c_hi), draw(r, e_lo, e_hi)
        hold_base = draw(r, 0.0, 2.0) if rest_bottom else draw(r, 0.2, 1.5)
        pause_base = draw(r, 0.3, 1.5) if rest_bottom else draw(r, 0.0, 0.5)

        def jit(base: float, lo: float, hi: float) -> float:
            return float(np.clip(base * draw(r, 0.8, 1.25) + draw(r, -0.1, 0.1), lo, hi))

        def skew() -> float:
            return draw(r, -0.4, 0.4)

        def tilt_for(top: Posture, bottom: Posture, drop: float = 0.0) -> float:
            tilt = draw(r, *spec.tilt_range_deg) - drop
            other = np.hypot(top["obl"] - bottom["obl"], top["rot"] - bottom["rot"])
            need = np.sqrt(max(0.0, MIN_EXCURSION_DEG**2 - other**2))
            if spec.exercise != "quadruped_hip_extension":
                need = max(need, MIN_SAGITTAL_EXCURSION_DEG)
            return float(max(tilt, bottom["sag"] + need - top["sag"]))

        current = {k: self.track.value(k) for k in ("u", "v", "z", "sag", "obl", "rot")}
        for i in range(n_reps):
            a = draw(r, 0.87, 1.13)
            last = i == n_reps - 1
            conc_s, ecc_s = jit(conc_base, 0.6, 2.5), jit(ecc_base, 0.6, 2.5)
            drop = 0.0
            if fatigue_per_rep:
                conc_s = min(conc_s * (1.0 + fatigue_per_rep * i), 3.0)
            broke = form_break_last and last
            if broke:
                conc_s = min(conc_s * draw(r, 1.3, 1.7), 3.5)
                drop = draw(r, 4.0, 8.0)
            if rest_bottom:
                top = spec.top(a)
                nxt_bottom = spec.bottom(a)
                tilt = tilt_for(top, current, drop)
                conc = self.move(conc_s, {**top, "sag": top["sag"] + tilt}, skew())
                self.hold(jit(hold_base, 0.0, 3.0))
                ecc = self.move(ecc_s, nxt_bottom, skew())
                self.hold(jit(pause_base, 0.3, 2.0) if not last else draw(r, 0.5, 2.0))
                current = nxt_bottom
                self.reps.append(
                    ScriptedRep(set_no, i + 1, spec.exercise, True, conc, ecc, tilt, last,
                                form_break=broke)
                )
            else:
                bottom = spec.bottom(a)
                top = spec.top(a)
                tilt = tilt_for(top, bottom, drop)
                ecc = self.move(ecc_s, bottom, skew())
                self.hold(jit(pause_base, 0.0, 1.0))
                conc = self.move(conc_s, {**top, "sag": top["sag"] + tilt}, skew())
                self.hold(jit(hold_base, 0.0, 3.0) if not last else draw(r, 1.0, 3.0))
                current = {**top, "sag": top["sag"] + tilt}
                self.reps.append(
                    ScriptedRep(set_no, i + 1, spec.exercise, False, conc, ecc, tilt, last,
                                form_break=broke)
                )
        if not exit:
            if spec.exercise not in REST_AT_BOTTOM:
                raise ValueError("exit=False only for exercises that rest at the bottom")
            return
        self.sway_gain(1.0)
        for k, posture in enumerate(spec.exit):
            window = self.move(draw(r, 1.0, 2.0), posture)
            if k == 0 and not rest_bottom:
                self.reps[-1].next_move = window
            if k < len(spec.exit) - 1:
                self.hold(draw(r, 0.2, 1.0))
