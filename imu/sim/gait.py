"""Walking and running steps for the simulators, step by step, with exact step truth.

A *bout* is stepping from rest to rest (or from the start of the recording): a list of steps,
each with its contact time, duration (to the next contact), stance time, side, gait (walk or
run), speed and per-step amplitudes. :class:`BoutBuilder` scripts a bout (gait initiation, walking,
run starts with a chosen lead foot and an optional half-step, walk-run and run-walk transitions,
the closing step); :func:`render_bout` turns it into additive pelvis offsets on the fine grid;
:func:`steps_truth` and :func:`starts_truth` give the contract's tables.

Physics, per step (phase ``u`` in [0, 1) from a C2 cubic spline through the contacts, as in
:mod:`imu.sim.running`):

* Walking (Perry & Burnfield 2010; Cavagna, Heglund & Taylor 1977, inverted pendulum): the
  pelvis centre is lowest shortly after contact (``walk_low_phase``) and highest at mid-stance;
  forward speed is out of phase with height (fastest when lowest). A heel-strike transient after
  each contact: an upward acceleration pulse ``sin^2`` over ``heel_strike_s`` peaking at
  ``heel_strike_g`` half-way (the sharp peak 20-50 ms after initial contact that lower-back
  accelerometers show, Zijlstra & Hof 2003), compensated smoothly over the rest of the step
  (:func:`heel_strike_shape`), with a braking pulse forward. Stance = step + double support
  (stance ~61 % of a stride).
* Running: the spring-mass vertical of :mod:`imu.sim.running` (half-sine force in stance plus
  impact transient, free fall in flight: ``_run_vertical``), braking then propulsion in stance,
  ballistic lateral motion in flight, speed changes only in stance.
* Both: contralateral pelvic drop as a per-step bump (peak at 30 % of the step), transverse
  rotation at the stride frequency, sagittal oscillation at the step frequency (plus a forward
  lean when running), lateral shift toward the stance leg.
* Transitions: the gait weight ``w`` (0 walk, 1 run) and every amplitude go from one contact's
  value to the next with a quintic smoothstep of the phase, so the motion stays C2. A step is
  purely running when it and its neighbours run; the walk-run blend happens inside the walking
  step next to the run (whose duration is set to the running step's, so the running recursion
  continues smoothly). From standing, an envelope rises over the push-off before the first
  contact (gait initiation, Breniere & Do 1986); at the end, the closing step (the trailing foot
  placed beside the other) carries the envelope back to 0.

References: Perry J, Burnfield JM (2010) Gait Analysis, 2nd ed. Cavagna GA, Heglund NC, Taylor
CR (1977) Am J Physiol 233:R243-R261. Zijlstra W, Hof AL (2003) Gait Posture 18:1-10.
Breniere Y, Do MC (1986) J Biomech 19:1035-1040. Cavagna GA et al. (1988) J Physiol 399:81-92.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline

from imu.sim.running import IMPACT_S, G, _bump, _impact_p2, _run_vertical, gct_for_speed_s
from imu.sim.running import smoothstep as ss

SIDES = ("L", "R")
PAD = 2
"""Virtual steps on each side of a bout (phase extension; never in the truth)."""


_M2 = -4.0 / (9.0 * np.pi**2)
"""First moment of ``sin^2(pi u) cos(pi u)`` over [0, 1]."""


def heel_strike_shape(tau: NDArray[np.float64], step_s: NDArray[np.float64],
                      ti: float) -> NDArray[np.float64]:
    """Vertical displacement (m per m/s^2 of peak) of a heel strike ``tau`` s after contact in a
    step of ``step_s``: acceleration ``sin^2(pi tau / ti)`` (the transient) minus a smooth
    compensation spread over the whole step, ``alpha sin^2(pi u) + beta sin^2(pi u) cos(pi u)``
    (u = tau / step_s), with alpha and beta such that velocity and displacement are back to 0 at
    the next contact: each step's transient is self-contained and the motion stays C2."""
    T = np.maximum(step_s, 1.5 * ti)
    x = np.clip(tau, 0.0, None)
    u = np.clip(x / T, 0.0, 1.0)
    alpha = ti / T
    beta = ti * (ti - T) / (4.0 * T * T * _M2)
    cu = np.cos(np.pi * u)
    z_q1 = T * T * (u * u / 4.0 + (np.cos(2.0 * np.pi * u) - 1.0) / (8.0 * np.pi**2))
    z_q2 = T * T * (2.0 / 3.0 - cu + cu**3 / 3.0) / (3.0 * np.pi**2)
    return np.where(x < T, _impact_p2(np.minimum(x, T), ti) - alpha * z_q1 - beta * z_q2, 0.0)


