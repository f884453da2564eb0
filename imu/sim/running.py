"""Simulated run with a hip- or sacrum-worn IMU: quiet standing, walking warm-up, running,
walking cool-down, quiet standing, with ground truth in the contract's terms.

Physics of the pelvis centre (docs/running.md):

* Vertical, running: a spring-mass-like step. During ground contact (duration ``tc``) the
  vertical ground reaction is a half sine, so the vertical acceleration is
  ``A sin(pi tau / tc) - g``; during flight it is exactly ``-g`` (specific force 0 g, free fall).
  Per step the amplitude ``A`` is solved so that the contact height returns towards the
  reference (a small feedback keeps the trajectory periodic without drift); in steady state this
  is the impulse balance ``A 2 tc / pi = g T``, i.e. a mean vertical specific force of 1 g over a
  step (Cavagna et al. 1988; Blickhan 1989). Height, velocity and acceleration are continuous:
  position is C2.
* Impact transient: a ``sin^2`` pulse of 40 ms (peak 20 ms after contact, 0-1.2 g, 15 %
  per-step variation) on top of the half sine, as the impact peak of heel strikers
  (Cavanagh & Lafortune 1980), included in the impulse balance.
* Forward: braking then propulsion within stance, ``-B sin(2 pi tau / tc)``, zero net impulse.
* Lateral sway toward the stance leg (running: the medio-lateral force acts in stance only, a
  half sine reversing the lateral velocity; flight is ballistic), pelvic obliquity with a
  contralateral drop during stance (per side amplitude, fatigue drift over the run, 10 %
  step-to-step variation), transverse rotation at stride frequency, sagittal tilt oscillation
  at step frequency plus a forward lean.
* Walking (warm-up, cool-down): no flight, sinusoidal vertical motion at step frequency
  (lowest around double support), ~1.8 steps/s.
* Step timing: 2.5 % jitter of step duration, contact time 3 %; the step phase is a C2 cubic
  spline through the contacts, so every angle built from it is smooth.
* Heading turns now and then (smooth, 20-90 deg over 4-6 s).

References: Cavagna GA, Franzetti P, Heglund NC, Willems P (1988) The determinants of the step
frequency in running, trotting and hopping in man and other vertebrates. J Physiol 399:81-92.
Blickhan R (1989) The spring-mass model for running and hopping. J Biomech 22:1217-1227.
Morin JB et al. (2005) A simple method for measuring stiffness during running. J Appl Biomech
21:167-180 (sine-shaped vertical force during contact).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation

from imu.core.frames import GRAVITY_M_S2, pelvis_rotation_from_angles_deg
from imu.core.vocabulary import PLACEMENTS
from imu.metrics.gait import pelvic_drop_deg, run_summary
from imu.sim.sensor import Pose, SensorModel, oversample_factor, random_mounting
from imu.sim.session import SimSession, Truth, assemble

G = GRAVITY_M_S2
WALK_STEP_HZ = 1.8
WALK_SPEED_M_S = 1.4
RAMP_GAIT_S = 1.5
RAMP_RUN_S = 2.0
IMPACT_S = 0.04
"""Duration of the impact transient at the start of stance (peak 20 ms after contact)."""
DROP_BUMP_A, DROP_BUMP_B = 3, 7
"""Obliquity bump u^a (1-u)^b over the step phase u: C2 at the step boundaries, peak at 0.3."""


def smoothstep(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Quintic smoothstep 0 -> 1 on [0, 1] with zero first and second derivatives at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (10.0 - 15.0 * x + 6.0 * x * x)


def _window(t: NDArray[np.float64], t0: float, t1: float, ramp_s: float) -> NDArray[np.float64]:
    """C2 window: 0 before t0, 1 on [t0 + ramp, t1 - ramp], 0 after t1."""
    return smoothstep((t - t0) / ramp_s) * smoothstep((t1 - t) / ramp_s)


def _window_scalar(t: float, t0: float, t1: float, ramp_s: float) -> float:
    """:func:`_window` for one time (plain floats: used in the per-step loop)."""

    def ss(x: float) -> float:
        x = min(max(x, 0.0), 1.0)
        return x * x * x * (10.0 - 15.0 * x + 6.0 * x * x)

    return ss((t - t0) / ramp_s) * ss((t1 - t) / ramp_s)


def _bump(u: NDArray[np.float64]) -> NDArray[np.float64]:
    a, b = DROP_BUMP_A, DROP_BUMP_B
    peak = (a / (a + b)) ** a * (b / (a + b)) ** b
    u = np.clip(u, 0.0, 1.0)
    return u**a * (1.0 - u) ** b / peak


def gct_for_speed_s(speed_m_s: float) -> float:
    """Typical ground contact time for a running speed (~260 ms at 3 m/s, ~180 ms at 5 m/s)."""
    return 0.56 / speed_m_s**0.7


def _impact_p2(tau: NDArray[np.float64], ti: float) -> NDArray[np.float64]:
    """Double integral of the impact pulse ``sin^2(pi tau / ti)`` (0 <= tau < ti), from 0."""
    tt = np.minimum(tau, ti)
    inside = tt**2 / 4.0 + ti**2 / (8.0 * np.pi**2) * (np.cos(2.0 * np.pi * tt / ti) - 1.0)
    return inside + (ti / 2.0) * np.maximum(tau - ti, 0.0)


def _run_vertical(
    t_step: NDArray[np.float64],
    tc: NDArray[np.float64],
    impact: NDArray[np.float64],
    ti: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per-step force amplitude A, contact velocity u and contact height h (recursion over steps).

    Stance acceleration ``A sin(pi tau/tc) + I sin^2(pi tau/ti) - g`` (active peak plus impact
    transient), flight ``-g``. A is chosen so that the height at the next contact moves 30 % back
    to 0 (keeps the trajectory periodic without drift); velocity and height are continuous.
    """
    n = t_step.size
    amp = np.empty(n)
    u = np.empty(n + 1)
    h = np.empty(n + 1)
    j = 2.0 * tc / np.pi  # impulse of the half sine per unit amplitude
    i2 = j * (t_step - tc / 2.0)  # its double integral over the step
    q2 = (ti / 2.0) * (t_step - ti / 2.0)  # double integral of the impact pulse over the step
    # steady state of the first step: no change of velocity or contact height
    a0 = (G * t_step[0] - impact[0] * ti / 2.0) / j[0]
    h[0] = 0.0
    u[0] = (G * t_step[0] ** 2 / 2.0 - a0 * i2[0] - impact[0] * q2[0]) / t_step[0]
    for k in range(n):
        dh = -0.3 * h[k]
        amp[k] = (dh - u[k] * t_step[k] - impact[k] * q2[k] + G * t_step[k] ** 2 / 2.0) / i2[k]
        h[k + 1] = h[k] + dh
        u[k + 1] = u[k] + amp[k] * j[k] + impact[k] * ti / 2.0 - G * t_step[k]
    return amp, u[:-1], h[:-1]


