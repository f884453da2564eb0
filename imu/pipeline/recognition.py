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
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray

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


def design_matrix(features: pd.DataFrame, model: dict[str, Any]) -> NDArray[np.float64]:
    """Model inputs: the named feature columns, log1p of the scale features, standardised."""
    x = features[list(model["features"])].to_numpy(dtype=float).copy()
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
        Candidates x :data:`CLASSES` probabilities (DataFrame on the candidates' index).
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

    def recognize(self, candidates: pd.DataFrame) -> Self:
        """Probabilities for every row of ``candidates`` (the :data:`~imu.pipeline.candidates.
        FEATURES` columns)."""
        model = load_model(self.model_path)
        classes = list(model["classes"])
        if len(candidates):
            p = mlp_proba(design_matrix(candidates, model), model)
        else:
            p = np.zeros((0, len(classes)))
        proba = pd.DataFrame(p, columns=classes, index=candidates.index)
        proba = proba.reindex(columns=list(CLASSES), fill_value=0.0)
        if len(proba) and "lying" in candidates:
            lying = candidates["lying"].to_numpy(dtype=float) > 0.5
            proba.loc[lying, list(NOT_LYING)] = 0.0
            proba = proba.div(proba.sum(axis=1).clip(lower=1e-12), axis=0)
        none = proba[NONE].to_numpy()
        if self.exercise is not None:
            ex = proba[self.exercise].to_numpy()
            rep = ex / np.maximum(ex + none, 1e-12)
            label = np.where(rep >= 0.5, self.exercise, NONE)
        else:
            rep = 1.0 - none
            label = np.asarray(CLASSES, dtype=object)[np.argmax(proba.to_numpy(), axis=1)] if len(
                proba) else np.zeros(0, dtype=object)
        self.proba_ = proba
        self.rep_proba_ = pd.Series(rep, index=candidates.index)
        self.label_ = pd.Series(label, index=candidates.index, dtype=object)
        self.model_version_ = str(model.get("version", ""))
        return self