@dataclass
class GaitStyle:
    """One person's walking and running (drawn once per session by :meth:`draw`)."""

    walk_hz: float = 1.8
    """Walking step frequency (steps/s); 100-120 steps/min is typical indoors."""
    walk_speed_m_s: float = 1.2
    walk_bob_m: float = 0.015
    """Half range of the pelvis centre's vertical motion in walking."""
    walk_low_phase: float = 0.08
    """Where in the step (fraction after contact) the centre is lowest (double support)."""
    walk_surge_m_s: float = 0.1
    """Half range of the forward-speed fluctuation within a step."""
    heel_strike_g: float = 0.3
    heel_strike_s: float = 0.07
    heel_ap_ratio: float = 0.4
    """Braking peak of the heel strike as a fraction of its vertical peak."""
    double_support: float = 0.22
    """Double support as a fraction of a walking step (stance = step x (1 + this))."""
    walk_drop_deg: tuple[float, float] = (4.0, 4.0)
    """Peak contralateral drop in walking, (left stance, right stance)."""
    walk_rotation_deg: float = 4.0
    walk_tilt_deg: float = 1.5
    walk_lateral_m: float = 0.02
    run_speed_m_s: float = 3.0
    run_cadence_spm: float = 160.0
    run_drop_deg: tuple[float, float] = (5.0, 5.0)
    run_impact_g: float = 0.6
    run_rotation_deg: float = 6.0
    run_tilt_deg: float = 2.0
    run_lean_deg: float = 3.0
    run_lateral_m: float = 0.04
    """Peak-to-peak lateral motion when running."""
    lead_side: str = "R"
    """The foot of the first step of a run start, most of the time."""
    lead_consistency: float = 0.9
    """Probability that a start uses ``lead_side``."""
    half_step_rate: float = 0.3
    """Probability that a start begins with a short half-step."""

    @classmethod
    def draw(cls, rng: np.random.Generator) -> GaitStyle:
        """A random person (ranges in docs/simulation.md)."""
        u = rng.uniform
        speed = float(u(2.2, 3.4))
        return cls(
            walk_hz=float(u(1.65, 2.0)), walk_speed_m_s=float(u(1.0, 1.35)),
            walk_bob_m=float(u(0.012, 0.022)), walk_low_phase=float(u(0.03, 0.12)),
            walk_surge_m_s=float(u(0.10, 0.22)), heel_strike_g=float(u(0.15, 0.55)),
            heel_strike_s=float(u(0.05, 0.08)), heel_ap_ratio=float(u(0.4, 0.9)),
            double_support=float(u(0.18, 0.26)),
            walk_drop_deg=(float(u(2.5, 5.0)), float(u(2.5, 5.0))),
            walk_rotation_deg=float(u(3.0, 6.0)), walk_tilt_deg=float(u(1.0, 2.0)),
            walk_lateral_m=float(u(0.015, 0.03)), run_speed_m_s=speed,
            run_cadence_spm=float(np.clip(150.0 + 10.0 * (speed - 2.5) + u(-8, 8), 140, 190)),
            run_drop_deg=(float(u(2.0, 8.0)), float(u(2.0, 8.0))),
            run_impact_g=float(u(0.0, 1.2)), run_rotation_deg=float(u(4.0, 8.0)),
            run_tilt_deg=float(u(1.5, 3.0)), run_lean_deg=float(u(2.0, 5.0)),
            run_lateral_m=float(u(0.03, 0.05)), lead_side=str(rng.choice(SIDES)),
            lead_consistency=float(u(0.7, 1.0)), half_step_rate=float(u(0.0, 0.6)),
        )


