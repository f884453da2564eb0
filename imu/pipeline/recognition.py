"""Exercise recognition per rep candidate (strength stage d; docs/algorithms.md section 5).

Every rep candidate (:mod:`imu.pipeline.candidates`) is described by mounting-independent
features of the pelvis: rest posture (tilt from neutral, lying or not), range and axis of the
rotation (sagittal share, rotation about the vertical: left-right asymmetry), vertical travel of
the hips and its ratio to the rotation, closure (does it come back to where it started), rhythm
(duration, hold at the extreme, spacing and likeness of the neighbouring candidates). A small
neural network (one hidden layer, tanh, softmax over the 11 contract exercises and "none")
turns them into class probabilities; :mod:`imu.pipeline.sets` sums the log-probabilities of a
set's candidates to name the set.

The model is a versioned JSON file shipped with the package (``models/``): feature transforms
(log of the scale features), standardisation, and the weights. It was fitted on simulated
workouts and single-exercise sessions (seeds disjoint from the tests and the evaluations) by
``benchmarks/train_recognizer.py``, which documents the data and prints the training and
validation confusion; running it needs only numpy and scipy, as does this module.

When the user names the exercise, every set is that exercise; the model then only separates
reps from "none" (set-up moves, fidgets, transitions): p(rep) = p(exercise) / (p(exercise) +
p(none)).

Physics first: a candidate inside a lying block (on the back, on hands and knees, shoulders on
a bench) is not a rep of an exercise that rests standing or kneeling upright
(:data:`NOT_LYING`); those probabilities are set to zero and the rest renormalised (a
single-leg bridge set was once named a split squat, its angles then read 200 deg off).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imu.core.exercises import EXERCISES, REGISTRY
from imu.pipeline.base import RecognitionAlgorithm

NONE: Final = "none"
CLASSES: Final = (*EXERCISES, NONE)
"""The recogniser's classes: the contract's exercises, then "none" (not a rep)."""
NOT_LYING: Final = tuple(
    n for n, e in REGISTRY.items() if e.posture in ("standing", "kneeling") and not e.rest_at_bottom
)
"""Exercises that rest upright between reps: never reps of a candidate in a lying block."""
MODEL_FILE: Final = "exercise_recognizer_v1.json"
"""The packaged model (``imu/pipeline/models``)."""


@cache
def load_model(path: str | None = None) -> dict[str, Any]:
    """The model's parameters (the packaged one when ``path`` is None)."""
    if path is None:
        text = resources.files("imu.pipeline").joinpath("models", MODEL_FILE).read_text()
    else:
        text = Path(path).read_text()
    model: dict[str, Any] = json.loads(text)
    for key in ("mean", "std", "b1", "b2"):
        model[key] = np.asarray(model[key], dtype=float)
    for key in ("W1", "W2"):
        model[key] = np.asarray(model[key], dtype=float)
    return model


def n_rows(table: Mapping[str, ArrayLike]) -> int:
    """Number of rows of a table given as columns by name (0 without columns)."""
    return len(np.asarray(table[next(iter(table))])) if len(table) else 0


def design_matrix(features: Mapping[str, ArrayLike], model: dict[str, Any]
                  ) -> NDArray[np.float64]:
    """Model inputs: the named feature columns (arrays by name, or a table), log1p of the
    scale features, standardised."""
    x = np.column_stack([np.asarray(features[f], dtype=float) for f in model["features"]])
    for j, name in enumerate(model["features"]):
        if name in model["log_features"]:
            x[:, j] = np.sign(x[:, j]) * np.log1p(np.abs(x[:, j]))
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return (x - model["mean"]) / model["std"]


def mlp_proba(x: NDArray[np.float64], model: dict[str, Any]) -> NDArray[np.float64]:
    """Softmax outputs of the one-hidden-layer network for standardised inputs ``x``."""
    hidden = np.tanh(x @ model["W1"] + model["b1"])
    z = hidden @ model["W2"] + model["b2"]
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class ExerciseRecognizer(RecognitionAlgorithm):
    """Class probabilities of rep candidates (module docstring).

    Parameters
    ----------
    exercise
        The user's exercise for every set (None: recognise it).
    model_path
        A model JSON file (None: the packaged ``exercise_recognizer_v1.json``).

    Results
    -------
    proba_
        (candidates, :data:`CLASSES`) probabilities.
    rep_proba_
        Probability that each candidate is a rep (of the named exercise when one is given).
    label_
        Most likely class per candidate (the named exercise or "none" when one is given).
    model_version_
        The model's version string (provenance).
    """

    def __init__(self, exercise: str | None = None, model_path: str | None = None) -> None:
        self.exercise = exercise
        self.model_path = model_path

    def recognize(self, candidates: Mapping[str, ArrayLike]) -> Self:
        """Probabilities for every candidate (arrays by name, or a table, with the
        :data:`~imu.pipeline.candidates.FEATURES` columns)."""
        model = load_model(self.model_path)
        n = n_rows(candidates)
        p = mlp_proba(design_matrix(candidates, model), model) if n else None
        proba = np.zeros((n, len(CLASSES)))
        for j, c in enumerate(model["classes"]):  # the model's classes in CLASSES' order
            if c in CLASSES and p is not None:
                proba[:, CLASSES.index(c)] = p[:, j]
        if n and "lying" in candidates:
            lying = np.asarray(candidates["lying"], dtype=float) > 0.5
            proba[np.ix_(lying, [CLASSES.index(c) for c in NOT_LYING])] = 0.0
            # the row sums class after class (column-major), as they have always been summed
            total = np.asfortranarray(proba).sum(axis=1)
            proba = proba / np.maximum(total, 1e-12)[:, None]
        none = proba[:, CLASSES.index(NONE)]
        if self.exercise is not None:
            ex = proba[:, CLASSES.index(self.exercise)]
            rep = ex / np.maximum(ex + none, 1e-12)
            label = np.where(rep >= 0.5, self.exercise, NONE).astype(object)
        else:
            rep = 1.0 - none
            label = np.asarray(CLASSES, dtype=object)[np.argmax(proba, axis=1)] if n else (
                np.zeros(0, dtype=object))
        self.proba_ = proba
        self.rep_proba_ = rep
        self.label_ = label
        self.model_version_ = str(model.get("version", ""))
        return self
