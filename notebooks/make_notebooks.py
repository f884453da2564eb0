"""Generate the example notebooks, committed WITHOUT outputs:
``python notebooks/make_notebooks.py``.

Each notebook tells one user's story on simulated data and runs top to bottom in well under a
minute; tests/test_notebooks.py executes them with nbclient.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

SETUP = """\
%matplotlib inline
import sys
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import HTML, display

import imu

pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 20)
work = Path(tempfile.mkdtemp(prefix="imu-notebook-"))
print("imu", imu.__version__, "| python", sys.executable)
print("working folder:", work)"""


def bridge() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# A glute-bridge session, rep by rep\n\n"
            "Maya does two sets of glute bridges with the sensor clipped on her left hip. "
            "She wants to know, for every rep: how long she pushed up, held and lowered "
            "(tempo), whether her pelvis finished in **posterior tilt** at the top (the goal) "
            "or arched into an anterior tilt (a 'back bend'), and when her form broke down.\n\n"
            "We simulate her session (the simulator knows the truth), analyse the raw file as "
            "the `imu analyze` command would, and check the result against the truth."
        ),
        new_code_cell(SETUP),
        new_markdown_cell(
            "## 1. Record (simulated)\n\nA raw session file is what the sensor delivers: "
            "time, specific force (g) and angular rate (deg/s) in the sensor's own axes, "
            "starting with a few seconds of quiet standing."
        ),
        new_code_cell(
            "from imu.sim import simulate\n\n"
            "sim = simulate('strength', exercise='glute_bridge', n_sets=2, reps_per_set=10,\n"
            "               sample_rate_hz=100, seed=11, rest_s=(15, 25))\n"
            "raw_path = sim.write(work / 'bridge.raw.parquet')\n"
            "raw = pd.read_parquet(raw_path)\n"
            "print(f'{len(raw)} samples, {raw.t_s.iloc[-1]:.0f} s')\n"
            "raw.head()"
        ),
        new_markdown_cell("## 2. Analyse\n\n`imu.analyze` is the Python form of `imu analyze`."),
        new_code_cell(
            "result = imu.analyze(raw_path)\n"
            "out_dir = result.write(work / 'analysis')\n"
            "print('written to', out_dir)\n"
            "result"
        ),
        new_markdown_cell(
            "The report `imu analyze` prints: the verdicts first (posterior tilt, where form "
            "broke and why), then every rep."
        ),
        new_code_cell("print(imu.report(result))"),
        new_code_cell(
            "reps = result.reps\n"
            "cols = ['set', 'rep', 'concentric_s', 'top_hold_s', 'eccentric_s', 'tilt_deg',\n"
            "        'tilt_class', 'hip_travel_cm', 'form_break', 'form_reason']\n"
            "reps[[c for c in cols if c in reps.columns]].round(2)"
        ),
        new_markdown_cell(
            "## 3. Check against the truth\n\nThe simulator recorded the true lockout tilt "
            "of every rep. Matching reps by their lockout time shows how close the sensor "
            "gets."
        ),
        new_code_cell(
            "truth = sim.truth.reps[['lockout_s', 'tilt_deg', 'tilt_class']]\n"
            "m = pd.merge_asof(reps.sort_values('lockout_s'), truth.sort_values('lockout_s'),\n"
            "                  on='lockout_s', direction='nearest', tolerance=1.0,\n"
            "                  suffixes=('', '_true')).dropna(subset=['tilt_deg_true'])\n"
            "err = (m.tilt_deg - m.tilt_deg_true).abs()\n"
            "print(f'{len(m)} of {len(truth)} true reps found; '\n"
            "      f'lockout tilt error: median {err.median():.1f} deg, max {err.max():.1f} deg')\n"
            "print('tilt class agrees for', int((m.tilt_class == m.tilt_class_true).sum()),\n"
            "      'of', len(m), 'reps')"
        ),
        new_markdown_cell(
            "## 4. Form breaks\n\n`FormBreakDetector` compares each rep with the first three "
            "reps of its set: a lockout tilt more than 3 deg lower, or a rep more than 30% "
            "faster or slower, is a form break. The advice: stop the set there."
        ),
        new_code_cell(
            "from imu.pipeline.form import FormBreakDetector\n\n"
            "det = FormBreakDetector(baseline_reps=3, tilt_drop_deg=3.0,\n"
            "                        tempo_change_frac=0.3).detect(reps)\n"
            "broken = reps.assign(reason=det.reasons_)[det.form_break_]\n"
            "print(f'{len(broken)} of {len(reps)} reps flagged')\n"
            "broken[['set', 'rep', 'tilt_deg', 'reason']]"
        ),
        new_markdown_cell(
            "## 5. Pictures\n\nThe same plots go into the one-file HTML report "
            "(`imu report SESSION_DIR`)."
        ),
        new_code_cell(
            "from imu.io.store import read_session\n"
            "from imu.render.html import write_report\n"
            "from imu.viz.session import session_figures\n\n"
            "for key, caption, fig in session_figures(read_session(out_dir)):\n"
            "    print(caption)\n"
            "    display(fig)\n"
            "page = write_report(out_dir)\n"
            "print('report:', page, f'({page.stat().st_size / 1e3:.0f} kB, self-contained)')"
        ),
    ]
    return new_notebook(cells=cells, metadata=_meta())


def run() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# A run, analysed for pelvic stability\n\n"
            "Sam runs with the sensor clipped on his left hip. His physiotherapist wants to "
            "know whether the pelvis **drops** on the side opposite "
            "the stance leg (contralateral pelvic drop, a sign of weak hip abductors), whether "
            "one side is worse, and whether it gets worse **as he tires** (drop drift).\n\n"
            "The simulated Sam has a weaker right side (7 deg drop in right stance against "
            "4 deg in left stance) and a drop that grows by 1.5 deg over the run."
        ),
        new_code_cell(SETUP),
        new_code_cell(
            "from imu.sim import simulate\n\n"
            "sim = simulate('run', duration_s=240, sample_rate_hz=100, seed=5, speed_m_s=3.3,\n"
            "               cadence_spm=172, drop_left_deg=4.0, drop_right_deg=7.0,\n"
            "               drift_deg=1.5, warmup_walk_s=15, cooldown_walk_s=15)\n"
            "raw_path = sim.write(work / 'run.raw.parquet')\n"
            "result = imu.analyze(raw_path)\n"
            "out_dir = result.write(work / 'analysis')\n"
            "cols = ['cadence_spm', 'gct_ms', 'gct_balance_left_pct', 'vo_cm',\n"
            "        'pelvic_drop_left_deg', 'pelvic_drop_right_deg', 'pelvic_rotation_deg',\n"
            "        'drop_drift_deg']\n"
            "result.summary[[c for c in cols if c in result.summary.columns]].T.round(2)"
        ),
        new_code_cell("print(imu.report(result))  # the verdicts against typical ranges"),
        new_markdown_cell(
            "## Left against right\n\n`pelvic_drop_left_deg` is the mean drop during LEFT-leg "
            "stance (the right side of the pelvis sinks), and vice versa."
        ),
        new_code_cell(
            "steps = result.steps\n"
            "by_side = steps.groupby('side')['pelvic_drop_deg'].describe()\n"
            "by_side = by_side[['count', 'mean', 'std']]\n"
            "print(by_side.round(2))\n"
            "s = result.summary.iloc[0]\n"
            'print(f"built in: left 4.0, right 7.0 deg; measured: left "\n'
            '      f"{s.pelvic_drop_left_deg:.1f}, right {s.pelvic_drop_right_deg:.1f} deg")\n'
            "worse = 'right' if s.pelvic_drop_right_deg > s.pelvic_drop_left_deg else 'left'\n"
            "print(f'The pelvis drops more in {worse}-leg stance: strengthen that hip.')"
        ),
        new_markdown_cell("## As he tires\n\nPer-minute metrics across the run:"),
        new_code_cell("result.minutes.round(2)"),
        new_code_cell(
            'print(f"drop drift (last tenth minus first tenth of the run): "\n'
            '      f"{s.drop_drift_deg:+.1f} deg (built in: +1.5 deg)")\n'
            "print('Advice: keep the pelvis level as you tire.')"
        ),
        new_code_cell(
            "from imu.io.store import read_session\n"
            "from imu.render.html import write_report\n"
            "from imu.viz.session import session_figures\n\n"
            "for key, caption, fig in session_figures(read_session(out_dir)):\n"
            "    print(caption)\n"
            "    display(fig)\n"
            "print('report:', write_report(out_dir))"
        ),
    ]
    return new_notebook(cells=cells, metadata=_meta())


def month() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# A month of sessions as trends\n\n"
            "Maya trained every day for a month: glute bridges on most days, a run every third "
            "day. Are her bridges getting better (more reps locking out in posterior tilt)? "
            "Is anything in her running getting worse?\n\n"
            "`simulate_month` writes a month in the `imu analyze` output layout with KNOWN "
            "built-in trends: the posterior-tilt share of bridge reps rises 12 percentage "
            "points a week, the pelvic drop of right-leg stance (the left side sinking) rises 0.8 "
            "deg a week, everything else "
            "is flat. Here we use its fast table-level mode; `mode='raw', "
            "analyze=imu.analyze` instead simulates every raw session and runs `imu.analyze` "
            "on it (about a minute; the benchmark "
            "`benchmarks/bench_trends.py` checks both)."
        ),
        new_code_cell(SETUP),
        new_code_cell(
            "from imu.sim.month import MonthTrends, simulate_month\n\n"
            "month_dir = work / 'month'\n"
            "plan = simulate_month(month_dir, days=30, seed=0)\n"
            "print(sorted(p.name for p in month_dir.glob('session=*'))[:4], '...')\n"
            "plan.head(7)"
        ),
        new_markdown_cell(
            "The folder is one Hive-partitioned dataset, so any Parquet tool reads it:"
        ),
        new_code_cell(
            "import pyarrow.dataset as ds\n\n"
            "summaries = ds.dataset(sorted(month_dir.glob('session=*/summary.parquet')),\n"
            "                       format='parquet', partitioning='hive').to_table().to_pandas()\n"
            "summaries.groupby('activity').size()"
        ),
        new_markdown_cell("## Trends (what `imu trends DIR` prints)"),
        new_code_cell(
            "from imu.trends import compute_trends\n"
            "from imu.viz.trends import trend_figures\n\n"
            "report = compute_trends(month_dir)\n"
            "print(report.to_text())"
        ),
        new_markdown_cell(
            "Each slope comes from an ordinary least-squares line through the daily values, "
            "with a 95% confidence interval. A change is flagged only when the interval "
            "excludes zero (also after a Holm correction over all metrics) AND the change "
            "over the month is practically meaningful (e.g. >= 1 deg of pelvic drop). "
            "Compare with what was built in:"
        ),
        new_code_cell(
            "t = report.trends.set_index('metric')\n"
            "built = pd.Series(MonthTrends().expected(), name='built_in_per_week')\n"
            "cmp = t.loc[built.index, ['slope_per_week', 'ci_low', 'ci_high', 'flagged']]\n"
            "cmp.insert(0, 'built_in_per_week', built)\n"
            "cmp.round(2)"
        ),
        new_code_cell(
            "for key, fig in trend_figures(report):\n"
            "    if key in ('trend_posterior_tilt_pct', 'trend_pelvic_drop_right_deg',\n"
            "               'trend_cadence_spm', 'trend_training_days'):\n"
            "        display(fig)"
        ),
        new_markdown_cell("## What to do\n\nThe advice attached to flags that go the wrong way:"),
        new_code_cell(
            "for line in report.flags:\n"
            "    print('-', line)\n"
            "for line in report.advice:\n"
            "    print('>>', line)"
        ),
    ]
    return new_notebook(cells=cells, metadata=_meta())


def _meta() -> dict:
    return {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }


NOTEBOOKS = {
    "01_bridge_session.ipynb": bridge,
    "02_run_pelvic_stability.ipynb": run,
    "03_month_trends.ipynb": month,
}


def main() -> None:
    for name, make in NOTEBOOKS.items():
        nb = make()
        for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
            cell["id"] = f"{name.split('_')[0]}-{i:02d}"
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
