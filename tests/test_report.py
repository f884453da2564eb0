"""HTML session report: valid self-contained HTML5, embedded PNGs, titled and labelled plots."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from imu.cli import main  # noqa: E402
from imu.core.errors import InputError  # noqa: E402
from imu.io.store import read_session  # noqa: E402
from imu.metrics.gait import minutes_by_clock  # noqa: E402
from imu.render.html import render_html, write_report  # noqa: E402
from imu.viz.figure import check_figure  # noqa: E402
from imu.viz.session import session_figures  # noqa: E402

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class StrictHTML(HTMLParser):
    """Records structure problems: unclosed/mismatched tags, external references, images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        for key in ("src", "href"):
            v = a.get(key)
            if v is not None and not (v.startswith("data:") or v.startswith("#")):
                self.errors.append(f"external {key}: {v[:40]}")
        if tag == "img":
            self.images.append(a)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(page: str) -> StrictHTML:
    assert page.startswith("<!DOCTYPE html>")
    p = StrictHTML()
    p.feed(page)
    p.close()
    assert p.errors == []
    assert p.stack == [], f"unclosed tags {p.stack}"
    assert p.tags[:3] == ["html", "head", "meta"]
    for img in p.images:
        src = img["src"] or ""
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        assert img.get("alt")
    return p


def strength_session(root: Path) -> Path:
    d = root / "session=bridge1"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for s in (1, 2):
        for r in range(1, 7):
            start = (s - 1) * 60 + 5 + (r - 1) * 5.0
            tilt = 5.0 - (4.0 if (s, r) == (2, 6) else 0.0) + rng.normal(0, 1)
            rows.append({"set": s, "rep": r, "start_s": start, "end_s": start + 4.0,
                         "lockout_s": start + 2.0, "concentric_s": 1.2, "top_hold_s": 1.5,
                         "eccentric_s": 1.3, "pelvis_angle_deg": 100 + tilt,
                         "hip_travel_cm": 20.0, "tilt_deg": tilt,
                         "tilt_class": "posterior" if tilt >= 3 else "neutral",
                         "form_break": (s, r) == (2, 6)})
    reps = pd.DataFrame(rows)
    reps.to_parquet(d / "reps.parquet")
    sets = reps.groupby("set").agg(start_s=("start_s", "min"), end_s=("end_s", "max"),
                                   reps=("rep", "size")).reset_index()
    sets.insert(1, "exercise", "glute_bridge")
    sets.to_parquet(d / "sets.parquet")
    t = np.arange(0, 120, 0.04)
    ang = np.zeros_like(t)
    for row in reps.itertuples():
        inside = (t >= row.start_s) & (t <= row.end_s)
        ang[inside] = row.pelvis_angle_deg * np.sin(np.pi * (t[inside] - row.start_s) / 4.0)
    pd.DataFrame({"t_s": t, "sagittal_deg": ang, "obliquity_deg": 0.0, "rotation_deg": 0.0,
                  "height_cm": 0.0}).to_parquet(d / "timeseries.parquet")
    pd.DataFrame([{"session_id": "bridge1", "started_at": "2026-11-02T07:00:00Z",
                   "activity": "strength", "exercise": "glute_bridge", "duration_s": 120.0,
                   "n_sets": 2, "n_reps": 12}]).to_parquet(d / "summary.parquet")
    return d


def run_session(root: Path, with_minutes: bool = True) -> Path:
    d = root / "session=run1"
    d.mkdir(parents=True)
    n = 600
    contact = 5 + np.arange(n) * 60 / 170
    side = np.where(np.arange(n) % 2 == 0, "L", "R")
    rng = np.random.default_rng(1)
    steps = pd.DataFrame({"step": np.arange(1, n + 1), "side": side, "contact_s": contact,
                          "toe_off_s": contact + 0.24, "gct_ms": 240 + rng.normal(0, 5, n),
                          "vo_cm": 8 + rng.normal(0, 0.3, n),
                          "pelvic_drop_deg": np.where(side == "L", 4.0, 6.0)
                          + rng.normal(0, 0.8, n)})
    steps.to_parquet(d / "steps.parquet")
    if with_minutes:
        minutes_by_clock(steps).to_parquet(d / "minutes.parquet")
    pd.DataFrame([{"session_id": "run1", "started_at": "2026-11-03T07:00:00Z",
                   "activity": "run", "exercise": None, "duration_s": 220.0, "n_sets": 0,
                   "n_reps": 0, "cadence_spm": 170.0, "pelvic_drop_left_deg": 4.0,
                   "pelvic_drop_right_deg": 6.0}]).to_parquet(d / "summary.parquet")
    return d


