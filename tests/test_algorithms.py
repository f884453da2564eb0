"""Conformance of every algorithm in ``imu.pipeline`` to the algorithm style of
docs/architecture.md (gaitmap style): every subclass of ``imu.pipeline.base.Algorithm`` defined in
the pipeline is found and checked, so a new algorithm is checked without editing this file (it
only needs an example call in ``EXAMPLES``).

- it derives from exactly one kind base, whose action method it defines;
- ``__init__`` stores every parameter unchanged under its own name (defaults and other values);
- every ``__init__`` parameter is documented in the class docstring's ``Parameters`` section,
  every result attribute (``name_``) in its ``Results`` section;
- the action method returns ``self`` (run on a small simulated recording or a synthetic array);
- ``clone()`` gives equal parameters and no results; sub-algorithms passed as instances are not
  changed by the action.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import imu.pipeline
from imu.core.frames import GRAVITY_M_S2
from imu.pipeline.activity import detect_activity
from imu.pipeline.base import KINDS, Algorithm
from imu.pipeline.bouts import ActivityBouts, PostureBouts
from imu.pipeline.calibration import AccelerometerRefinement, StandingCalibration
from imu.pipeline.candidates import ExcursionCandidates
from imu.pipeline.gait import GaitAnalysis
from imu.pipeline.gait_bouts import GaitBouts
from imu.pipeline.gait_events import RunEvents, WalkEvents
from imu.pipeline.neutral import NeutralCalibration
from imu.pipeline.orientation import VqfOrientation
from imu.pipeline.recognition import ExerciseRecognizer
from imu.pipeline.segmentation import RepSegmentation
from imu.pipeline.sets import SetGrouping
from imu.pipeline.signals import still_mask
from imu.pipeline.strength import StrengthAnalysis
from imu.pipeline.travel import HipTravel
from imu.sim.running import simulate_run
from imu.sim.session import SimSession
from imu.sim.strength import simulate_strength


def _discover() -> list[type[Algorithm]]:
    """Every concrete Algorithm subclass defined in an ``imu.pipeline`` module."""
    for info in pkgutil.iter_modules(imu.pipeline.__path__):
        importlib.import_module(f"imu.pipeline.{info.name}")
    found: set[type[Algorithm]] = set()
    stack = [Algorithm]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub not in KINDS and sub.__module__.startswith("imu.pipeline."):
                found.add(sub)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


ALGORITHMS = _discover()

PENDING: dict[tuple[str, str], str] = {}
"""(class, check) -> why it is expected to fail for now (empty: every algorithm conforms)."""
"""(class name, check) -> why it is known to fail today (expected failure, not strict)."""


def _params(check: str) -> list[Any]:
    out = []
    for cls in ALGORITHMS:
        reason = PENDING.get((cls.__name__, check))
        marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
        out.append(pytest.param(cls, id=cls.__name__, marks=marks))
    return out


def _init_params(cls: type[Algorithm]) -> dict[str, inspect.Parameter]:
    sig = inspect.signature(cls.__init__)
    return {k: p for k, p in sig.parameters.items() if k != "self"}


def _sections(cls: type[Algorithm]) -> dict[str, set[str]]:
    """Names listed in each numpydoc-style section of the class docstring (item lines are the
    unindented lines of a section; ``a, b`` lists two names)."""
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    out: dict[str, set[str]] = {}
    current: str | None = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and set(nxt.strip()) == {"-"} and len(nxt.strip()) >= 3:
            current = line.strip()
            out[current] = set()
            continue
        if current is None or set(line.strip()) == {"-"}:
            continue
        if line and not line[0].isspace():
            out[current].update(n.strip() for n in line.split(","))
    return out


def _results(algo: Algorithm) -> set[str]:
    return {k for k in vars(algo) if k.endswith("_") and not k.startswith("_")}


# ---- data for the action methods -----------------------------------------------------------


class Data:
    """Small inputs for every action method, made once per test module."""

    @cached_property
    def strength(self) -> SimSession:
        return simulate_strength(
            exercise="glute_bridge", n_sets=1, reps_per_set=3, sample_rate_hz=50.0, seed=3,
            rest_s=(3.0, 5.0), walking=False, standing_s=4.0,
        )

    @cached_property
    def run(self) -> SimSession:
        return simulate_run(
            duration_s=20.0, sample_rate_hz=100.0, seed=5, warmup_walk_s=3.0,
            cooldown_walk_s=2.0, standing_s=4.0, turns=False,
        )

    @property
    def fs(self) -> float:
        return self.strength.raw.sample_rate_hz

    @property
    def acc(self) -> np.ndarray:
        return self.strength.raw.acc_g

    @property
    def gyr(self) -> np.ndarray:
        assert self.strength.raw.gyr_dps is not None
        return self.strength.raw.gyr_dps

    @cached_property
    def still(self) -> np.ndarray:
        return still_mask(self.acc, self.gyr, self.fs)

    @cached_property
    def r_es(self) -> Rotation:
        return VqfOrientation().estimate(self.acc, self.gyr, self.fs).orientation_

    @cached_property
    def up(self) -> np.ndarray:
        return self.r_es.apply([0.0, 0.0, 1.0], inverse=True)

    @cached_property
    def candidates(self) -> Any:
        tilt = np.degrees(np.arccos(np.clip(self.up @ self.up[0], -1, 1)))
        n = len(self.acc)
        return ExcursionCandidates().segment(
            tilt, self.r_es, np.linalg.norm(self.gyr, axis=1), self.acc_z, self.still,
            np.zeros(n, bool), np.zeros(n, bool), self.fs,
        ).candidates_

    @cached_property
    def acc_z(self) -> np.ndarray:
        return (self.r_es.apply(self.acc)[:, 2] - 1.0) * GRAVITY_M_S2

    @property
    def reps(self) -> Any:
        return self.strength.truth.reps


EXAMPLES: dict[str, Callable[[Any, Data], Any]] = {
    "StandingCalibration": lambda a, d: a.calibrate(d.acc, d.gyr, d.fs),
    "AccelerometerRefinement": lambda a, d: a.fit(d.acc, d.still, d.fs),
    "VerticalErrorFit": lambda a, d: a.fit(
        d.acc_z, d.r_es.apply([0.0, 0.0, 1.0], inverse=True),
        d.reps["start_s"].to_numpy() * d.fs, d.reps["end_s"].to_numpy() * d.fs, d.still, d.fs,
    ),
    "VqfOrientation": lambda a, d: a.estimate(d.acc, d.gyr, d.fs),
    "PelvisOrientation": lambda a, d: a.estimate(
        d.r_es, Rotation.identity(), slice(0, int(3 * d.fs)), d.fs
    ),
    "GaitBouts": lambda a, d: a.detect(d.run.raw.acc_g, d.run.raw.sample_rate_hz, d.run.raw.t_s),
    "WalkEvents": lambda a, d: a.segment(
        np.linalg.norm(d.run.raw.acc_g, axis=1), d.run.raw.sample_rate_hz,
        np.ones(d.run.raw.n_samples, dtype=bool),
    ),
    "RunEvents": lambda a, d: a.segment(
        np.linalg.norm(d.run.raw.acc_g, axis=1), d.run.raw.sample_rate_hz,
        np.ones(d.run.raw.n_samples, dtype=bool),
    ),
    "RepSegmentation": lambda a, d: a.segment(
        d.strength.truth.pelvis["sagittal_deg"].to_numpy(),
        np.linalg.norm(d.gyr, axis=1), d.fs,
        np.round(d.reps["lockout_s"].to_numpy() * d.fs).astype(np.int64), True,
    ),
    "ActivityBouts": lambda a, d: a.detect(d.acc, d.gyr, d.up, d.fs),
    "PostureBouts": lambda a, d: a.detect(d.up, d.up[0], d.still, d.fs),
    "NeutralCalibration": lambda a, d: a.calibrate(
        ActivityBouts().detect(d.acc, d.gyr, d.up, d.fs).quiet_runs_,
        ActivityBouts().detect(d.acc, d.gyr, d.up, d.fs).gait_runs_, len(d.acc), d.fs,
    ),
    "ExcursionCandidates": lambda a, d: a.segment(
        np.degrees(np.arccos(np.clip(d.up @ d.up[0], -1, 1))), d.r_es,
        np.linalg.norm(d.gyr, axis=1), d.acc_z, d.still, np.zeros(len(d.acc), bool),
        np.zeros(len(d.acc), bool), d.fs,
    ),
    "ExerciseRecognizer": lambda a, d: a.recognize(d.candidates),
    "SetGrouping": lambda a, d: a.segment(
        d.candidates, ExerciseRecognizer().recognize(d.candidates).proba_,
        ExerciseRecognizer().recognize(d.candidates).rep_proba_, d.still,
        np.zeros(len(d.acc)), d.fs,
    ),
    "HipTravel": lambda a, d: a.estimate(
        d.acc_z, d.reps["start_s"].to_numpy(), d.reps["end_s"].to_numpy(), d.fs,
        lockout_s=d.reps["lockout_s"].to_numpy(),
    ),
    "FormBreakDetector": lambda a, d: a.detect(d.reps),
    "StrengthAnalysis": lambda a, d: a.analyze(d.strength.raw, d.fs),
    "GaitAnalysis": lambda a, d: a.analyze(d.run.raw, d.run.raw.sample_rate_hz),
    "LiveRepCounter": lambda a, d: a.update(
        d.strength.raw.t_s[:400], d.acc[:400], d.gyr[:400], d.fs
    ),
}
"""One call of each algorithm's action method on small data."""


