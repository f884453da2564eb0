"""The script of a simulated workout (docs/simulation.md, "Workouts"): the program (which
exercises, sets, sides and reps, in what order), the opening, the warm-up jog, the rests between
sets (standing, fidgeting, walking, sitting, checking the phone, re-seating the clip) and the
cool-down, on the strength :class:`imu.sim.plans.Planner` with stepped walking and running
(:mod:`imu.sim.gait`).

:func:`draw_scenario` draws a realistic scenario from the seed (every part can be forced by an
option); :class:`WorkoutPlanner` turns it into channel segments, gait bouts, quiet-standing
intervals and re-seat windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES, REGISTRY, REST_AT_BOTTOM
from imu.sim.gait import Bout, BoutBuilder, GaitStyle
from imu.sim.plans import Planner, draw, set_spec

STARTS = ("quiet", "short", "walk")
"""Openings: quiet standing >= 3 s, a short stand < 2.5 s, or already walking."""
REST_ACTIVITIES = ("stand", "fidget", "walk", "sit", "phone")
PRESETS = ("hour_all_exercises",)
FLOOR_SIDES = ("single_leg_bridge", "quadruped_hip_extension")
"""Unilateral floor exercises: the second side follows without getting up."""


@dataclass
class SetPlan:
    exercise: str
    reps: int
    side: str = ""
    """The working leg of unilateral work ('L' | 'R', docs/simulation.md), else ''."""
    rest_before_s: float = 0.0
    kind: str = "new"
    """How it follows the previous set: 'new' exercise (walk to the station), 'same' exercise
    (a rest), 'side' (the other side, a short pause), 'first'."""
    form_break: bool = False
    """A short set that stopped because form broke on its last rep."""
    fatigue_per_rep: float = 0.0


@dataclass
class Scenario:
    """Everything random about a workout, drawn once (:func:`draw_scenario`)."""

    start: str
    standing_s: float
    jog_s: float
    jog_restarts: int
    sets: list[SetPlan]
    reseat_before: list[int]
    """Indices of the sets before which (in the rest) the clip is re-seated."""
    reseat_hand_s: list[float]
    cooldown_s: float
    rest_activities: tuple[str, ...]
    trunk_length_m: float
    height_m: float
    short_set_rate: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)


def _unknown(ex: str) -> str:
    return f"unknown exercise {ex!r} (expected one of {', '.join(EXERCISES)})"


def _reps(rng: np.random.Generator, exercise: str, short_rate: float) -> int:
    if rng.random() < short_rate:
        return -int(rng.integers(1, 4))  # the set stops when form breaks (negative: marks it)
    if REGISTRY[exercise].unilateral:
        return 4 if rng.random() < 0.5 else int(rng.integers(5, 13))
    return int(rng.integers(5, 16))


def _program(rng: np.random.Generator, exercises: Sequence[str], short_rate: float,
             rounds: dict[str, int] | None = None) -> list[SetPlan]:
    """Sets exercise by exercise in the given order; unilateral work per side (the person's
    usual first side), floor exercises' second side straight after the first."""
    first_side = str(rng.choice(["L", "R"]))
    other = {"L": "R", "R": "L"}
    out: list[SetPlan] = []
    for ex in exercises:
        uni = REGISTRY[ex].unilateral
        n = rounds[ex] if rounds else int(rng.choice([1, 2, 2, 3] if uni else [2, 2, 3, 3, 4]))
        for i in range(n):
            kind = "new" if i == 0 else "same"
            if uni:
                s1 = first_side if rng.random() < 0.85 else other[first_side]
                out.append(SetPlan(ex, _reps(rng, ex, short_rate), s1, kind=kind))
                out.append(SetPlan(ex, _reps(rng, ex, short_rate), other[s1], kind="side"))
            else:
                out.append(SetPlan(ex, _reps(rng, ex, short_rate), kind=kind))
    out[0].kind = "first"
    for sp in out:
        if sp.reps < 0:
            sp.reps, sp.form_break = -sp.reps, bool(rng.random() < 0.8)
    return out


