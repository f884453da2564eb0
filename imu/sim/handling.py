"""The sensor taken off and clipped back on: a mounting that changes during a session.

While clipped on, the sensor is rigid on the pelvis (``mounting`` pelvis <- sensor, ``offset_m`` in
the pelvis frame, as in :mod:`imu.sim.sensor`). During a re-seat it is in the hand: its pose
relative to the pelvis follows an irregular smooth path (the hand unclips it, turns it, looks at
it, fiddles: a handful of waypoints, each up to ~125 deg from the old mounting, joined by
minimum-jerk moves of 0.5-1.5 s, so the hand turns it at up to a few hundred deg/s, plus a
small physiological tremor at 8-12 Hz) and ends at the NEW mounting and offset, where it
stays. The relative pose ``H(t)`` (rotation) and ``h(t)`` (offset) is C2, so the specific force
and angular rate stay finite and continuous, and the gyroscope sees the whole hand rotation.

Physics as in :mod:`imu.sim.sensor`: ``R_ws = R_wp H``, so the specific force in the sensor frame
is ``H^T R_wp^T (d2 p_s/dt2 - g)`` with ``p_s = p + R_wp h``, and the angular rate
``w_s = H^T w_p + w_H`` (``w_H`` the body rate of ``H``).

Reference for tremor: Elble RJ (1996) Central mechanisms of tremor. J Clin Neurophysiol
13:133-144 (physiological hand tremor 8-12 Hz, sub-degree amplitude).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from imu.core.frames import GRAVITY_M_S2
from imu.device.chip import ImuRecording
from imu.sim.motion import Track, envelope
from imu.sim.sensor import Pose, SensorModel, body_rate_rad_s

ROT_CH = ("ax", "ay", "az")
POS_CH = ("px", "py", "pz")


@dataclass
class Reseat:
    """One re-seat: off the pelvis at ``t_off_s``, back on at ``t_on_s`` with a new mounting."""

    t_off_s: float
    t_on_s: float
    mounting: Rotation
    offset_m: NDArray[np.float64]
    track: Track | None = None
    """The hand path (rotation vector relative to the old mounting, offset), drawn by
    :meth:`MountingTimeline.add_reseat`."""
    tremor: list[tuple[float, float, NDArray[np.float64]]] = field(default_factory=list)


@dataclass
class MountingTimeline:
    """The sensor's mountings over a session: the first one and every re-seat after it."""

    mounting: Rotation
    offset_m: NDArray[np.float64]
    reseats: list[Reseat] = field(default_factory=list)

    def current(self) -> tuple[Rotation, NDArray[np.float64]]:
        if self.reseats:
            return self.reseats[-1].mounting, self.reseats[-1].offset_m
        return self.mounting, self.offset_m

    def add_reseat(self, t_off_s: float, t_on_s: float, new_mounting: Rotation,
                   new_offset_m: NDArray[np.float64], rng: np.random.Generator) -> Reseat:
        """Script the hand path from the current mounting to ``new_mounting``."""
        old_m, old_r = self.current()
        end_vec = (old_m.inv() * new_mounting).as_rotvec()
        init = dict.fromkeys(ROT_CH, 0.0) | dict(zip(POS_CH, map(float, old_r), strict=True))
        tr = Track(init)
        t = t_off_s
        dur = t_on_s - t_off_s
        n_way = max(1, int(dur / rng.uniform(0.8, 1.6)))
        # waypoints: the hand holds the sensor in front of the body at waist to chest height
        for i in range(n_way):
            left = t_on_s - 0.8 - t
            if left < 0.4:
                break
            move = min(float(rng.uniform(0.5, 1.5)), left)
            rv = rng.normal(0.0, 1.0, 3)
            rv *= rng.uniform(0.3, 2.2) / max(np.linalg.norm(rv), 1e-9)
            pos = (rng.uniform(0.15, 0.4), rng.uniform(-0.2, 0.2), rng.uniform(-0.05, 0.35))
            if i == 0:  # unclip: off the hip first
                pos = (old_r[0] + rng.uniform(0.0, 0.15), old_r[1] * 0.7, old_r[2] + 0.05)
            tr.move_to(t, t + move, dict(zip(ROT_CH, rv, strict=True))
                       | dict(zip(POS_CH, pos, strict=True)), skew=float(rng.uniform(-0.4, 0.4)))
            t = min(t + move + float(rng.uniform(0.0, 0.6)), t_on_s - 0.8)
        final = dict(zip(ROT_CH, end_vec, strict=True)) | dict(
            zip(POS_CH, map(float, new_offset_m), strict=True))
        tr.move_to(t, t_on_s, final)
        tremor = [(float(rng.uniform(8.0, 12.0)), float(rng.uniform(0, 2 * np.pi)),
                   rng.normal(0.0, 0.004, 3)) for _ in range(2)]
        rs = Reseat(t_off_s, t_on_s, new_mounting, np.asarray(new_offset_m, float), tr, tremor)
        self.reseats.append(rs)
        return rs

    def table(self) -> pd.DataFrame:
        """Truth ``mountings``: one row per mounting (the first from 0 s, then each re-seat's
        new mounting from ``from_s`` = its clip-on time); ``off_s`` = when the previous one was
        taken off (NaN for the first); quaternion pelvis <- sensor (scalar last) and offset."""
        rows = [(0, np.nan, 0.0, self.mounting, self.offset_m)]
        rows += [(i + 1, r.t_off_s, r.t_on_s, r.mounting, r.offset_m)
                 for i, r in enumerate(self.reseats)]
        out = []
        for i, off, on, m, r in rows:
            q = m.as_quat()
            out.append({"mounting": i, "off_s": off, "from_s": on, "qx": q[0], "qy": q[1],
                        "qz": q[2], "qw": q[3], "offset_x_m": r[0], "offset_y_m": r[1],
                        "offset_z_m": r[2]})
        df = pd.DataFrame(out)
        df["mounting"] = df["mounting"].astype("int64")
        return df