@pytest.fixture(scope="module")
def data() -> Data:
    return Data()


_RAN: dict[str, Algorithm] = {}


def _ran(cls: type[Algorithm], data: Data) -> Algorithm:
    """A default instance of ``cls`` after its action (once per class)."""
    if cls.__name__ not in _RAN:
        algo = cls()
        out = EXAMPLES[cls.__name__](algo, data)
        assert out is algo, f"{cls.__name__}.{cls._action_method} must return self"
        _RAN[cls.__name__] = algo
    return _RAN[cls.__name__]


# ---- tests -----------------------------------------------------------------------------------


def test_discovery_finds_the_pipeline() -> None:
    names = {c.__name__ for c in ALGORITHMS}
    assert {"StandingCalibration", "RepSegmentation", "StrengthAnalysis", "GaitAnalysis"} <= names
    assert names <= set(EXAMPLES), f"add an example call for {sorted(names - set(EXAMPLES))}"


@pytest.mark.parametrize("cls", _params("kind"))
def test_derives_from_one_kind_and_defines_its_action(cls: type[Algorithm]) -> None:
    kinds = [k for k in KINDS if issubclass(cls, k)]
    assert len(kinds) == 1, f"{cls.__name__} derives from {kinds}, expected one kind base"
    action = cls._action_method
    assert action and callable(getattr(cls, action, None)), f"no action method {action!r}"