def _rest_s(rng: np.random.Generator, kind: str, rest_s: tuple[float, float] | None) -> float:
    if kind == "first":
        return 0.0
    if kind == "side":
        return draw(rng, 5.0, 25.0) if rest_s is None else draw(rng, *rest_s) * 0.3
    if rest_s is not None:
        return draw(rng, *rest_s)
    # 30 s - 3 min between sets (de Salles et al. 2009); longer between exercises
    return draw(rng, 30.0, 120.0) if kind == "same" else draw(rng, 60.0, 180.0)


def draw_scenario(rng: np.random.Generator, *, start: str | None = None,
                  standing_s: float | None = None, warmup_jog_s: float | None = None,
                  jog_restarts: int | None = None, program: Sequence[Sequence[Any]] | None = None,
                  exercises: Sequence[str] | None = None, rest_s: tuple[float, float] | None = None,
                  rest_activities: Sequence[str] | None = None, reseats: int | None = None,
                  reseat_hand_s: tuple[float, float] = (3.0, 20.0),
                  cooldown_walk_s: float | None = None, short_set_rate: float | None = None,
                  trunk_length_m: float | None = None, preset: str | None = None) -> Scenario:
    """A workout scenario; every ``None`` is drawn from ``rng`` (realistic mix)."""
    u = rng.uniform
    if preset is not None and preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r} (expected one of {', '.join(PRESETS)})")
    hour = preset == "hour_all_exercises"
    if start is None:
        start = "quiet" if hour else str(rng.choice(STARTS, p=[0.5, 0.25, 0.25]))
    if start not in STARTS:
        raise InputError(f"unknown start {start!r} (expected one of {', '.join(STARTS)})")
    if standing_s is None:
        standing_s = {"quiet": u(3.0, 8.0), "short": u(0.8, 2.4), "walk": 0.0}[start]
    elif standing_s < 0:
        raise InputError(f"standing_s must be >= 0 (got {standing_s})")
    if standing_s == 0.0:
        start = "walk"
    if warmup_jog_s is None:
        warmup_jog_s = 0.0 if (hour or rng.random() >= 0.3) else u(180.0, 600.0)
    if jog_restarts is None:
        jog_restarts = int(rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2])) if warmup_jog_s else 0
    if short_set_rate is None:
        short_set_rate = 0.05 if hour else 0.15
    if not 0.0 <= short_set_rate <= 1.0:
        raise InputError(f"short_set_rate must be within 0..1 (got {short_set_rate})")
    if program is not None:
        sets = []
        for item in program:
            ex, reps = str(item[0]), int(item[1])
            side = str(item[2]) if len(item) > 2 else ""
            if ex not in EXERCISES:
                raise InputError(_unknown(ex))
            if reps < 1 or side not in ("", "L", "R"):
                raise InputError(f"program items are (exercise, reps >= 1[, 'L'|'R']), got {item}")
            if REGISTRY[ex].unilateral and not side:
                side = str(rng.choice(["L", "R"]))
            prev = sets[-1] if sets else None
            kind = ("first" if prev is None else "side" if (prev.exercise == ex and prev.side
                    and side and side != prev.side) else "same" if prev.exercise == ex else "new")
            sets.append(SetPlan(ex, reps, side if REGISTRY[ex].unilateral else "", kind=kind,
                                form_break=reps <= 3))
        if not sets:
            raise InputError("program must hold at least one set")
    elif hour:
        order = [str(x) for x in rng.permutation(EXERCISES)]
        bil = [e for e in order if not REGISTRY[e].unilateral]
        uni = [e for e in order if REGISTRY[e].unilateral]
        rounds = dict.fromkeys(bil, 2) | dict.fromkeys(uni, 1)
        for e in list(rng.permutation(bil))[:2]:
            rounds[str(e)] = 3
        for e in list(rng.permutation(uni))[:2]:
            rounds[str(e)] = 2
        sets = _program(rng, order, short_set_rate, rounds)  # 16 + 12 = 28 sets
    else:
        pool = list(exercises) if exercises is not None else list(EXERCISES)
        for ex in pool:
            if ex not in EXERCISES:
                raise InputError(_unknown(ex))
        if exercises is None:
            k = int(rng.choice([3, 4, 4, 5, 5, 6]))
            pool = [str(x) for x in rng.permutation(pool)[:k]]
        sets = _program(rng, pool, short_set_rate)
    for s in sets:
        s.rest_before_s = _rest_s(rng, s.kind, rest_s)
        s.fatigue_per_rep = draw(rng, 0.0, 0.04)
    acts = tuple(rest_activities) if rest_activities is not None else (
        ("stand", "fidget", "walk", "phone") if hour else REST_ACTIVITIES)
    if not acts or set(acts) - set(REST_ACTIVITIES):
        raise InputError(f"rest_activities: a non-empty subset of {', '.join(REST_ACTIVITIES)}")
    n_reseats = reseats if reseats is not None else (
        0 if hour else int(rng.choice([0, 1, 2], p=[0.7, 0.25, 0.05])))
    if n_reseats < 0:
        raise InputError(f"reseats must be >= 0 (got {reseats})")
    candidates = [i for i, s in enumerate(sets) if s.kind in ("same", "new")]
    if reseats is None:
        n_reseats = min(n_reseats, len(candidates))
    if n_reseats > len(candidates):
        raise InputError(f"{n_reseats} re-seats need as many rests between sets "
                         f"(this program has {len(candidates)})")
    where = sorted(int(x) for x in rng.choice(candidates, n_reseats, replace=False)) if (
        n_reseats) else []
    lo, hi = reseat_hand_s
    if not 1.0 <= lo <= hi:
        raise InputError(f"reseat_hand_s must be a range (lo, hi) with 1 <= lo <= hi, got "
                         f"{reseat_hand_s}")
    hand = [draw(rng, lo, hi) for _ in where]
    if cooldown_walk_s is None:
        cooldown_walk_s = 0.0 if (hour or rng.random() >= 0.3) else u(60.0, 180.0)
    trunk = trunk_length_m if trunk_length_m is not None else u(0.44, 0.56)
    if not 0.2 <= trunk <= 1.0:
        raise InputError(f"trunk_length_m must be in 0.2..1.0 m (got {trunk})")
    for name, v in (("warmup_jog_s", warmup_jog_s), ("cooldown_walk_s", cooldown_walk_s)):
        if v < 0:
            raise InputError(f"{name} must be >= 0 (got {v})")
    return Scenario(start, float(standing_s), float(warmup_jog_s), int(jog_restarts), sets, where,
                    hand, float(cooldown_walk_s), acts, float(trunk), 0.92 + u(-0.03, 0.03),
                    float(short_set_rate))