def _hand_window(rs: Reseat, old_m: Rotation, t: NDArray[np.float64]
                 ) -> tuple[Rotation, NDArray[np.float64]]:
    """Relative rotation H and offset h on ``t`` (inside the re-seat window)."""
    assert rs.track is not None
    ch = rs.track.render(t)
    env = envelope(t, rs.t_off_s, rs.t_on_s, 0.5)
    rv = np.stack([ch[c] for c in ROT_CH], axis=1)
    for f, p, a in rs.tremor:
        rv += (env * np.sin(2 * np.pi * f * t + p))[:, None] * a[None, :]
    pos = np.stack([ch[c] for c in POS_CH], axis=1)
    return old_m * Rotation.from_rotvec(rv), pos


def render_imu_timeline(pose: Pose, factor: int, timeline: MountingTimeline, model: SensorModel,
                        rng: np.random.Generator) -> ImuRecording:
    """Sensor output for a pose (given at ``factor`` x the output rate) and a mounting timeline."""
    t = pose.t_s
    dt = 1.0 / pose.rate_hz
    n = t.size
    # segments: (i0, i1, kind, payload)
    bounds = [0]
    for rs in timeline.reseats:
        bounds += [int(np.searchsorted(t, rs.t_off_s)), int(np.searchsorted(t, rs.t_on_s))]
    bounds.append(n)
    mounts = [(timeline.mounting, timeline.offset_m)] + [
        (r.mounting, r.offset_m) for r in timeline.reseats]
    h = np.empty((n, 3))
    hand: list[tuple[int, int, Rotation]] = []
    for s in range(len(mounts)):
        i0, i1 = bounds[2 * s], bounds[2 * s + 1]
        h[i0:i1] = mounts[s][1]
        if s < len(timeline.reseats):
            j0, j1 = i1, bounds[2 * s + 2]
            if j1 > j0:
                rot, pos = _hand_window(timeline.reseats[s], mounts[s][0], t[j0:j1])
                h[j0:j1] = pos
                hand.append((j0, j1, rot))
    p_sensor = pose.position_m + pose.orientation.apply(h)
    del h
    acc = np.gradient(np.gradient(p_sensor, dt, axis=0), dt, axis=0)
    del p_sensor
    acc[:, 2] += GRAVITY_M_S2
    f_p = pose.orientation.apply(acc, inverse=True)
    del acc
    w_p = body_rate_rad_s(pose.orientation, dt)
    for s, (m, _) in enumerate(mounts):
        sl = slice(bounds[2 * s], bounds[2 * s + 1])
        f_p[sl] = m.apply(f_p[sl], inverse=True)
        w_p[sl] = m.apply(w_p[sl], inverse=True)
    for j0, j1, rot in hand:
        sl = slice(j0, j1)
        f_p[sl] = rot.apply(f_p[sl], inverse=True)
        w_p[sl] = rot.apply(w_p[sl], inverse=True) + body_rate_rad_s(rot, dt)
    acc_counts, gyr_counts = model.measure(f_p, w_p, pose.rate_hz, factor, rng)
    return ImuRecording(
        t_s=t[::factor] - t[0],
        acc_counts=acc_counts,
        gyr_counts=gyr_counts,
        acc_lsb_g=model.acc_lsb_g,
        gyr_lsb_dps=model.gyr_lsb_dps,
        acc_range_g=int(model.acc_range_g),
        gyr_range_dps=int(model.gyr_range_dps),
        true_acc_g=f_p[::factor] / GRAVITY_M_S2,
        true_gyr_dps=np.degrees(w_p[::factor]),
    )