def test_strength_figures_titles_labels_and_marks(tmp_path: Path) -> None:
    session = read_session(strength_session(tmp_path))
    figs = {key: fig for key, _, fig in session_figures(session)}
    assert set(figs) == {"angle", "tempo", "tilt"}
    for fig in figs.values():
        check_figure(fig)
    angle = figs["angle"].get_axes()[0]
    assert angle.get_xlabel() == "time (s)" and angle.get_ylabel().endswith("(deg)")
    assert "Pelvis angle" in angle.get_title()
    assert len(angle.patches) >= 12 + 2  # one span per rep and per set
    tilt = figs["tilt"].get_axes()[0]
    bands = sorted(round(p.get_y(), 6) for p in tilt.patches)  # +-3 deg band edges
    assert -3.0 in bands and 3.0 in bands
    assert tilt.get_ylabel() == "lockout tilt (deg)"
    # one panel per set, each rep coloured by its class
    panels = [ax for ax in figs["tilt"].get_axes() if ax.get_visible() and ax.has_data()]
    assert [ax.get_title() for ax in panels] == ["set 1: glute bridge", "set 2: glute bridge"]
    from matplotlib.colors import to_hex

    colours = {to_hex(c.get_facecolors()[0]) for ax in panels for c in ax.collections
               if len(c.get_offsets()) and c.get_facecolors().size}
    assert to_hex("tab:green") in colours
    tempo = figs["tempo"].get_axes()[0]
    assert tempo.get_ylabel() == "duration (s)" and len(tempo.patches) == 3 * 12
    plt.close("all")


def test_strength_html_is_valid_and_self_contained(tmp_path: Path) -> None:
    d = strength_session(tmp_path)
    out = tmp_path / "r" / "report.html"
    assert main(["report", str(d), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    parsed = check_html(page)
    assert len(parsed.images) == 3
    alts = {img["alt"] for img in parsed.images}
    assert any("Tempo per rep" in (a or "") for a in alts)
    text = "".join(parsed.text)
    assert "Strength: verdict" in text and "reached posterior tilt" in text
    # where form broke and why (re-derived for a file written without form_reason)
    assert "Set 2: form broke in rep 6: lockout tilt fell below the set's first reps" in text
    assert "deg below the set's first reps" in text
    assert not re.search(r"(src|href)=\"(http|//|file:)", page)


def test_run_report_with_and_without_minutes(tmp_path: Path) -> None:
    for with_minutes in (True, False):
        root = tmp_path / str(with_minutes)
        session = read_session(run_session(root, with_minutes))
        figs = {key: fig for key, _, fig in session_figures(session)}
        assert set(figs) == {"minutes", "drop"}
        for fig in figs.values():
            check_figure(fig)
        axes = figs["minutes"].get_axes()
        titles = [ax.get_title("left") for ax in axes]
        assert "Cadence" in titles and "Left side sinking during right-leg stance" in titles
        cad = axes[titles.index("Cadence")]
        assert cad.get_ylabel() == "(steps/min)"
        lo, hi = cad.get_ylim()
        assert hi - lo >= 10.0  # a flat cadence is not drawn as swings
        drop = figs["drop"].get_axes()[0]
        assert drop.get_xlabel() == "pelvic drop (deg)"
        assert "mean 6.0 deg" in " ".join(t.get_text() for t in drop.get_legend().get_texts())
        plt.close("all")
        page = render_html(session)
        assert len(check_html(page).images) == 2
    path = write_report(run_session(tmp_path / "default"))
    assert path.name == "report.html" and path.parent.name == "session=run1"


def test_minutes_from_steps_cadence() -> None:
    contact = np.arange(0, 180, 60 / 170)
    steps = pd.DataFrame({"contact_s": contact, "side": np.where(np.arange(contact.size) % 2,
                                                                 "R", "L"),
                          "gct_ms": 250.0, "vo_cm": 8.0, "pelvic_drop_deg": 5.0})
    m = minutes_by_clock(steps)
    assert m["minute"].tolist() == [0, 1, 2]
    assert m["cadence_spm"].to_numpy() == pytest.approx(170.0, rel=1e-6)


def test_check_figure_rejects_missing_title_or_units() -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("angle (deg)")
    with pytest.raises(ValueError, match="title"):
        check_figure(fig)
    ax.set_title("t")
    ax.set_ylabel("angle")
    with pytest.raises(ValueError, match="unit"):
        check_figure(fig)
    ax.set_ylabel("angle (deg)")
    check_figure(fig)
    plt.close(fig)


def test_bad_session_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no summary.parquet"):
        read_session(tmp_path)
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_report_of_real_analysis_output(tmp_path: Path) -> None:
    """End to end: simulated raw sessions -> imu.analyze -> write -> report."""
    import imu
    from imu.sim import simulate

    bridge = simulate("strength", exercise="glute_bridge", n_sets=1, reps_per_set=6,
                      sample_rate_hz=100, seed=2, walking=False)
    d = imu.analyze(bridge.to_dataframe()).write(tmp_path / "out")
    session = read_session(d)
    figs = {key: fig for key, _, fig in session_figures(session)}
    assert set(figs) == {"angle", "tempo", "tilt"}
    assert len(figs["tempo"].get_axes()[0].patches) == 3 * len(session["reps"])
    assert len(check_html(render_html(session)).images) == 3

    run = simulate("run", duration_s=60, sample_rate_hz=100, seed=3, warmup_walk_s=5,
                   cooldown_walk_s=5)
    d = imu.analyze(run.to_dataframe()).write(tmp_path / "out")
    page = write_report(d, tmp_path / "run.html").read_text(encoding="utf-8")
    parsed = check_html(page)
    assert len(parsed.images) == 2
    assert "Minute by minute" in "".join(parsed.text)