def simulate_run(
    duration_s: float = 600.0,
    sample_rate_hz: float = 200.0,
    placement: str = "left_hip",
    mounting: str | Rotation | None = "random",
    seed: int = 0,
    speed_m_s: float | None = None,
    cadence_spm: float | None = None,
    drop_left_deg: float | None = None,
    drop_right_deg: float | None = None,
    drift_deg: float | None = None,
    warmup_walk_s: float = 30.0,
    cooldown_walk_s: float = 30.0,
    standing_s: float = 5.0,
    sensor_model: SensorModel | None = None,
    with_gyro: bool = True,
    turns: bool = True,
    impact_g: float | None = None,
    sensor_offset_m: tuple[float, float, float] | None = None,
    walk_breaks: int = 0,
) -> SimSession:
    """Simulate a run session (see the module docstring).

    The motion depends only on ``seed`` and the motion options (the mounting and the sensor
    errors use their own random streams). Unset gait parameters are drawn from ``seed``: speed
    2.5-5.5 m/s, cadence 150 + 10 (speed - 2.5) +- 8 spm, drops 2-8 deg, drift -2..+3 deg,
    impact transient 0-1.2 g (0 = forefoot-like, no impact peak). ``sensor_offset_m``
    overrides the placement's default sensor position (pelvis frame, from the pelvis centre).
    ``walk_breaks`` splits the running time into that many + 1 bouts separated by 15-30 s of
    walking.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}")
    rng = np.random.default_rng(seed)
    speed = float(speed_m_s if speed_m_s is not None else rng.uniform(2.5, 5.5))
    # cadence rises with speed (~150 spm at 2.5 m/s, ~180 at 5.5 m/s), +-8 spm between runners
    cadence_draw = 150.0 + 10.0 * (speed - 2.5) + rng.uniform(-8.0, 8.0)
    cadence = float(cadence_spm if cadence_spm is not None else np.clip(cadence_draw, 140, 200))
    if not (1.5 <= speed <= 7.0 and 120 <= cadence <= 220):
        raise ValueError("speed_m_s must be 1.5-7 and cadence_spm 120-220")
    drop_l = float(drop_left_deg if drop_left_deg is not None else rng.uniform(2, 8))
    drop_r = float(drop_right_deg if drop_right_deg is not None else rng.uniform(2, 8))
    drift = float(drift_deg if drift_deg is not None else rng.uniform(-2, 3))
    impact = float(impact_g if impact_g is not None else rng.uniform(0.0, 1.2))
    if isinstance(mounting, str):
        if mounting != "random":
            raise ValueError("mounting must be 'random', a Rotation or None")
        mount = random_mounting(np.random.default_rng([seed, 1]))
    else:
        mount = mounting if mounting is not None else Rotation.identity()
    model = sensor_model if sensor_model is not None else SensorModel()

    factor = oversample_factor(sample_rate_hz)
    fine_hz = sample_rate_hz * factor
    t_gait0 = standing_s
    t_run0 = t_gait0 + warmup_walk_s
    # running bouts [a_i, b_i] (total running time duration_s), walking breaks between them
    shares = rng.uniform(0.5, 1.5, walk_breaks + 1)
    lengths = duration_s * shares / shares.sum()
    breaks = rng.uniform(15.0, 30.0, walk_breaks)
    bout_a = t_run0 + np.concatenate([[0.0], np.cumsum(lengths[:-1] + breaks)])
    bout_b = bout_a + lengths
    t_run1 = float(bout_b[-1])
    t_gait1 = t_run1 + cooldown_walk_s

    def w_run_of(tt: NDArray[np.float64]) -> NDArray[np.float64]:
        return sum(
            (_window(tt, a, b, RAMP_RUN_S) for a, b in zip(bout_a, bout_b, strict=True)),
            start=np.zeros(np.shape(tt)),
        )

    def running_fraction(tt: NDArray[np.float64]) -> NDArray[np.float64]:
        done = sum(
            (np.clip(tt - a, 0.0, b - a) for a, b in zip(bout_a, bout_b, strict=True)),
            start=np.zeros(np.shape(tt)),
        )
        return done / max(duration_s, 1e-9)

    total_s = t_gait1 + 2.0
    n_fine = int(round(total_s * fine_hz))
    t = np.arange(n_fine) / fine_hz

    # --- step sequence (contacts), sequential because each duration depends on the time -------
    t_walk_step = 1.0 / WALK_STEP_HZ
    gct_run = gct_for_speed_s(speed)
    n_max = int((t_gait1 - t_gait0) * max(cadence / 60.0, WALK_STEP_HZ) * 1.2) + 10
    jit = np.clip(rng.normal(0.0, 0.025, n_max), -0.075, 0.075)
    contacts = np.empty(n_max)
    durations = np.empty(n_max)
    tk = t_gait0
    n = 0
    while tk < t_gait1 + 2.0 and n < n_max:
        w = sum(_window_scalar(tk, a, b, RAMP_RUN_S) for a, b in zip(bout_a, bout_b, strict=True))
        f_nom = (1.0 - w) * WALK_STEP_HZ + w * (cadence / 60.0)
        durations[n] = (1.0 + jit[n]) / f_nom
        contacts[n] = tk
        tk += durations[n]
        n += 1
    contacts, durations = contacts[:n], durations[:n]
    w_run_k = w_run_of(contacts)
    side0 = int(rng.integers(0, 2))  # 0: first step is left stance
    is_left = (np.arange(n) + side0) % 2 == 0
    tc_run = gct_run * (1.0 + np.clip(rng.normal(0.0, 0.03, n), -0.09, 0.09))
    tc_run = np.minimum(tc_run, durations - 0.06)
    impact_k = impact * G * (1.0 + np.clip(rng.normal(0.0, 0.15, n), -0.45, 0.45))
    # drop amplitude per step: per side, fatigue drift linear over the run, 10 % variation.
    frac = running_fraction(contacts)
    base = np.where(is_left, drop_l, drop_r) + drift * frac
    scale = 0.6 + 0.4 * w_run_k
    drop_k = base * scale * (1.0 + np.clip(rng.normal(0.0, 0.1, n), -0.3, 0.3))

    # --- smooth step phase on the fine grid -------------------------------------------------
    knots_t = np.concatenate([contacts, [contacts[-1] + durations[-1]]])
    phase_spline = CubicSpline(knots_t, np.arange(n + 1, dtype=float))
    phi = np.clip(phase_spline(t), 0.0, n - 1e-9)
    k = np.floor(phi).astype(np.int64)
    u = phi - k
    w_gait = _window(t, t_gait0, t_gait1, RAMP_GAIT_S)
    w_run = w_run_of(t)

    # --- vertical --------------------------------------------------------------------------
    ks = np.clip(np.searchsorted(contacts, t, side="right") - 1, 0, n - 1)
    run_steps = np.flatnonzero(
        (contacts + durations > t_run0 - 1.0) & (contacts < t_run1 + 1.0)
    )
    h_run = np.zeros(n_fine)
    if run_steps.size:
        r0, r1 = run_steps[0], run_steps[-1]
        amp, u0, h0 = _run_vertical(
            durations[r0 : r1 + 1], tc_run[r0 : r1 + 1], impact_k[r0 : r1 + 1], IMPACT_S
        )
        sel = (ks >= r0) & (ks <= r1)
        j = ks[sel] - r0
        tau = t[sel] - contacts[ks[sel]]
        tcj = tc_run[r0 : r1 + 1][j]
        a = amp[j]
        stance = tau < tcj
        hs = a * (tcj / np.pi) * (tau - (tcj / np.pi) * np.sin(np.pi * np.minimum(tau, tcj) / tcj))
        hf = a * (2.0 * tcj / np.pi) * (tau - tcj / 2.0)
        h_run[sel] = (
            h0[j] + u0[j] * tau + np.where(stance, hs, hf)
            + impact_k[ks[sel]] * _impact_p2(tau, IMPACT_S) - G * tau**2 / 2.0
        )
    walk_amp_m = 0.018
    h_walk = -walk_amp_m * np.cos(2.0 * np.pi * phi)
    height = 0.95 + w_gait * (1.0 - w_run) * h_walk + w_run * h_run

    # --- forward, lateral, heading -------------------------------------------------------------
    brake_run = (0.12 + 0.06 * speed) * G
    tau_all = t - contacts[ks]
    tc_all = tc_run[ks]
    dv_run = np.where(
        tau_all < tc_all,
        -brake_run * tc_all / (2 * np.pi) * (1.0 - np.cos(2 * np.pi * tau_all / tc_all)),
        0.0,
    )
    dv_walk = -0.12 * G * t_walk_step / (2 * np.pi) * (1.0 - np.cos(2 * np.pi * u))
    v_mean = w_gait * WALK_SPEED_M_S + w_run * (speed - WALK_SPEED_M_S)
    v_fwd = v_mean + w_run * dv_run + w_gait * (1.0 - w_run) * dv_walk
    heading = np.zeros(n_fine)
    if turns:
        t_turn = t_run0 + rng.uniform(40, 90)
        while t_turn < t_run1 - 10:
            ang = np.radians(rng.choice([-1, 1]) * rng.uniform(20, 90))
            dur = rng.uniform(4, 6)
            i0, i1 = np.searchsorted(t, [t_turn, t_turn + dur])
            heading[i0:i1] += ang * smoothstep((t[i0:i1] - t_turn) / dur)
            heading[i1:] += ang
            t_turn += rng.uniform(50, 120)
    dt = 1.0 / fine_hz
    # integrate the path along the heading
    ch, sh = np.cos(heading), np.sin(heading)
    x = np.concatenate([[0.0], np.cumsum(0.5 * ((v_fwd * ch)[1:] + (v_fwd * ch)[:-1]) * dt)])
    y = np.concatenate([[0.0], np.cumsum(0.5 * ((v_fwd * sh)[1:] + (v_fwd * sh)[:-1]) * dt)])
    side_sign = np.where(is_left[k], 1.0, -1.0)
    # Lateral sway toward the stance leg. Walking: sinusoidal. Running: the medio-lateral force
    # acts only in stance (half sine reversing the lateral velocity +-v_l), flight is ballistic.
    sway_walk = 0.02 * side_sign * np.sin(np.pi * u)
    tf_nom = 60.0 / cadence - gct_run
    v_lat = 0.04 / (2.0 * gct_run / np.pi + tf_nom)  # 4 cm peak to peak
    s_k = np.where(is_left, 1.0, -1.0)
    y_k = np.concatenate([[0.0], np.cumsum(-s_k * v_lat * (durations - tc_run))])[:-1]
    s_t = s_k[ks]
    sway_run = y_k[ks] + s_t * v_lat * np.where(
        tau_all < tc_all,
        tc_all / np.pi * np.sin(np.pi * np.minimum(tau_all, tc_all) / tc_all),
        -(tau_all - tc_all),
    )
    lateral = w_gait * (1.0 - w_run) * sway_walk + w_run * sway_run
    del sway_walk, sway_run, s_t
    x -= lateral * sh
    y += lateral * ch

    # --- pelvis angles ------------------------------------------------------------------------
    rot_amp_run = float(rng.uniform(4.0, 8.0))
    rot_amp = (1.0 - w_run) * 4.0 + w_run * rot_amp_run
    # phase 0 at a left contact: left hip forward -> pelvis turned right (rotation < 0).
    stride_phase = np.pi * (phi + side0)
    rotation = np.degrees(heading) - w_gait * rot_amp * np.cos(stride_phase)
    obliquity = w_gait * side_sign * drop_k[k] * _bump(u)
    tilt_amp = float(rng.uniform(1.5, 3.0))
    sagittal = -w_run * 3.0 + w_gait * tilt_amp * np.sin(2.0 * np.pi * phi - 1.0)
    orientation = pelvis_rotation_from_angles_deg(rotation, obliquity, sagittal)
    pose = Pose(t_s=t, position_m=np.stack([x, y, height], axis=1), orientation=orientation)
    del x, y, phi, u, k, ks, tau_all, tc_all, dv_run, dv_walk, lateral, side_sign

    meta: dict[str, Any] = {"activity": "run"}
    session = assemble(
        pose, factor, Truth(), placement=placement, mounting=mount, model=model,
        rng=np.random.default_rng([seed, 2]),
        meta=meta, with_gyro=with_gyro, offset_m=sensor_offset_m,
    )
    running = _has_flight(session.truth.pelvis, contacts, durations) & (w_run_k > 0.0)
    session.truth.steps, session.truth.summary = _truth_tables(
        session.truth.pelvis, contacts, durations, tc_run, is_left, running
    )
    session.truth.summary.update(
        {
            "speed_m_s": speed,
            "cadence_nominal_spm": cadence,
            "drop_left_nominal_deg": drop_l,
            "drop_right_nominal_deg": drop_r,
            "drift_nominal_deg": drift,
            "run_start_s": t_run0,
            "run_end_s": t_run1,
            "run_bouts_s": [(float(a), float(b)) for a, b in zip(bout_a, bout_b, strict=True)],
            "brake_peak_g": brake_run / G,
            "impact_g": impact,
        }
    )
    return session


FLIGHT_G = 0.45
FLIGHT_MIN_S = 0.03


def _has_flight(
    pelvis: pd.DataFrame, contacts: NDArray[np.float64], durations: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Running steps by definition: the step (contact to next contact) contains a flight phase,
    at least ``FLIGHT_MIN_S`` with the pelvis-centre vertical specific force below
    ``FLIGHT_G`` (free fall is 0 g). Decides the walk <-> run transitions of the truth."""
    ts = pelvis["t_s"].to_numpy()
    dt = ts[1] - ts[0]
    fz = (np.gradient(np.gradient(pelvis["height_m"].to_numpy(), dt), dt) + G) / G
    low = np.concatenate([[0], np.cumsum(fz < FLIGHT_G)])
    i0 = np.clip(np.searchsorted(ts, contacts), 0, ts.size)
    i1 = np.clip(np.searchsorted(ts, contacts + durations), 0, ts.size)
    return (low[i1] - low[i0]) * dt >= FLIGHT_MIN_S


