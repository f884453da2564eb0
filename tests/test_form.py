"""FormBreakDetector: the documented rule on hand-made rep tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from imu.core import arrow
from imu.core.errors import InputError
from imu.metrics.strength import form_breaks
from imu.pipeline.form import FormBreakDetector, add_form_break


def make_reps(tilts: list[float], durations: list[float], set_no: int = 1) -> pd.DataFrame:
    n = len(tilts)
    gaps = np.asarray(durations, dtype=float) + 1.0
    start = np.r_[0.0, np.cumsum(gaps)][:n] + 10.0 * set_no
    return pd.DataFrame(
        {
            "set": set_no,
            "rep": np.arange(1, n + 1),
            "start_s": start,
            "end_s": start + np.asarray(durations),
            "tilt_deg": tilts,
        }
    )


def test_tilt_drop_beyond_threshold_is_flagged_and_smaller_is_not() -> None:
    reps = make_reps([5.0, 6.0, 4.0, 1.5, 3.5, -2.0], [3.0] * 6)
    det = FormBreakDetector(baseline_reps=3, tilt_drop_deg=3.0).detect(reps)
    # baseline median tilt = 5.0: 1.5 is 3.5 below (flag), 3.5 is 1.5 below (ok), -2 is 7 below.
    assert det.form_break_.tolist() == [False, False, False, True, False, True]
    assert det.reasons_[3] == "tilt 4 deg below the set's first reps"
    assert det.reasons_[4] == ""
    assert det.tilt_change_deg_[5] == pytest.approx(-7.0)
    assert det.reasons_[5] == "tilt 7 deg below the set's first reps"
    det2 = FormBreakDetector().detect(make_reps([5.0, 6.0, 4.0, -4.0], [3.0] * 4))
    assert det2.reasons_[3] == "anterior tilt at lockout"


def test_tempo_change_in_either_direction() -> None:
    reps = make_reps([5.0] * 7, [3.0, 3.0, 3.0, 4.2, 3.6, 1.8, 2.5])
    det = FormBreakDetector(tempo_change_frac=0.3).detect(reps)
    # +40% (slow grind) and -40% (rushed) flagged; +20% and -17% not.
    assert det.form_break_.tolist() == [False] * 3 + [True, False, True, False]
    assert det.reasons_[3] == "40% slower than the set's first reps"
    assert det.reasons_[5] == "40% faster than the set's first reps"


def test_both_reasons_and_a_rising_tilt_is_no_break() -> None:
    reps = make_reps([2.0, 2.0, 2.0, 9.0, -2.0], [3.0, 3.0, 3.0, 3.0, 5.0])
    det = FormBreakDetector().detect(reps)
    assert det.form_break_.tolist() == [False, False, False, False, True]
    assert det.reasons_[4] == (
        "tilt 4 deg below the set's first reps; 67% slower than the set's first reps"
    )


def test_form_never_contradicts_the_tilt_class() -> None:
    """An anterior rep is always a break (also among the first reps and in short sets), and a
    rep still in posterior tilt is never a TILT break, however far it fell (issue 11)."""
    reps = make_reps([-10.0, 12.0, 12.0, 5.0, -3.5], [3.0] * 5).assign(exercise="glute_bridge")
    det = FormBreakDetector().detect(reps)
    assert det.form_break_.tolist() == [True, False, False, False, True]
    assert det.reasons_[0] == "anterior tilt at lockout (back bend)"
    assert det.reasons_[3] == ""  # 7 deg below the first reps but still posterior
    short = make_reps([-4.0, 0.0], [3.0, 3.0])
    assert FormBreakDetector().detect(short).form_break_.tolist() == [True, False]
    off = FormBreakDetector(anterior_is_break=False).detect(short)
    assert not off.form_break_.any()


def test_baselines_are_per_set_order_independent_and_index_aligned() -> None:
    a = make_reps([8.0, 8.0, 8.0, 2.0], [3.0] * 4, set_no=1)  # 6 below baseline 8: break
    b = make_reps([0.0, 0.0, 0.0, -2.0], [3.0] * 4, set_no=2)  # 2 below baseline 0: fine
    reps = pd.concat([a, b], ignore_index=True)
    shuffled = reps.sample(frac=1.0, random_state=3)
    shuffled.index = shuffled.index + 100
    det = FormBreakDetector().detect(pa.Table.from_pandas(shuffled, preserve_index=False))
    assert isinstance(det.form_break_, np.ndarray) and len(det.form_break_) == len(shuffled)
    flagged = shuffled[det.form_break_]
    assert list(zip(flagged["set"], flagged["rep"], strict=True)) == [(1, 4)]


def test_short_sets_nan_tilt_and_empty_tables_never_flag() -> None:
    short = make_reps([5.0, -2.0, -2.0], [3.0, 9.0, 9.0])
    assert not FormBreakDetector().detect(short).form_break_.any()
    nan_tilt = make_reps([np.nan] * 5, [3.0] * 5)
    assert not FormBreakDetector().detect(nan_tilt).form_break_.any()
    empty = make_reps([], [])
    det = FormBreakDetector().detect(empty)
    assert det.form_break_.size == 0 and det.form_break_.dtype == bool
    assert det.reasons_.size == 0


def test_bad_input_is_an_input_error() -> None:
    with pytest.raises(InputError, match="tilt_deg"):
        FormBreakDetector().detect(make_reps([1.0], [3.0]).drop(columns="tilt_deg"))
    with pytest.raises(InputError, match="baseline_reps"):
        FormBreakDetector(baseline_reps=0).detect(make_reps([1.0], [3.0]))


def test_add_form_break_returns_a_copy_with_columns() -> None:
    reps = make_reps([5.0, 5.0, 5.0, 0.0], [3.0] * 4)
    out = add_form_break(reps, tilt_drop_deg=4.0)
    assert "form_break" not in reps.columns
    assert out["form_break"].dtype == bool
    assert out["form_break"].tolist() == [False, False, False, True]
    assert FormBreakDetector(tilt_drop_deg=4.0).get_params()["tilt_drop_deg"] == 4.0


def test_the_rule_on_an_arrow_table_is_the_rule_on_the_dataframe() -> None:
    """FormBreakDetector on an Arrow table (the analysis) gives exactly what
    :func:`imu.metrics.strength.form_breaks` gives on the DataFrame (the simulated month)."""
    rng = np.random.default_rng(7)
    parts = []
    for k in range(1, 6):
        n = int(rng.integers(1, 12))
        tilts = rng.normal(2.0, 4.0, n)
        tilts[rng.random(n) < 0.1] = np.nan
        parts.append(make_reps(list(tilts), list(rng.uniform(1.5, 4.5, n)), set_no=k))
    reps = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=1)
    reps["exercise"] = rng.choice(["glute_bridge", "squat"], len(reps))
    ref = form_breaks(reps, baseline_reps=2)
    table = arrow.table({c: reps[c].to_numpy() for c in reps.columns})
    det = FormBreakDetector(baseline_reps=2).detect(table)
    assert det.form_break_.tolist() == ref["form_break"].tolist()
    assert det.reasons_.tolist() == ref["form_reason"].tolist()
    np.testing.assert_array_equal(det.tilt_change_deg_, ref["tilt_change_deg"])
    np.testing.assert_array_equal(det.tempo_change_frac_, ref["tempo_change_frac"])
    assert ref["form_break"].any() and (ref["form_reason"] == "").any()