@pytest.mark.parametrize("cls", _params("stored"))
def test_parameters_are_stored_unchanged(cls: type[Algorithm]) -> None:
    params = _init_params(cls)
    algo = cls()
    for name, p in params.items():
        assert p.default is not inspect.Parameter.empty, f"{name} has no default"
        assert getattr(algo, name) is p.default or getattr(algo, name) == p.default, name
    assert algo.get_params().keys() == params.keys()
    # Any other value (here: unique objects) is stored as given, not copied or converted.
    values = {name: object() for name in params}
    other = cls(**values)
    for name, value in values.items():
        assert getattr(other, name) is value, f"{cls.__name__}.{name} not stored unchanged"
    # set_params: by name, returns self, rejects unknown names.
    if params:
        name = next(iter(params))
        marker = object()
        assert algo.set_params(**{name: marker}) is algo and getattr(algo, name) is marker
    with pytest.raises(ValueError, match="no parameter"):
        algo.set_params(not_a_parameter=1)


@pytest.mark.parametrize("cls", _params("documented"))
def test_parameters_and_results_are_documented(cls: type[Algorithm], data: Data) -> None:
    sections = _sections(cls)
    params = set(_init_params(cls))
    missing = params - sections.get("Parameters", set())
    assert not missing, f"{cls.__name__}: parameters not in the docstring: {sorted(missing)}"
    results = _results(_ran(cls, data))
    assert results, f"{cls.__name__} set no result attribute"
    missing = results - sections.get("Results", set())
    assert not missing, f"{cls.__name__}: results not in the docstring: {sorted(missing)}"


@pytest.mark.parametrize("cls", _params("action"))
def test_action_method_returns_self(cls: type[Algorithm], data: Data) -> None:
    assert _ran(cls, data) is not None


@pytest.mark.parametrize("cls", _params("no_results_before_action"))
def test_no_results_before_the_action(cls: type[Algorithm]) -> None:
    assert _results(cls()) == set()


@pytest.mark.parametrize("cls", _params("clone"))
def test_clone_has_equal_params_and_no_results(cls: type[Algorithm], data: Data) -> None:
    algo = _ran(cls, data)
    c = algo.clone()
    assert type(c) is cls and c is not algo
    assert c.get_params() == algo.get_params()
    assert _results(c) <= _results(cls())  # nothing the action computed


def test_injected_sub_algorithms_are_cloned_not_changed(data: Data) -> None:
    subs = {
        "bouts": ActivityBouts(min_quiet_s=0.6),
        "calibration": NeutralCalibration(min_standing_s=2.0),
        "posture": PostureBouts(lying_deg=30.0),
        "candidates": ExcursionCandidates(min_prominence_deg=7.0),
        "recognizer": ExerciseRecognizer(),
        "grouping": SetGrouping(max_gap_s=11.0),
        "segmentation": RepSegmentation(top_zone=0.12),
        "travel": HipTravel(pad_s=0.12),
        "refinement": AccelerometerRefinement(),
    }
    sa = StrengthAnalysis(exercise="glute_bridge", **subs).analyze(data.strength.raw, data.fs)
    assert len(sa.reps_) == 3
    for name, sub in subs.items():
        assert getattr(sa, name) is sub and _results(sub) == set(), name
    bouts = GaitBouts()
    assert detect_activity(data.run.raw, bouts=bouts) in ("run", "strength")
    assert _results(bouts) == set()
    gait_subs = {"bouts": GaitBouts(), "walk_events": WalkEvents(), "run_events": RunEvents(),
                 "calibration": StandingCalibration()}
    ga = GaitAnalysis(**gait_subs).analyze(data.run.raw, data.run.raw.sample_rate_hz)
    assert len(ga.steps_) > 10
    for name, sub in gait_subs.items():
        assert getattr(ga, name) is sub and _results(sub) == set(), name