def _truth_tables(
    pelvis: pd.DataFrame,
    contacts: NDArray[np.float64],
    durations: NDArray[np.float64],
    tc: NDArray[np.float64],
    is_left: NDArray[np.bool_],
    running: NDArray[np.bool_],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Contract steps table and run summary from the output-rate truth pelvis."""
    ts = pelvis["t_s"].to_numpy()
    obl = pelvis["obliquity_deg"].to_numpy()
    hgt = pelvis["height_m"].to_numpy()
    rot = np.degrees(np.unwrap(np.radians(pelvis["rotation_deg"].to_numpy())))
    idx = np.flatnonzero(running)
    side = np.where(is_left[idx], "L", "R")
    c = contacts[idx]
    nxt = c + durations[idx]
    i0 = np.searchsorted(ts, c)
    i1 = np.minimum(np.searchsorted(ts, nxt), ts.size - 1)
    ito = np.searchsorted(ts, c + tc[idx])
    vo = np.array([np.ptp(hgt[a : b + 1]) for a, b in zip(i0, i1, strict=True)]) * 100.0
    drop = np.array(
        [np.max(pelvic_drop_deg(obl[a : b + 1], s)) for a, b, s in zip(i0, ito, side, strict=True)]
    )
    steps = pd.DataFrame(
        {
            "step": np.arange(1, idx.size + 1),
            "side": side,
            "contact_s": c,
            "toe_off_s": c + tc[idx],
            "gct_ms": tc[idx] * 1000.0,
            "vo_cm": vo,
            "pelvic_drop_deg": drop,
            "step_s": durations[idx],
        }
    )
    summary = run_summary(steps, ts, rot, pelvis["sagittal_deg"].to_numpy())
    return steps, summary




def score_steps(
    truth: pd.DataFrame, est: pd.DataFrame, tol_s: float = 0.08
) -> dict[str, float]:
    """Compare an estimated steps table with the truth: recall and precision of initial contacts
    (within ``tol_s``) during running (detections within 0.6 s of a true running step; the others
    are counted in ``n_outside``), stance side agreement, and errors of the matched steps
    (contact/toe-off bias in ms, GCT, VO and pelvic drop MAE)."""
    tc = truth["contact_s"].to_numpy(dtype=float)
    ec = est["contact_s"].to_numpy(dtype=float) if len(est) else np.empty(0)
    nan = float("nan")
    if tc.size == 0 or ec.size == 0:
        return {"recall": 0.0 if tc.size else nan, "precision": nan, "n_truth": float(tc.size),
                "n_est": float(ec.size)}
    j = np.clip(np.searchsorted(ec, tc), 1, max(ec.size - 1, 1))
    j = np.where(np.abs(ec[j - 1] - tc) <= np.abs(ec[np.minimum(j, ec.size - 1)] - tc), j - 1, j)
    j = np.minimum(j, ec.size - 1)
    hit = np.abs(ec[j] - tc) <= tol_s
    # "during running": within 0.6 s (about two steps) of a true running contact; detections
    # farther away (in walking) are counted separately as n_outside
    k = np.clip(np.searchsorted(tc, ec), 1, tc.size - 1) if tc.size > 1 else np.zeros(ec.size, int)
    near = np.minimum(np.abs(tc[k - 1] - ec), np.abs(tc[k] - ec)) if tc.size > 1 else np.abs(
        tc[0] - ec
    )
    in_run = near <= 0.6
    matched = np.zeros(ec.size, dtype=bool)
    matched[j[hit]] = True
    t = truth[hit]
    e = est.iloc[j[hit]]

    def mae(col: str) -> float:
        d = e[col].to_numpy(dtype=float) - t[col].to_numpy(dtype=float)
        return float(np.nanmean(np.abs(d))) if np.isfinite(d).any() else nan

    return {
        "n_truth": float(tc.size),
        "n_est": float(in_run.sum()),
        "n_outside": float((~in_run).sum()),
        "recall": float(hit.mean()),
        "precision": float(matched[in_run].sum() / max(in_run.sum(), 1)),
        "side_agreement": float(np.mean(e["side"].to_numpy() == t["side"].to_numpy())),
        "contact_bias_ms": float(np.mean(e["contact_s"].to_numpy() - t["contact_s"].to_numpy()))
        * 1000.0,
        "toe_off_bias_ms": float(np.mean(e["toe_off_s"].to_numpy() - t["toe_off_s"].to_numpy()))
        * 1000.0,
        "gct_mae_ms": mae("gct_ms"),
        "vo_mae_cm": mae("vo_cm"),
        "drop_mae_deg": mae("pelvic_drop_deg"),
    }