# ---------------------------------------------------------------------------------------------


class WorkoutPlanner(Planner):
    """The strength planner plus stepped gait bouts, sitting, phone checks and re-seats; it
    records quiet neutral standing (``quiet``) and re-seat windows (``reseats``)."""

    def __init__(self, rng: np.random.Generator, height_m: float, style: GaitStyle,
                 rng_gait: np.random.Generator) -> None:
        super().__init__(rng, height_m)
        self.style = style
        self.rng_gait = rng_gait
        self.bouts: list[Bout] = []
        self.quiet: list[tuple[float, float]] = []
        self.reseats: list[tuple[float, float]] = []
        self.sits: list[tuple[float, float]] = []
        self.set_windows: list[tuple[float, float]] = []

    # -- standing --
    def quiet_stand(self, dur: float) -> None:
        """Quiet standing in a neutral posture (a calibration reference)."""
        self.quiet.append((self.t, self.t + dur))
        self.hold(dur)

    def stand_rest(self, dur: float, tilt_sd_deg: float = 0.7) -> None:
        """Standing still in a slightly different posture from the neutral one (nobody stands
        exactly the same twice): +-1 deg sagittal, +-0.5 deg obliquity."""
        r = self.rng
        off = {"sag": float(np.clip(r.normal(0.0, tilt_sd_deg), -1.5, 1.5)),
               "obl": draw(r, -0.5, 0.5)}
        base = {k: self.track.value(k) for k in off}
        self.move(draw(r, 0.6, 1.0), {k: base[k] + v for k, v in off.items()})
        self.quiet_stand(dur)
        self.move(draw(r, 0.6, 1.0), base)

    def phone(self, dur: float) -> None:
        """Standing still, head down over the phone (the pelvis barely moves, sways less)."""
        self.sway_gain(0.7)
        self.stand_rest(max(dur - 1.0, 1.0), tilt_sd_deg=1.0)
        self.sway_gain(1.0)

    def sit(self, dur: float) -> None:
        """Sit down on a bench or box, sit (pelvis tilted posteriorly), stand up.

        Sit-to-stand and back take ~1.5-2.5 s, the pelvis tipping forward (anteriorly) on the
        way (Schenkman et al. 1990); seated, the pelvis sits 0.40-0.48 m lower and 10-25 deg
        posterior of standing (Lord et al. 1997)."""
        r, h = self.rng, self.height_m
        t0 = self.t
        self.move(draw(r, 0.8, 1.2), {"u": -0.10, "z": h - 0.25, "sag": -draw(r, 15.0, 30.0)})
        seat = {"u": -draw(r, 0.15, 0.22), "z": h - draw(r, 0.40, 0.48),
                "sag": draw(r, 10.0, 25.0), "obl": draw(r, -2.0, 2.0), "rot": draw(r, -5.0, 5.0)}
        self.move(draw(r, 0.8, 1.3), seat)
        self.sway_gain(0.3)
        left = max(dur - 5.0, 2.0)  # seated time
        if left > 12.0 and r.random() < 0.5:  # lean forward, elbows on the knees, and back
            a, b = draw(r, 2.0, left / 3), draw(r, 2.0, left / 3)
            self.hold(a)
            m1 = self.move(draw(r, 0.8, 1.5), {"sag": seat["sag"] - draw(r, 8.0, 15.0)})
            self.hold(b)
            m2 = self.move(draw(r, 0.8, 1.5), {"sag": seat["sag"]})
            left = max(left - a - b - (m1[1] - m1[0]) - (m2[1] - m2[0]), 1.0)
        self.hold(left)
        self.sway_gain(1.0)
        self.move(draw(r, 0.8, 1.2), {"u": -0.10, "z": h - 0.30, "sag": -draw(r, 20.0, 35.0),
                                      "obl": 0.0, "rot": 0.0})
        self.move(draw(r, 0.8, 1.2), {"u": 0.0, "z": h, "sag": 0.0})
        self.sits.append((t0, self.t))

    # -- gait --
    def _turn_while(self, t0: float, t1: float, turn_deg: float) -> None:
        if turn_deg and t1 - t0 > 0.8:
            self.track.add("psi", t0 + 0.2, min(t1, t0 + 0.2 + max(0.8, abs(turn_deg) / 60.0)),
                           turn_deg)

    def walk_steps(self, n_steps: int, turn_deg: float = 0.0, moving: bool = False) -> Bout:
        """A walking bout of ``n_steps`` steps (+ the closing step), turning on the way."""
        b = BoutBuilder(self.style, self.rng_gait, self.t, moving=moving).walk(n_steps).finish()
        self._turn_while(max(b.t0, 0.0), b.contact[-1], turn_deg)
        self.bouts.append(b)
        self.t = b.t1
        return b

    def walk_for(self, seconds: float, turns: bool = True, moving: bool = False) -> Bout:
        """Walking for about ``seconds`` (cool-down), turning every 15-40 s."""
        n = max(3, int(round(seconds * self.style.walk_hz)))
        b = BoutBuilder(self.style, self.rng_gait, self.t, moving=moving).walk(n).finish()
        t = b.t0 + draw(self.rng, 3.0, 15.0)
        while turns and t < b.contact[-1] - 4.0:
            ang = float(self.rng.choice([-1.0, 1.0])) * draw(self.rng, 45.0, 180.0)
            self.track.add("psi", t, t + 1.5 + abs(ang) / 90.0, ang)
            t += draw(self.rng, 15.0, 40.0)
        self.bouts.append(b)
        self.t = b.t1
        return b

    def jog(self, seconds: float, restarts: int, moving: bool) -> None:
        """A warm-up jog: walk, run (restarting ``restarts`` times, after a walk or a stand),
        walk back; turns every 30-90 s while running."""
        r, s = self.rng, self.style
        spm = s.run_cadence_spm / 60.0
        parts = r.uniform(0.5, 1.5, restarts + 1)
        parts = seconds * parts / parts.sum()
        builder = BoutBuilder(s, self.rng_gait, self.t, moving=moving).walk(int(r.integers(6, 16)))
        for i, part in enumerate(parts):
            if i > 0 and r.random() < 0.5:  # stop, stand (waiting at a crossing), restart
                builder.walk(int(r.integers(3, 6)))
                b = builder.finish()
                self._jog_turns(b)
                self.bouts.append(b)
                self.t = b.t1
                self.quiet_stand(draw(r, 4.0, 20.0))
                builder = BoutBuilder(s, self.rng_gait, self.t)
            elif i > 0:
                builder.walk(int(r.integers(8, 30)))
            builder.run(max(4, int(part * spm)))
        builder.walk(int(r.integers(10, 30)))
        b = builder.finish()
        self._jog_turns(b)
        self.bouts.append(b)
        self.t = b.t1

    def _jog_turns(self, b: Bout) -> None:
        t = max(b.t0, 0.0) + draw(self.rng, 10.0, 40.0)
        while t < b.contact[-1] - 6.0:
            ang = float(self.rng.choice([-1.0, 1.0])) * draw(self.rng, 20.0, 120.0)
            self.track.add("psi", t, t + draw(self.rng, 2.0, 4.0), ang)
            t += draw(self.rng, 30.0, 90.0)

    # -- re-seat --
    def reseat(self, hand_s: float) -> None:
        """The clip comes off for ``hand_s`` and goes back on; the person stands meanwhile."""
        r = self.rng
        t0 = self.t
        self.hold(draw(r, 0.3, 1.0))
        if hand_s > 8.0 and r.random() < 0.5:
            self.weight_shift()
        self.t = max(self.t, t0 + hand_s)
        self.reseats.append((t0, t0 + hand_s))
        self.hold(draw(r, 0.5, 1.5))

    # -- rests --
    def rest_block(self, dur: float, activities: Sequence[str]) -> None:
        """Fill ``dur`` seconds with the allowed activities, in random order."""
        r = self.rng
        end = self.t + dur
        while end - self.t > 3.0:
            left = end - self.t
            act = str(r.choice(list(activities)))
            if act == "stand":
                self.stand_rest(min(draw(r, 2.0, 15.0), left - 2.0) if left > 4.5 else left - 2.0)
            elif act == "fidget":
                (self.weight_shift if (left > 8.0 and r.random() < 0.4) else self.fidget)()
            elif act == "walk" and left > 6.0:
                n = int(min(r.integers(3, 14), max(2.0, (left - 2.0) * self.style.walk_hz * 0.8)))
                self.walk_steps(n, float(r.choice([-1.0, 1.0])) * draw(r, 30.0, 180.0))
                self.hold(draw(r, 0.5, 2.0))
            elif act == "sit" and left > 12.0:
                self.sit(min(draw(r, 10.0, 60.0), left))
            elif act == "phone" and left > 8.0:
                self.phone(min(draw(r, 8.0, 40.0), left))
            else:
                self.hold(min(draw(r, 1.0, 3.0), left))
        self.hold(max(0.3, end - self.t))

    def run_program_set(self, no: int, sp: SetPlan, trunk_m: float, nxt: SetPlan | None) -> None:
        r = self.rng
        side = 0.0
        if sp.side:
            # set_spec's side +1: left leg free / lifted / rear; quadruped: left leg lifted
            working_left = sp.side == "L"
            lifted = sp.exercise == "quadruped_hip_extension"
            side = 1.0 if (working_left == lifted) else -1.0
        spec = set_spec(sp.exercise, r, self.height_m, trunk_m, side=side or None)
        setup = not (sp.kind == "side" and sp.exercise in FLOOR_SIDES)
        stay = (nxt is not None and nxt.kind == "side" and sp.exercise in FLOOR_SIDES
                and sp.exercise in REST_AT_BOTTOM)
        t0 = self.t
        self.run_set(no, spec, sp.reps, setup=setup, exit=not stay,
                     fatigue_per_rep=sp.fatigue_per_rep, form_break_last=sp.form_break)
        self.set_windows.append((t0, self.t))
