"""The live rep count of ``imu record``: the strength stages run on the stream (issue 9, item 4).

The count shows each rep at most 1 s (stream time) after its lockout, and at the end of a set
it is the final analysis's count; block sizes do not matter.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imu.device.chip import SampleBlock
from imu.io.rawfile import write_raw
from imu.pipeline.live import LiveRepCounter, LiveStatus
from imu.pipeline.strength import StrengthAnalysis
from imu.sim.strength import simulate_strength


def _session(exercise: str, seed: int, reps: int = 5):  # type: ignore[no-untyped-def]
    return simulate_strength(exercise=exercise, n_sets=1, reps_per_set=reps,
                             sample_rate_hz=50.0, seed=seed, walking=False, rest_s=(5.0, 6.0))


def _feed(counter: LiveRepCounter, raw, block: int) -> list[tuple[float, int]]:  # type: ignore[no-untyped-def]
    seen = []
    for i in range(0, raw.n_samples, block):
        sl = slice(i, i + block)
        counter.update(raw.t_s[sl], raw.acc_g[sl], raw.gyr_dps[sl], raw.sample_rate_hz)
        seen.append((float(raw.t_s[sl][-1]), counter.reps_))
    return seen


@pytest.mark.parametrize(("exercise", "seed"), [("glute_bridge", 71), ("romanian_deadlift", 72)])
def test_live_count_is_quick_and_ends_as_the_final_analysis(exercise: str, seed: int) -> None:
    sim = _session(exercise, seed)
    raw = sim.raw
    live = LiveRepCounter(placement=raw.meta["placement"])
    seen = _feed(live, raw, 13)
    final = StrengthAnalysis(placement=raw.meta["placement"]).analyze(raw, raw.sample_rate_hz)
    assert len(final.sets_) == 1 and len(final.reps_) == 5
    assert [s.exercise for s in live.sets_] == final.sets_["exercise"].to_pylist()
    assert live.reps_ == 5
    assert not any(r.provisional for r in live.sets_[-1].reps)
    assert [r.tilt_class for r in live.sets_[-1].reps] == final.reps_["tilt_class"].to_pylist()
    # every rep shows within 1 s of its lockout (stream time)
    t = np.array([s for s, _ in seen])
    count = np.array([c for _, c in seen])
    for k, lock in enumerate(sim.truth.reps["lockout_s"], start=1):
        first = t[np.flatnonzero(count >= k)[0]]
        assert first <= lock + 1.0, (k, lock, first)
    assert np.all(np.diff(count[t > sim.truth.reps["end_s"].iloc[-1] + 1.0]) == 0)


def test_block_sizes_do_not_matter() -> None:
    raw = _session("hip_hinge", 73, reps=3).raw
    a, b = LiveRepCounter(), LiveRepCounter()
    _feed(a, raw, 7)
    _feed(b, raw, 50)
    assert a.reps_ == b.reps_ == 3


def test_quiet_standing_counts_nothing() -> None:
    rng = np.random.default_rng(1)
    n = 50 * 40
    acc = np.tile([0.0, 0.0, 1.0], (n, 1)) + rng.normal(0, 0.002, (n, 3))
    gyr = rng.normal(0, 0.3, (n, 3))
    live = LiveRepCounter().update(np.arange(n) / 50.0, acc, gyr, 50.0)
    assert live.reps_ == 0 and live.sets_ == []


def test_status_line_shows_the_set_and_verdicts() -> None:
    raw = _session("glute_bridge", 74, reps=2).raw
    st = LiveStatus(raw.sample_rate_hz, min_wall_s=0.0)
    acc = np.round(raw.acc_g / 0.000244).astype(np.int16)
    gyr = np.round(raw.gyr_dps / 0.035).astype(np.int16)
    n = raw.n_samples
    st.add(SampleBlock(np.arange(n), raw.t_s, acc, gyr, 0.000244, 0.035))
    st.finish()
    line = st.line("streaming", lost=3, link_losses=1)
    assert "streaming" in line and "lost 3" in line
    assert "glute bridge: reps 2" in line
    assert line.rstrip()[-2:].strip("PNA") == ""  # one verdict letter per rep


def test_live_count_through_the_virtual_sensor_agrees_with_the_analysis(tmp_path: Path) -> None:
    """``imu record --virtual``: the firmware streams a simulated bridge set over Bumble; the
    last live line shows the count and verdicts of the analysis written when recording stops."""
    sim = simulate_strength(exercise="glute_bridge", n_sets=1, reps_per_set=5,
                            sample_rate_hz=104.0, seed=71, walking=False, rest_s=(5.0, 6.0))
    src = tmp_path / "bridge.raw.parquet"
    write_raw(src, sim.raw)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "imu.cli", "record", "--out", str(out), "--virtual", str(src),
         "--time-scale", "8"],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in re.split(r"[\r\n]", proc.stderr) if "reps" in ln]
    m = re.search(r"set (\d+) glute bridge: reps (\d+) ([PNA]*)", lines[-1])
    assert m is not None, lines[-1]
    reps = pd.read_parquet(next(out.glob("session=*/reps.parquet")))
    assert int(m.group(1)) == reps["set"].max() == 1
    assert int(m.group(2)) == len(reps) == 5
    assert m.group(3) == "".join(str(c)[0].upper() for c in reps["tilt_class"])