@dataclass
class Bout:
    """A scripted bout. Per-step arrays (length n); the last step may be a closing step."""

    t0: float
    """Motion starts (push-off; the recording's start for a bout already under way)."""
    contact: NDArray[np.float64]
    duration: NDArray[np.float64]
    """Contact to next contact; for the last step, the time to settle."""
    stance: NDArray[np.float64]
    """Contact to toe-off (NaN for the closing step: that foot stays down)."""
    left: NDArray[np.bool_]
    run: NDArray[np.bool_]
    """Gait label (truth): running steps, including the half-step of a run start."""
    half: NDArray[np.bool_]
    kin: NDArray[np.bool_]
    """Steps moving with running kinematics (the transition steps at either end of a run and a
    half-step are labelled ``run`` but move as walking steps blending into running)."""
    speed: NDArray[np.float64]
    """Forward speed at each contact (m/s)."""
    tc: NDArray[np.float64]
    """Running contact time (also set for the walking steps next to a run: the recursion)."""
    heel: NDArray[np.float64]
    """Heel-strike (walking) or impact (running) peak, g."""
    drop: NDArray[np.float64]
    moving_start: bool
    starts: list[tuple[int, str]] = field(default_factory=list)
    """Run starts: (index of the first step, 'standing' | 'walking')."""

    @property
    def n(self) -> int:
        return int(self.contact.size)

    @property
    def t1(self) -> float:
        """Motion ends (the closing step has settled)."""
        return float(self.contact[-1] + self.duration[-1])

    @property
    def mode(self) -> NDArray[np.bool_]:
        return self.kin


