"""The ``training`` section's callbacks and learning-rate schedules, as pydantic models.

Each model's fields are the Keras class's own arguments, by the same names and with the
same defaults (``SCHEDULES`` and ``CALLBACKS`` name the classes; a keras-marked test
checks every field against their signatures), so a bad value is a spec error at its line
and column before TensorFlow is imported. ``checkpoint`` is archspec's own: which models
the run folder keeps. No TensorFlow here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from archspec.diagnostics import Invalid

# ``val_loss``, ``accuracy``...: a key of the logs Keras passes to callbacks. ``None``:
# ``val_loss`` with validation data, else ``loss`` (Keras's default is always val_loss).
Monitor = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)] | None
Mode = Literal["auto", "min", "max"]
StrictBool = Annotated[bool, Field(strict=True)]
Count = Annotated[int, Field(strict=True, ge=0)]
Steps = Annotated[int, Field(strict=True, gt=0)]
Rate = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Checkpoint(_Strict):
    """Which models the run folder keeps besides ``model.keras`` (the final one) and
    ``last.keras`` (the latest state, which ``--resume`` continues)."""

    every_epoch: StrictBool = False  # checkpoints/epoch-NNN.keras after every epoch
    best: StrictBool = True  # best.keras: the best epoch by ``monitor``
    monitor: Monitor = None
    mode: Mode = "auto"


class EarlyStopping(_Strict):
    """``keras.callbacks.EarlyStopping``."""

    monitor: Monitor = None
    min_delta: NonNegative = 0.0
    patience: Count = 0
    mode: Mode = "auto"
    baseline: float | None = None
    restore_best_weights: StrictBool = False
    start_from_epoch: Count = 0


class ReduceLROnPlateau(_Strict):
    """``keras.callbacks.ReduceLROnPlateau``."""

    monitor: Monitor = None
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.1
    patience: Count = 10
    mode: Mode = "auto"
    min_delta: NonNegative = 1e-4
    cooldown: Count = 0
    min_lr: NonNegative = 0.0


# initial_learning_rate is optional where Keras requires it: without it the schedule
# starts from the optimizer's learning_rate (given or default).
class CosineDecay(_Strict):
    """``keras.optimizers.schedules.CosineDecay``."""

    initial_learning_rate: Rate | None = None
    decay_steps: Steps
    alpha: Annotated[float, Field(ge=0, le=1)] = 0.0
    warmup_target: Rate | None = None
    warmup_steps: Count = 0


class ExponentialDecay(_Strict):
    """``keras.optimizers.schedules.ExponentialDecay``."""

    initial_learning_rate: Rate | None = None
    decay_steps: Steps
    decay_rate: Rate
    staircase: StrictBool = False


class PiecewiseConstantDecay(_Strict):
    """``keras.optimizers.schedules.PiecewiseConstantDecay``: ``values[i]`` until step
    ``boundaries[i]``, then the next."""

    boundaries: Annotated[list[Count], Field(min_length=1)]
    values: Annotated[list[Rate], Field(min_length=2)]

    @model_validator(mode="after")
    def _one_more_value(self):
        if len(self.values) != len(self.boundaries) + 1:
            raise Invalid(
                "invalid-value",
                detail=f"piecewise_constant_decay needs one value more than boundaries: "
                f"{len(self.boundaries)} boundaries, {len(self.values)} values",
                received="",
            )
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise Invalid(
                "invalid-value",
                detail="piecewise_constant_decay boundaries must increase",
                received=str(self.boundaries),
            )
        return self


class Schedule(_Strict):
    """A learning-rate schedule by its Keras name: ``{cosine_decay: {decay_steps: 1000}}``."""

    cosine_decay: CosineDecay | None = None
    exponential_decay: ExponentialDecay | None = None
    piecewise_constant_decay: PiecewiseConstantDecay | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [name for name in SCHEDULES if getattr(self, name) is not None]
        if len(given) != 1:
            raise Invalid(
                "invalid-value",
                detail="learning_rate_schedule names one schedule: "
                + ", ".join(SCHEDULES)
                + (f"; it names {len(given)} ({', '.join(given)})" if given else ""),
                received="",
            )
        return self

    @property
    def named(self) -> tuple[str, _Strict]:
        """The schedule's name and its arguments."""
        name = next(n for n in SCHEDULES if getattr(self, n) is not None)
        return name, getattr(self, name)


# The Keras classes, by spec key: data for the keras-marked test and for fit.
SCHEDULES = {
    "cosine_decay": "CosineDecay",
    "exponential_decay": "ExponentialDecay",
    "piecewise_constant_decay": "PiecewiseConstantDecay",
}
SCHEDULE_MODELS = {
    "cosine_decay": CosineDecay,
    "exponential_decay": ExponentialDecay,
    "piecewise_constant_decay": PiecewiseConstantDecay,
}
CALLBACKS = {"early_stopping": "EarlyStopping", "reduce_lr_on_plateau": "ReduceLROnPlateau"}
CALLBACK_MODELS = {"early_stopping": EarlyStopping, "reduce_lr_on_plateau": ReduceLROnPlateau}
