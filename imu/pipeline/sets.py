"""Sets from recognised rep candidates (strength stage c, second half; docs/algorithms.md
section 5).

Candidates that the recogniser takes for reps are grouped in time: consecutive rep candidates
belong to one set unless they lie in different posture spans (a walk, lying down or getting up
between them), more than ``max_gap_s`` apart, separated by a quiet pause longer than
``split_pause_s`` (within a set the pelvis rests at most ~3 s between reps; between sets people
rest longer). A set's exercise is the given
one, else the exercise with the largest sum of log-probabilities over its candidates (the
"none" class left out): many weak votes of one rep each make one strong vote for the set. A
member must then be more likely a rep of the set's exercise (or its look-alike) than no rep at
all: putting the bar down after a set of RDLs looks like a deadlift rep, not like an RDL. A
candidate the recogniser doubts joins a set when it lies among or next to the set's reps and
moves like them (reps in a set look alike). Sets
of any number of reps >= 1 are kept; a recognised set of one rep needs a clear vote
(``min_single_proba``), or a sure rep of an exercise it cannot name
(``min_single_rep_proba``). Unilateral work turns the pelvis about the vertical
toward the working side; two reps turning to opposite sides are the two sides' sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imu.core.exercises import EXERCISES
from imu.pipeline.base import SegmentationAlgorithm
from imu.pipeline.recognition import CLASSES, NONE, n_rows
from imu.pipeline.signals import runs

LOOK_ALIKE: Final = {"hip_hinge": ("romanian_deadlift",), "romanian_deadlift": ("hip_hinge",)}
"""Exercises whose reps the recogniser may mix up within one set (same movement, different
load): a member voting for the look-alike still belongs to the set."""


@dataclass(frozen=True)
class CandidateSet:
    """A set of rep candidates: ``set`` (1-based), ``exercise``, ``members`` (candidate
    positions, in time order), ``span`` (posture span), ``confidence`` (mean probability of the
    set's exercise over its members)."""

    set: int
    exercise: str
    members: NDArray[np.int64]
    span: int
    confidence: float


class SetGrouping(SegmentationAlgorithm):
    """Group rep candidates into sets and name each set's exercise.

    Parameters
    ----------
    min_rep_proba
        A candidate with a rep probability below this is not a rep.
    max_gap_s
        A longer time between the extremes of consecutive reps starts a new set.
    split_pause_s
        A quiet pause longer than this between two reps starts a new set.
    pause_range_deg
        A quiet run counts as a pause only if the excursion signal varies less than this in it.
    side_yaw_deg
        Two consecutive reps that turn the pelvis about the vertical by at least this much to
        opposite sides start a new set (unilateral work: the other leg).
    alike_log
        A doubted candidate between or next to a set's reps joins the set when its range of
        rotation is within this log-ratio of the reps' median and its hip travel within this
        fraction (+3 cm); for knee-dominant sets (hip travel >= 20 cm) the travel alone
        (:meth:`_rescue`).
    switch_proba
        Two consecutive reps both recognised with at least this probability as different
        exercises start a new set (above 1: never; a squat rep among split squats is a
        recognition error, not a new set).
    min_single_proba
        A set of one rep, its exercise recognised (not given), needs at least this
        probability of that exercise (with its look-alike): a lone move between sets (sitting
        down on a bench tips the pelvis like a single-leg RDL) makes no set on a weak vote.
    min_single_rep_proba
        ... unless its rep probability is at least this (1 - the probability of "none" when
        no exercise is named): the recogniser is sure it is a rep of some exercise. A lone
        hinge rep it cannot tell from the other hinges (p of each 0.3-0.5, of "none" <= 0.07)
        is a set; sitting down (p of "none" 0.3) is not.

    Results
    -------
    sets_
        The sets in order (:class:`CandidateSet`: ``set``, ``exercise``, ``members``,
        ``span``, ``confidence``).
    set_of_candidate_
        Set number per candidate (0: not a rep).
    """

    def __init__(
        self,
        min_rep_proba: float = 0.5,
        max_gap_s: float = 12.0,
        split_pause_s: float = 3.5,
        switch_proba: float = 1.1,
        pause_range_deg: float = 3.0,
        side_yaw_deg: float = 4.0,
        alike_log: float = 0.4,
        min_single_proba: float = 0.5,
        min_single_rep_proba: float = 0.9,
    ) -> None:
        self.min_rep_proba = min_rep_proba
        self.max_gap_s = max_gap_s
        self.split_pause_s = split_pause_s
        self.switch_proba = switch_proba
        self.pause_range_deg = pause_range_deg
        self.side_yaw_deg = side_yaw_deg
        self.alike_log = alike_log
        self.min_single_proba = min_single_proba
        self.min_single_rep_proba = min_single_rep_proba

    def segment(
        self,
        candidates: Mapping[str, ArrayLike],
        proba: NDArray[np.float64],
        rep_proba: ArrayLike,
        quiet: NDArray[np.bool_],
        excursion_deg: NDArray[np.float64],
        sampling_rate_hz: float,
        exercise: str | None = None,
    ) -> Self:
        """Sets from the candidates (arrays by name, in time order within spans), their class
        probabilities ((candidates, :data:`~imu.pipeline.recognition.CLASSES`)), rep
        probabilities, the quiet samples and the candidates' excursion signal (a pause is quiet
        AND the excursion stays put: slow reps can look quiet to the gyroscope)."""
        fs = float(sampling_rate_hz)
        n = n_rows(candidates)
        col = {c: np.asarray(candidates[c]) for c in candidates}
        order = np.argsort(col["peak"], kind="stable") if n else np.zeros(0, int)
        rep = np.asarray(rep_proba, dtype=float)[order]
        is_rep = rep >= self.min_rep_proba
        peaks = col["peak"][order]
        span = col["span"][order]
        yaw = col["yaw_deg"][order] if "yaw_deg" in col else np.zeros(n)
        proba = np.asarray(proba, dtype=float)
        p_ex = (proba[:, [CLASSES.index(e) for e in EXERCISES]][order] if n
                else np.zeros((0, len(EXERCISES))))
        q = runs(quiet)
        if len(q):  # np.ptp per quiet run, all runs in one pass (disjoint, ascending)
            x = np.append(np.asarray(excursion_deg), 0.0)  # the last run may end at the end
            edges = q.ravel()
            still = (np.maximum.reduceat(x, edges)[0::2] - np.minimum.reduceat(x, edges)[0::2])
            q = q[still <= self.pause_range_deg]
        groups: list[list[int]] = []
        cur: list[int] = []
        for i in np.flatnonzero(is_rep):
            if cur:
                j = cur[-1]
                if self._split(j, i, peaks, span, yaw, p_ex, q, fs, exercise):
                    groups.append(cur)
                    cur = []
            cur.append(int(i))
        if cur:
            groups.append(cur)
        rows: list[CandidateSet] = []
        set_of = np.zeros(n, dtype=np.int64)
        p_none = proba[:, CLASSES.index(NONE)][order] if n else np.zeros(0)
        prom = col["prominence_deg"].astype(float)[order] if "prominence_deg" in col else (
            np.ones(n))
        feats = {c: col[c].astype(float)[order] if c in col else np.zeros(n)
                 for c in ("amp_deg", "travel_cm", "tilt_ext_deg", "lying")}
        taken = np.zeros(n, dtype=bool)
        for g in groups:
            taken[np.asarray(g)] = True
        for g in groups:
            gi = np.asarray(g)
            if exercise is not None:
                name = exercise
            else:
                pn = p_ex[gi] / np.maximum(p_ex[gi].sum(axis=1, keepdims=True), 1e-12)
                name = EXERCISES[int(np.argmax(np.log(pn + 1e-4).sum(axis=0)))]
            # a member must be more likely a rep of the set's exercise (or its look-alike)
            # than not a rep: a set-up or exit move next to the set looks like another
            # exercise's rep (putting the bar down after RDLs is a deadlift)
            fam = [EXERCISES.index(e) for e in (name, *LOOK_ALIKE.get(name, ()))]
            keep = p_ex[gi][:, fam].sum(axis=1) >= p_none[gi]
            taken[gi[~keep]] = False  # free to join as look-alikes (_rescue)
            # without those moves, what they bridged may fall apart (the two sides of
            # unilateral work, sets before and after a re-rack)
            if not keep.any():
                continue
            kept = self._rescue([int(i) for i in gi[keep]], peaks, span, yaw, p_ex, q, fs,
                                name, feats, taken, prom)
            taken[np.asarray(kept)] = True
            parts: list[list[int]] = []
            for i in kept:
                if parts and not self._split(parts[-1][-1], int(i), peaks, span, yaw, p_ex, q,
                                             fs, name):
                    parts[-1].append(int(i))
                else:
                    parts.append([int(i)])
            for part in parts:
                pi = np.asarray(part)
                if (exercise is None and pi.size == 1
                        and p_ex[pi[0], fam].sum() < self.min_single_proba
                        and rep[pi[0]] < self.min_single_rep_proba):
                    continue
                members = order[pi]
                conf = float(p_ex[pi][:, EXERCISES.index(name)].mean())
                set_of[members] = len(rows) + 1
                rows.append(CandidateSet(len(rows) + 1, name, members.astype(np.int64),
                                         int(span[pi[0]]), conf))
        self.sets_ = rows
        self.set_of_candidate_ = set_of
        return self

    def _alike(self, i: int, members: list[int], feats: dict[str, NDArray[np.float64]]
               ) -> bool:
        """Candidate ``i`` looks like the set's reps (range of rotation, hip travel, tilt at the
        extreme, posture)."""
        m = np.asarray(members)
        amp, trav, tilt = (float(np.median(feats[k][m])) for k in ("amp_deg", "travel_cm",
                                                                    "tilt_ext_deg"))
        same_amp = abs(np.log(max(feats["amp_deg"][i], 1e-3) / max(amp, 1e-3))) <= self.alike_log
        return bool(
            feats["lying"][i] == feats["lying"][m[0]]
            and (same_amp or abs(trav) >= 20.0)  # knee-dominant: the hips' travel is the rep
            and abs(feats["travel_cm"][i] - trav) <= self.alike_log * abs(trav) + 3.0
            and abs(feats["tilt_ext_deg"][i] - tilt) <= 15.0
        )

    def _rescue(self, part: list[int], peaks: NDArray[np.int64], span: NDArray[np.int64],
                yaw: NDArray[np.float64], p_ex: NDArray[np.float64], q: NDArray[np.int64],
                fs: float, name: str, feats: dict[str, NDArray[np.float64]],
                taken: NDArray[np.bool_], prom: NDArray[np.float64]) -> list[int]:
        """Add the candidates between and next to a set's reps that look like them.

        Reps in a set look alike; a rep the recogniser doubts (a form it has not seen: real
        squats with a deep trunk lean, the last rep of a recording cut right after it) is
        still one when it sits among its set's reps and moves like them."""
        out = sorted(part)
        inner = [i for i in range(out[0] + 1, out[-1]) if i not in out and not taken[i]]
        out = sorted(out + [i for i in inner if span[i] == span[out[0]]
                            and self._alike(i, part, feats)])
        small = 0.3 * float(np.median(prom[np.asarray(part)]))
        for step in (-1, 1):
            i = (out[0] if step < 0 else out[-1]) + step
            while 0 <= i < len(peaks) and not taken[i]:
                edge = out[0] if step < 0 else out[-1]
                a, b = (i, edge) if step < 0 else (edge, i)
                if self._split(a, b, peaks, span, yaw, p_ex, q, fs, name):
                    break
                if prom[i] < small:  # a wobble at rest between reps: look past it
                    i += step
                    continue
                if not self._alike(i, part, feats):
                    break
                out = sorted([*out, i])
                i += step
        return out

    def _split(self, j: int, i: int, peaks: NDArray[np.int64], span: NDArray[np.int64],
               yaw: NDArray[np.float64], p_ex: NDArray[np.float64], q: NDArray[np.int64],
               fs: float, exercise: str | None) -> bool:
        a, b = int(peaks[j]), int(peaks[i])
        if span[i] != span[j] or (b - a) > self.max_gap_s * fs:
            return True
        yj, yi = yaw[j], yaw[i]
        if min(abs(yj), abs(yi)) >= self.side_yaw_deg and np.sign(yj) != np.sign(yi):
            return True  # unilateral work, the other side
        if len(q):
            # the longest quiet run within [a, b] (the runs are disjoint and ascending: only
            # those from the first ending after a to the last starting before b overlap it)
            k0 = int(np.searchsorted(q[:, 1], a, side="right"))
            k1 = int(np.searchsorted(q[:, 0], b, side="left"))
            overlap = (int((np.minimum(q[k0:k1, 1], b) - np.maximum(q[k0:k1, 0], a)).max())
                       if k1 > k0 else 0)
            # the quiet mask reaches half its 0.4-s window into the moves on either side
            if overlap > (self.split_pause_s + 0.4) * fs:
                return True
        if exercise is None:
            pj, pi = p_ex[j], p_ex[i]
            kj, ki = int(np.argmax(pj)), int(np.argmax(pi))
            if kj != ki and pj[kj] >= self.switch_proba and pi[ki] >= self.switch_proba:
                return True
        return False