class BoutBuilder:
    """Scripts one bout step by step (see the module docstring).

    ``t_start`` is when the push-off begins (from standing) or, with ``moving=True``, the start
    of the recording while already walking (the first contact comes within one step).
    """

    def __init__(self, style: GaitStyle, rng: np.random.Generator, t_start: float,
                 moving: bool = False, first_left: bool | None = None) -> None:
        self.s, self.rng, self.t_start, self.moving = style, rng, float(t_start), moving
        self.rows: list[dict[str, Any]] = []
        self.starts: list[tuple[int, str]] = []
        self._first_left = bool(rng.random() < 0.5) if first_left is None else first_left
        self._push_s = float(rng.uniform(0.45, 0.6))
        self._first_offset = float(rng.uniform(0.05, 0.95))

    # -- helpers --
    def _jit(self, sd: float, lim: float) -> float:
        return float(np.clip(self.rng.normal(0.0, sd), -lim, lim))

    @property
    def next_left(self) -> bool:
        return self._first_left if not self.rows else not self.rows[-1]["left"]

    def _add(self, dur: float, run: bool, speed: float, stance: float, heel: float,
             tc: float = np.nan, half: bool = False, kin: bool | None = None) -> None:
        s = self.s
        left = self.next_left
        kin = (run and not half) if kin is None else kin
        drop = (s.run_drop_deg if kin else s.walk_drop_deg)[0 if left else 1]
        self.rows.append({
            "duration": float(dur), "stance": float(stance), "left": left, "run": run,
            "half": half, "kin": kin, "speed": float(speed), "tc": float(tc),
            "heel": float(heel) * (1.0 + self._jit(0.15, 0.35)),
            "drop": float(drop) * (1.0 + self._jit(0.1, 0.3)),
        })

    def _last_run(self) -> bool:
        return bool(self.rows) and self.rows[-1]["kin"]

    def _run_dur(self) -> float:
        return 60.0 / self.s.run_cadence_spm * (1.0 + self._jit(0.025, 0.075))

    # -- gait --
    def walk(self, n_steps: int) -> BoutBuilder:
        """``n_steps`` walking steps (speed ramps up from standing, down after running)."""
        s = self.s
        t_walk = 1.0 / s.walk_hz
        from_rest = not self.rows and not self.moving
        after_run = self._last_run()
        prev_speed = self.rows[-1]["speed"] if self.rows else 0.0
        prev_dur = self.rows[-1]["duration"] if self.rows else t_walk
        for i in range(int(n_steps)):
            if after_run:
                # first walking step: the running recursion's trailing virtual step
                frac = min(1.0, i / 3.0)
                dur = prev_dur + (t_walk - prev_dur) * frac if i else prev_dur
                slow = max(0.0, 1.0 - (i + 1) / 3.0)
                speed = s.walk_speed_m_s + (prev_speed - s.walk_speed_m_s) * slow
            else:
                dur = t_walk
                ramp = (0.55, 0.85) if from_rest else ()
                speed = s.walk_speed_m_s * (ramp[i] if i < len(ramp) else 1.0)
            dur *= 1.0 + self._jit(0.02, 0.06)
            heel = s.heel_strike_g * (0.8 if (from_rest and i == 0) else 1.0)
            stance = dur + s.double_support * t_walk * (1.0 + self._jit(0.08, 0.2))
            self._add(dur, after_run and i == 0, speed, stance, heel, kin=False)
        return self

    def run(self, n_steps: int, lead: str | None = None,
            half_step: bool | None = None) -> BoutBuilder:
        """Start running: ``n_steps`` running steps; the first (or the half-step before it) is on
        ``lead`` (default: the style's habit), with an optional short half-step first."""
        s, rng = self.s, self.rng
        if lead is None:
            habit = s.lead_side
            lead = habit if rng.random() < s.lead_consistency else SIDES[1 - SIDES.index(habit)]
        if half_step is None:
            half_step = bool(rng.random() < s.half_step_rate)
        from_rest = not self.rows and not self.moving
        after = "standing" if from_rest else "walking"
        want_left = lead == "L"
        if self.moving and not self.rows:
            # the recording starts mid-run: steady running, no start
            for _ in range(int(n_steps)):
                dur = self._run_dur()
                tc = min(gct_for_speed_s(s.run_speed_m_s) * (1.0 + self._jit(0.03, 0.09)),
                         dur - 0.06)
                self._add(dur, True, s.run_speed_m_s, tc, s.run_impact_g, tc=tc)
            return self
        if not from_rest:
            if self._last_run() or (self.rows and self.rows[-1]["run"]):
                raise ValueError("run() after run(): walk at least two steps in between")
            # the step leading into the run (or the half-step) carries the lead foot
            while (self.next_left if half_step else self.rows[-1]["left"]) != want_left or len(
                self.rows
            ) < 2:
                self.walk(1)
        else:
            self._first_left = want_left
        durs = [self._run_dur() for _ in range(int(n_steps))]
        v0 = 0.0 if from_rest else self.rows[-1]["speed"]
        if not from_rest and not half_step:
            # the walking step before the run pushes off into the first flight: it is the first
            # running step (and the recursion's leading virtual step)
            self.rows[-1]["duration"] = durs[0]
            self.rows[-1]["run"] = True
            self.starts.append((len(self.rows) - 1, after))
        else:
            self.starts.append((len(self.rows), after))
        if half_step:
            dur = durs[0] * float(rng.uniform(0.55, 0.75))
            if from_rest:
                self._push_s = dur
            self._add(dur, True, max(v0, 0.2 * s.run_speed_m_s), np.nan,
                      0.6 * s.heel_strike_g, half=True)
        elif from_rest:
            self._push_s = durs[0]
        ramp = (0.35, 0.55, 0.72, 0.85, 0.94) if (from_rest or half_step) else (0.6, 0.8, 0.95)
        for i, dur in enumerate(durs):
            frac = ramp[i] if i < len(ramp) else 1.0
            speed = max(frac * s.run_speed_m_s, v0 if i == 0 else 0.0)
            tc = gct_for_speed_s(max(speed, 1.8)) * (1.0 + self._jit(0.03, 0.09))
            tc = min(tc, dur - 0.06)
            self._add(dur, True, speed, tc, s.run_impact_g, tc=tc)
        return self

    def finish(self) -> Bout:
        """Slow down and close (the trailing foot placed beside the other): the bout."""
        s = self.s
        if not self.rows:
            raise ValueError("a bout needs at least one step")
        if self._last_run():
            self.walk(3)
        self.rows[-1]["speed"] *= 0.75
        settle = float(self.rng.uniform(0.5, 0.8))
        self._add(settle, False, 0.15 * s.walk_speed_m_s, np.nan, 0.4 * s.heel_strike_g)
        r = self.rows
        dur = np.array([x["duration"] for x in r])
        if self.moving:
            c0 = self.t_start + self._first_offset * dur[0]
        else:
            c0 = self.t_start + self._push_s
        contact = c0 + np.concatenate([[0.0], np.cumsum(dur[:-1])])
        run = np.array([x["run"] for x in r])
        half = np.array([x["half"] for x in r])
        tc = np.array([x["tc"] for x in r])
        mode = np.array([x["kin"] for x in r])
        stance = np.array([x["stance"] for x in r])
        # running contact time of the virtual recursion steps next to a run; the step leading
        # into a run leaves the ground as a running step does (its toe-off at that time)
        for k in np.flatnonzero(~mode):
            nb = [j for j in (k + 1, k - 1) if 0 <= j < len(r) and mode[j]]
            if nb:
                # leading into a run: as the run; out of a run: a braking step with a long
                # contact and a short flight
                ref = tc[nb[0]] if nb[0] == k + 1 else max(tc[nb[0]], dur[k] - 0.08)
                tc[k] = float(np.clip(ref, 0.3 * dur[k], dur[k] - 0.05))
                if run[k]:  # a transition step ends in a flight: toe-off as when running
                    stance[k] = tc[k]
        return Bout(
            t0=self.t_start if self.moving else c0 - self._push_s,
            contact=contact, duration=dur, stance=stance,
            left=np.array([x["left"] for x in r]), run=run, half=half, kin=mode,
            speed=np.array([x["speed"] for x in r]), tc=tc,
            heel=np.array([x["heel"] for x in r]), drop=np.array([x["drop"] for x in r]),
            moving_start=self.moving, starts=list(self.starts),
        )


