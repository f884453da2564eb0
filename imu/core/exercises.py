"""The exercise registry: ONE place that says what each exercise of the contract is.

The simulator (how a rep moves), the pipeline (rep structure, expected lockout, posture), trends
(which exercises count for the posterior-tilt share) and the report all read this table. A new
exercise is one new :class:`Exercise` row here (docs/architecture.md says what else it needs).

Plain Python, no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Exercise:
    """What the analysis needs to know about one exercise.

    Attributes
    ----------
    name
        The contract's name (section 4).
    label
        In words, for reports.
    posture
        Rest posture between reps (:data:`imu.core.vocabulary.POSTURES`).
    rest_at_bottom
        True: a rep is concentric, top hold, eccentric (bridges, thrust, deadlift from the
        floor, quadruped hip extension with the leg down). False: rests at the top (lockout),
        a rep is eccentric then concentric.
    lockout_deg
        Expected sagittal pelvis angle at lockout relative to standing neutral, before the
        body-line term (contract section 3): 0 standing and kneeling, +90 lying on the back
        or shoulders on a bench, -90 trunk horizontal face down.
    body_line
        Add the body-line inclination beta = asin(hip rise / trunk length) to the expected
        lockout (glute bridges: shoulders on the floor).
    bridge
        A bridge-family exercise: reaching a slight posterior tilt at the top is the goal, so
        trends and reports follow its posterior-tilt share.
    unilateral
        One leg works at a time (sides alternate between sets).
    """

    name: str
    label: str
    posture: str
    rest_at_bottom: bool
    lockout_deg: float
    body_line: bool = False
    bridge: bool = False
    unilateral: bool = False


REGISTRY: Final[dict[str, Exercise]] = {
    e.name: e
    for e in (
        Exercise("glute_bridge", "glute bridge", "supine", True, 90.0, body_line=True,
                 bridge=True),
        Exercise("single_leg_bridge", "single-leg bridge", "supine", True, 90.0,
                 body_line=True, bridge=True, unilateral=True),
        Exercise("hip_thrust", "hip thrust", "supine", True, 90.0, bridge=True),
        Exercise("hip_hinge", "hip hinge", "standing", False, 0.0),
        Exercise("deadlift", "deadlift", "standing", True, 0.0),
        Exercise("romanian_deadlift", "Romanian deadlift", "standing", False, 0.0),
        Exercise("single_leg_rdl", "single-leg RDL", "standing", False, 0.0, unilateral=True),
        Exercise("bulgarian_split_squat", "Bulgarian split squat", "standing", False, 0.0,
                 unilateral=True),
        Exercise("glute_ham_raise", "glute-ham raise", "kneeling", False, 0.0),
        Exercise("quadruped_hip_extension", "quadruped hip extension", "prone", True, -90.0,
                 unilateral=True),
        Exercise("squat", "squat", "standing", False, 0.0),
    )
}

EXERCISES: Final = tuple(REGISTRY)
"""The contract's exercise names, in the contract's order."""

REST_AT_BOTTOM: Final = frozenset(n for n, e in REGISTRY.items() if e.rest_at_bottom)
"""Exercises that rest at the bottom: a rep is concentric, top hold, eccentric."""
REST_AT_TOP: Final = frozenset(set(EXERCISES) - REST_AT_BOTTOM)
"""Exercises that rest at the top (lockout): a rep is eccentric then concentric."""
BRIDGE_EXERCISES: Final = tuple(n for n, e in REGISTRY.items() if e.bridge)
"""Bridge-family exercises (posterior tilt at the top is the goal)."""


def exercise(name: str) -> Exercise:
    """The registry entry of ``name`` (KeyError if it is not a contract exercise)."""
    return REGISTRY[name]


def exercises_in_posture(*postures: str) -> frozenset[str]:
    """Names of the exercises whose rest posture is one of ``postures``."""
    return frozenset(n for n, e in REGISTRY.items() if e.posture in postures)
