"""Shared base of the pipeline's algorithms (gaitmap style) and one base per kind.

Parameters with defaults go to ``__init__`` and are stored unchanged under their own names; data
and ``sampling_rate_hz`` go to ONE action method that returns ``self``; results end in ``_``.
Sub-algorithms are passed as instances and cloned before use, so a parameter object is never
mutated. Algorithms of one kind derive from the kind's base, which names the action method, so
they can be swapped:

=============================  =================  ==========================================
kind (base)                    action method      algorithms
=============================  =================  ==========================================
:class:`CalibrationAlgorithm`  ``calibrate``      StandingCalibration, NeutralCalibration
:class:`ErrorFitAlgorithm`     ``fit``            AccelerometerRefinement, VerticalErrorFit
:class:`OrientationAlgorithm`  ``estimate``       VqfOrientation, PelvisOrientation
:class:`BoutAlgorithm`         ``detect``         GaitBouts, ActivityBouts, PostureBouts
:class:`SegmentationAlgorithm` ``segment``        ExcursionCandidates, SetGrouping, RepSegmentation,
                                                  WalkEvents, RunEvents
:class:`TravelAlgorithm`       ``estimate``       HipTravel
:class:`FormAlgorithm`         ``detect``         FormBreakDetector
:class:`RecognitionAlgorithm`  ``recognize``      ExerciseRecognizer
:class:`AnalysisAlgorithm`     ``analyze``        StrengthAnalysis, GaitAnalysis
:class:`StreamingAlgorithm`    ``update``         LiveRepCounter (the strength stages on a stream)
=============================  =================  ==========================================

Reference: Kuederle A et al. (2024) Gaitmap - an open ecosystem for IMU-based human gait
analysis and algorithm benchmarking. IEEE Open J Eng Med Biol 5:163-172.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, ClassVar, Self


class Algorithm:
    """Base of every pipeline algorithm (through the base of its kind)."""

    _action_method: ClassVar[str] = ""
    """Name of the one method that takes the data and returns ``self`` (set by each kind)."""

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters and their current values (for provenance)."""
        sig = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name in sig.parameters
            if name != "self" and hasattr(self, name)
        }

    def set_params(self, **params: Any) -> Self:
        """Set parameters by name (ValueError for a name ``__init__`` does not take)."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)
        return self

    def clone(self) -> Self:
        """A fresh copy with the same parameters and no results."""
        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class CalibrationAlgorithm(Algorithm):
    """Sensor calibration from a known posture: ``calibrate(acc_g, gyr_dps, sampling_rate_hz)``
    (e.g. gyroscope bias and world-up from quiet standing)."""

    _action_method = "calibrate"


class ErrorFitAlgorithm(Algorithm):
    """A sensor error model (bias, scale) fitted from physical constraints with ``fit(...)``;
    the fitted model then corrects the data (e.g. ``apply``)."""

    _action_method = "fit"


class OrientationAlgorithm(Algorithm):
    """Orientation per sample: ``estimate(..., sampling_rate_hz)``; result ``orientation_``."""

    _action_method = "estimate"


class BoutAlgorithm(Algorithm):
    """Activity bouts (e.g. running, walking) per sample: ``detect(signal, sampling_rate_hz)``."""

    _action_method = "detect"


class SegmentationAlgorithm(Algorithm):
    """Sets, reps and phases from movement signals: ``segment(..., sampling_rate_hz, ...)``."""

    _action_method = "segment"


class TravelAlgorithm(Algorithm):
    """Displacement of the pelvis centre within intervals: ``estimate(...)``."""

    _action_method = "estimate"


class FormAlgorithm(Algorithm):
    """Form flags on a table of reps: ``detect(reps)``."""

    _action_method = "detect"


class RecognitionAlgorithm(Algorithm):
    """Names things from features with a fitted model: ``recognize(features)`` (e.g. the
    exercise of each rep candidate); results are class probabilities and labels."""

    _action_method = "recognize"


class AnalysisAlgorithm(Algorithm):
    """A whole session analysis: ``analyze(raw, sampling_rate_hz)``; results are the session's
    tables (``reps_``, ``sets_``, ``steps_``, ``summary_``, ``timeseries_``, ...)."""

    _action_method = "analyze"


class StreamingAlgorithm(Algorithm):
    """A causal algorithm fed block by block: ``update(block, sampling_rate_hz)`` keeps state
    between calls and returns ``self``."""

    _action_method = "update"


KINDS: tuple[type[Algorithm], ...] = (
    CalibrationAlgorithm,
    ErrorFitAlgorithm,
    OrientationAlgorithm,
    BoutAlgorithm,
    SegmentationAlgorithm,
    TravelAlgorithm,
    FormAlgorithm,
    RecognitionAlgorithm,
    AnalysisAlgorithm,
    StreamingAlgorithm,
)
"""The kind bases; every concrete algorithm derives from exactly one of them."""