# ---------------------------------------------------------------------------------------------
# Rendering


def _ext(values: NDArray[Any], before: Any, after: Any) -> NDArray[Any]:
    """Per-step array padded with PAD virtual steps on each side."""
    v = np.asarray(values)
    pad = (np.full(PAD, x, dtype=v.dtype) for x in (before, after))
    return np.concatenate([next(pad), v, next(pad)])


GAIT_CHANNELS = ("speed", "fwd", "lat", "z", "obl", "rot", "sag")
"""Outputs of :func:`render_bout`: forward speed (m/s, along the heading), forward and lateral
(left) displacement offsets (m), vertical offset (m) and Baker angle offsets (deg)."""


def render_bout(b: Bout, style: GaitStyle, t: NDArray[np.float64],
                out: dict[str, NDArray[np.float64]]) -> None:
    """Add the bout's pelvis motion to the channels ``out`` (same grid as ``t``; zero outside the
    bout, so bouts can be added one after another)."""
    s = style
    dt = float(t[1] - t[0])
    i0 = max(int(np.floor((b.t0 - t[0]) / dt)), 0)
    i1 = min(int(np.ceil((b.t1 - t[0]) / dt)) + 1, t.size)
    if i1 <= i0:
        return
    tt = t[i0:i1]
    n = b.n
    first_dur = b.contact[0] - b.t0 if not b.moving_start else b.duration[0]
    dur = _ext(b.duration, first_dur, b.duration[-1])
    c = np.empty(n + 2 * PAD)
    c[PAD : PAD + n] = b.contact
    for j in range(PAD - 1, -1, -1):
        c[j] = c[j + 1] - dur[j]
    for j in range(PAD + n, n + 2 * PAD):
        c[j] = c[j - 1] + dur[j - 1]
    phase = CubicSpline(c, np.arange(-PAD, n + PAD, dtype=float))(tt)
    phi = np.clip(phase, -PAD, n + PAD - 1 - 1e-9)
    k = np.floor(phi).astype(np.int64)
    u = phi - k
    j = k + PAD  # index into the padded arrays
    su = ss(u)

    def lerp(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return a[j] + (a[np.minimum(j + 1, a.size - 1)] - a[j]) * su

    left = np.empty(n + 2 * PAD, dtype=bool)
    left[PAD : PAD + n] = b.left
    for jj in range(PAD - 1, -1, -1):
        left[jj] = not left[jj + 1]
    for jj in range(PAD + n, n + 2 * PAD):
        left[jj] = not left[jj - 1]
    side = np.where(left, 1.0, -1.0)
    mode = _ext(b.mode.astype(float), 1.0 if (b.moving_start and b.mode[0]) else 0.0, 0.0)
    omega = np.maximum(mode, np.concatenate([[0.0], mode[:-1]]))  # weight at each contact
    w = lerp(omega)
    env_c = _ext(np.ones(n), 1.0 if b.moving_start else 0.0, 0.0)
    env = lerp(env_c)
    tau = tt - c[j]
    walk = (1.0 - w) * env

    # ---- vertical ----
    low = s.walk_low_phase
    bob = lerp(_ext(np.where(b.half, 0.5, 1.0) * s.walk_bob_m, s.walk_bob_m, s.walk_bob_m))
    z_walk = -bob * np.cos(2.0 * np.pi * (phi - low))
    ti = s.heel_strike_s
    heel = _ext(np.where(b.mode, 0.0, b.heel), s.heel_strike_g, 0.0)
    bump = heel[j] * G * heel_strike_shape(tau, dur[j], ti)
    z_walk += bump
    z_run = np.zeros(tt.size)
    lat_run = np.zeros(tt.size)
    dv_run = np.zeros(tt.size)
    v_run = np.zeros(tt.size)
    m = mode.astype(bool)
    tc_all = _ext(b.tc, np.nan, np.nan)
    heel_all = _ext(b.heel, 0.0, 0.0)
    spd = _ext(b.speed, 0.0 if not b.moving_start else b.speed[0], 0.0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], m.astype(int), [0]])))
    for a, e in zip(edges[::2], edges[1::2], strict=True):
        # recursion over [a-1, e]: virtual steps at both ends (at a = 0 the recording starts
        # mid-run and the first padded step is already running: start there, steady)
        lo, hi = max(a - 1, 0), e
        idx = np.arange(lo, hi + 1)
        real = idx[(idx >= max(a, PAD)) & (idx < e) & np.isfinite(tc_all[idx])]
        first, last = real[0], real[-1]
        ref = np.where(idx < first, first, np.where(idx > last, last, idx))
        tcs = np.where(np.isfinite(tc_all[idx]), tc_all[idx],
                       np.clip(tc_all[ref], 0.3 * dur[idx], dur[idx] - 0.05))
        imp = heel_all[ref] * G
        amp, u0, h0 = _run_vertical(dur[idx], tcs, imp, IMPACT_S)
        sel = (j >= lo) & (j <= hi)
        r = j[sel] - lo
        ta, tcr, ar = tau[sel], tcs[r], amp[r]
        stance = ta < tcr
        hs = ar * (tcr / np.pi) * (ta - (tcr / np.pi) * np.sin(np.pi * np.minimum(ta, tcr) / tcr))
        hf = ar * (2.0 * tcr / np.pi) * (ta - tcr / 2.0)
        z_run[sel] = (h0[r] + u0[r] * ta + np.where(stance, hs, hf)
                      + imp[r] * _impact_p2(ta, IMPACT_S) - G * ta**2 / 2.0)
        # lateral: half-sine force in stance, ballistic in flight (running.py)
        s_k = side[idx]
        v_lat = 0.5 * s.run_lateral_m / (2.0 * tcs / np.pi + (dur[idx] - tcs))
        y_k = np.concatenate([[0.0], np.cumsum(-s_k * v_lat * (dur[idx] - tcs))])[:-1]
        lat_run[sel] = y_k[r] + s_k[r] * v_lat[r] * np.where(
            stance, tcr / np.pi * np.sin(np.pi * np.minimum(ta, tcr) / tcr), -(ta - tcr))
        brake = (0.12 + 0.06 * spd[idx]) * G
        dv_run[sel] = np.where(
            stance, -brake[r] * tcr / (2 * np.pi) * (1.0 - np.cos(2 * np.pi * ta / tcr)), 0.0)
        # speed changes only in stance (no horizontal force in flight)
        nxt = spd[np.minimum(idx + 1, spd.size - 1)]
        v_run[sel] = spd[idx][r] + (nxt[r] - spd[idx][r]) * ss(np.minimum(ta / tcr, 1.0))

    # ---- forward, lateral ----
    v_walk = lerp(spd)
    surge = lerp(_ext(np.where(b.half, 0.5, 1.0) * s.walk_surge_m_s, s.walk_surge_m_s, 0.0))
    per = lerp(dur)
    fwd = walk * (surge * per / (2 * np.pi) * np.sin(2 * np.pi * (phi - low))
                  - s.heel_ap_ratio * bump)
    speed = (1.0 - w) * v_walk + w * (v_run + dv_run)
    lat_walk = s.walk_lateral_m * side[j] * np.sin(np.pi * u)
    lat = env * ((1.0 - w) * lat_walk + w * lat_run)

    # ---- angles ----
    drop = _ext(b.drop, s.walk_drop_deg[0], s.walk_drop_deg[0])
    obl = env * side[j] * drop[j] * _bump(u)
    rot_amp = (1.0 - w) * s.walk_rotation_deg + w * s.run_rotation_deg
    rot = -env * rot_amp * side[j] * np.cos(np.pi * u)
    tilt = (1.0 - w) * s.walk_tilt_deg + w * s.run_tilt_deg
    sag = env * (tilt * np.sin(2.0 * np.pi * phi - 1.0) - w * s.run_lean_deg)

    sl = slice(i0, i1)
    out["speed"][sl] += speed
    out["fwd"][sl] += fwd
    out["lat"][sl] += lat
    out["z"][sl] += walk * z_walk + env * w * z_run
    out["obl"][sl] += obl
    out["rot"][sl] += rot
    out["sag"][sl] += sag


def render_bouts(bouts: list[Bout], style: GaitStyle,
                 t: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """All bouts' channels (:data:`GAIT_CHANNELS`) on the grid ``t``."""
    out = {name: np.zeros(t.size) for name in GAIT_CHANNELS}
    for b in bouts:
        render_bout(b, style, t, out)
    return out


def integrate_path(speed: NDArray[np.float64], heading_rad: NDArray[np.float64],
                   dt: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """World x, y of the base point moving at ``speed`` along ``heading_rad`` (trapezoid)."""
    out = []
    for comp in (np.cos(heading_rad), np.sin(heading_rad)):
        v = speed * comp
        out.append(np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * dt)]))
    return out[0], out[1]
