"""The spec language's structure, as pydantic models.

These models check the shape of a document: which keys exist, which values are
lists, mappings or scalars. Layer items stay raw (``"relu"`` or ``{conv2d: {...}}``)
because their arguments may be expressions; the lowering validates each one against
its op's argument model once the expressions are evaluated, with the same position
information. Errors keep pydantic's location path, which the loader maps to a line
and column.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from archspec.diagnostics import Invalid, did_you_mean, received
from archspec.frontend.training import (
    Checkpoint,
    EarlyStopping,
    ReduceLROnPlateau,
    Schedule,
)

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Identifier = Annotated[str, Field(pattern=IDENTIFIER.pattern, max_length=100)]
Template = Annotated[str, Field(max_length=2000)]

# A layer, block or stage item: "relu", "identity x 3", or a one-key mapping.
Item = str | dict[str, Any]

# Keys that every layer item may carry besides its op's Keras arguments: the type each
# takes as written (the lowering evaluates them) and what it does, for the JSON Schema.
COMMON_KEYS: dict[str, tuple[object, str]] = {
    "name": (str | None, "the layer's name (a template)"),
    "role": (str | int, "its part in a block's names"),
    "when": (bool | str, "a condition"),
    "from": (str | list[str], "the tensor(s) it reads, by name (default: the previous item's)"),
    "as": (str | list[str], "names its output tensor(s) for later items"),
}
# Keys of a block call that are not the block's params; ``input``, ``x``, ``prefix`` and
# the stage position are names the block's expressions already see.
RESERVED_PARAMS = (
    *COMMON_KEYS,
    "repeat",
    "input",
    "x",
    "prefix",
    "stage",
    "block",
    "index",
    "serial",
)


class Strict(BaseModel):
    """A spec model: unknown keys are errors, and a validated value never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamDecl(Strict):
    """A block parameter: its type and, if optional, its default."""

    type: str = Field("any", description="int, float, bool, str, any, or a list: int[] or int[3]")
    default: Any = Field(
        None, description="the value when a call leaves it out (makes it optional)"
    )
    required: bool = Field(True, description="whether every call must give it")
    doc: str | None = Field(None, description="what the param means")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value):
        if isinstance(value, str):
            return {"type": value}
        if isinstance(value, dict) and "default" in value:
            return {"required": False, **value}
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value):
        param_adapter(value)
        return value


_PARAM_TYPE = re.compile(r"^(?P<base>int|float|bool|str|any)(?P<list>\[(?P<n>\d*)\])?$")
_ADAPTERS: dict[str, TypeAdapter] = {}


def param_adapter(type_name: str) -> TypeAdapter:
    """The validator of a block parameter type: ``int``, ``float``, ``bool``, ``str``,
    ``any``, a list ``int[]`` or a fixed-length list ``int[3]``."""
    if type_name in _ADAPTERS:
        return _ADAPTERS[type_name]
    match = _PARAM_TYPE.match(type_name.replace(" ", ""))
    if not match:
        raise Invalid(
            "unknown-choice",
            what="parameter type",
            name=type_name,
            hint="; expected int, float, bool, str, any, or a list such as int[] or int[3]",
        )
    base = {
        "int": Annotated[int, Field(strict=True)],
        "float": float,
        "bool": Annotated[bool, Field(strict=True)],
        "str": Annotated[str, Field(strict=True)],
        "any": Any,
    }[match["base"]]
    if match["list"] is not None:
        n = match["n"]
        base = (
            Annotated[list[base], Field(min_length=int(n), max_length=int(n))] if n else list[base]
        )
    adapter = TypeAdapter(base)
    _ADAPTERS[type_name] = adapter
    return adapter


class Branch(Strict):
    """A parallel path of a block. ``from: input`` starts at the block's input instead
    of after the block's own ``layers``, ``from: NAME`` at a tensor of the block named
    by an input or an ``as``; an empty branch is the identity shortcut."""

    from_: str = Field(
        "layers",
        alias="from",
        description="where it starts: layers (after the block's layers), input, or a tensor's name",
    )
    when: bool | str = Field(True, description="a condition: the branch is left out when false")
    layers: list[Item] = Field([], description="its layers and blocks, in order")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, value):
        return {"layers": value} if isinstance(value, list) else value

    @field_validator("from_")
    @classmethod
    def _known_start(cls, value):
        if not IDENTIFIER.match(value) and "{{" not in value:
            raise Invalid(
                "invalid-value",
                detail="expected 'input', 'layers' or the name of a tensor of the block",
                received=received(value),
            )
        return value


class BlockDef(Strict):
    """A block: typed params, layers in sequence, parallel branches, a merge, layers after.
    It reads one tensor (``input``) unless ``inputs`` names several, and returns its last
    one unless ``outputs`` names which."""

    doc: str | None = Field(None, description="what the block does")
    inputs: list[Identifier] = Field(
        ["input"], min_length=1, description="the names of the tensors it reads"
    )
    outputs: list[Identifier] | None = Field(
        None, min_length=1, description="the tensors it returns (default: its last one)"
    )
    model: Literal["functional", "sequential"] | None = Field(
        None, description="build the block as a nested Keras model of this kind"
    )
    params: dict[Identifier, ParamDecl] = Field({}, description="its typed parameters")
    vars: dict[Identifier, Any] = Field({}, description="values computed from the params")
    layers: list[Item] = Field([], description="layers and blocks in sequence, before the branches")
    branches: list[Branch] = Field([], description="parallel paths; an empty one is the identity")
    merge: Item | None = Field(None, description="how the branches join: add, concatenate...")
    after: list[Item] = Field([], description="layers after the merge")

    @field_validator("params")
    @classmethod
    def _not_reserved(cls, params):
        for key in params:
            if key in RESERVED_PARAMS:
                raise Invalid("reserved-name", name=key)
        return params

    @field_validator("inputs")
    @classmethod
    def _distinct_inputs(cls, inputs):
        for i, name in enumerate(inputs):
            if name in inputs[:i]:
                raise Invalid("invalid-block", detail=f"input '{name}' is named twice")
            if name in RESERVED_PARAMS and not (i == 0 and name == "input"):
                raise Invalid(
                    "invalid-block",
                    detail=f"input '{name}': the name is taken in every block (x is the "
                    "incoming tensor, input the first input, and the keys of a call); "
                    "pick another",
                )
        return inputs

    @model_validator(mode="after")
    def _merge_needs_branches(self):
        if self.merge is not None and len(self.branches) < 2:
            raise Invalid("invalid-block", detail="a merge needs at least two branches")
        if len(self.branches) >= 2 and self.merge is None:
            raise Invalid(
                "invalid-block",
                detail="two or more branches need a merge (add, concatenate, multiply...)",
            )
        if not (self.layers or self.branches or self.after):
            raise Invalid("invalid-block", detail="a block needs layers, branches or after")
        clash = sorted(set(self.inputs) & (set(self.params) | set(self.vars)))
        if clash:
            raise Invalid(
                "invalid-block", detail=f"'{clash[0]}' is both an input and a param or var"
            )
        if self.model == "sequential" and (len(self.inputs) > 1 or self.branches):
            raise Invalid(
                "invalid-block",
                detail="a sequential model is a chain: one input, no branches",
            )
        return self


# A nested block's default name: the enclosing block's prefix, then the call's name.
NESTED = "{{ parent }}_{{ name }}"


class NamingScheme(Strict):
    """How unnamed layers are named. Templates see ``prefix`` (the block's name from
    ``block``), ``stage``, ``block`` (its letter), ``index``, ``role``, ``kind``,
    ``suffix`` (``conv``, ``bn``, ``relu``...) and the block's params. ``nested`` names
    a block called inside a block from ``parent`` (the enclosing block's prefix) and
    ``name`` (the call's name, role or kind)."""

    block: Template = Field(
        description="a block's prefix, such as conv{{ stage }}_block{{ index }}"
    )
    nested: Template = Field(NESTED, description="a block called inside a block")
    layer: dict[str, Template] = Field(
        description='block layers that have a role, by kind ("*" for any)'
    )
    block_layer: dict[str, Template] = Field(
        description='block layers without a role, by kind ("*" for any)'
    )


# The naming schemes a spec may name (``naming: caffe``); a spec may also write its own.
PRESETS: dict[str, NamingScheme] = {
    # The seed's and Caffe's ResNet names: res2a_branch2a, bn2a_branch2a, res2a_branch1.
    "caffe": NamingScheme(
        block="{{ stage }}{{ block }}",
        layer={
            "conv2d": "res{{ prefix }}_branch{{ role }}",
            "batch_norm": "bn{{ prefix }}_branch{{ role }}",
            "*": "res{{ prefix }}_branch{{ role }}_{{ suffix }}",
        },
        block_layer={"*": "res{{ prefix }}_{{ suffix }}"},
    ),
    # keras.applications' names: conv2_block1_1_conv, conv2_block1_0_bn, conv2_block1_add.
    "keras": NamingScheme(
        block="conv{{ stage }}_block{{ index }}",
        layer={"*": "{{ prefix }}_{{ role }}_{{ suffix }}"},
        block_layer={"*": "{{ prefix }}_{{ suffix }}"},
    ),
}


class InputDecl(Strict):
    """A model input. Later items read it as a tensor by its name."""

    # a list of sizes, any of them an expression, or one expression for the whole list
    shape: list[int | None | str] | str = Field(
        description="its shape without the batch axis; null for a size left open"
    )
    name: Template = Field("input_layer", description="its name, which later items read it by")
    dtype: str | None = Field(None, description="its data type (default: float32)")


# A model's outputs: tensor names, or output keys → tensor names (Keras's dict outputs).
Outputs = (
    Annotated[list[Identifier], Field(min_length=1)]
    | Annotated[dict[Identifier, Identifier], Field(min_length=1)]
)


class Library(Strict):
    """A block library file: blocks, and defaults for the layers inside them."""

    doc: str | None = Field(None, description="what the library holds")
    imports: list[str] = Field([], description="block libraries it uses: a shipped name or a path")
    defaults: dict[str, dict[str, Any]] = Field(
        {}, description="arguments every layer of a kind gets inside its blocks"
    )
    blocks: dict[Identifier, BlockDef] = Field({}, description="its blocks, by name")


# Keras names the ``training`` section accepts, by the class that implements them. The
# lists are data (no TensorFlow import); a keras-marked test checks each against Keras.
OPTIMIZERS = {
    "adadelta": "Adadelta",
    "adafactor": "Adafactor",
    "adagrad": "Adagrad",
    "adam": "Adam",
    "adamax": "Adamax",
    "adamw": "AdamW",
    "ftrl": "Ftrl",
    "lamb": "Lamb",
    "lion": "Lion",
    "nadam": "Nadam",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
}
LOSSES = {
    "binary_crossentropy": "BinaryCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "categorical_hinge": "CategoricalHinge",
    "hinge": "Hinge",
    "huber": "Huber",
    "kl_divergence": "KLDivergence",
    "log_cosh": "LogCosh",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_squared_error": "MeanSquaredError",
    "poisson": "Poisson",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "squared_hinge": "SquaredHinge",
}
# ``accuracy`` has no class: Keras picks the accuracy that fits the labels and the loss.
METRICS = {
    "accuracy": None,
    "auc": "AUC",
    "categorical_accuracy": "CategoricalAccuracy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "f1_score": "F1Score",
    "kl_divergence": "KLDivergence",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_squared_error": "MeanSquaredError",
    "precision": "Precision",
    "recall": "Recall",
    "sparse_categorical_accuracy": "SparseCategoricalAccuracy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy",
    "top_k_categorical_accuracy": "TopKCategoricalAccuracy",
}

# One line on each name, for the JSON Schema's completions and hovers.
NAME_DOCS = {
    "optimizer": {
        "adadelta": "adaptive learning rate per dimension, from a window of past gradients",
        "adafactor": "Adam with factored second moments, using little memory",
        "adagrad": "learning rates per parameter, scaled by all past squared gradients",
        "adam": "adaptive moment estimation: momentum and per-parameter rates",
        "adamax": "Adam with the infinity norm",
        "adamw": "Adam with decoupled weight decay",
        "ftrl": "follow the regularized leader, for large sparse models",
        "lamb": "Adam with layer-wise adaptive rates, for large batches",
        "lion": "sign of an interpolated momentum: one moment, little memory",
        "nadam": "Adam with Nesterov momentum",
        "rmsprop": "divides by a moving average of squared gradients (Keras's default)",
        "sgd": "stochastic gradient descent, with optional (Nesterov) momentum",
    },
    "loss": {
        "binary_crossentropy": "cross-entropy of 0/1 labels (one sigmoid output per label)",
        "binary_focal_crossentropy": "binary cross-entropy that down-weights easy examples",
        "categorical_crossentropy": "cross-entropy of one-hot labels (softmax output)",
        "categorical_focal_crossentropy": "categorical cross-entropy that down-weights easy examples",
        "categorical_hinge": "hinge loss of one-hot labels",
        "hinge": "hinge loss of -1/1 labels",
        "huber": "squared error near zero, absolute error beyond delta",
        "kl_divergence": "Kullback-Leibler divergence of the labels from the predictions",
        "log_cosh": "logarithm of the hyperbolic cosine of the error",
        "mean_absolute_error": "mean of the absolute errors",
        "mean_squared_error": "mean of the squared errors",
        "poisson": "Poisson loss: prediction - label * log(prediction)",
        "sparse_categorical_crossentropy": "cross-entropy of class-index labels (softmax output)",
        "squared_hinge": "square of the hinge loss of -1/1 labels",
    },
    "metric": {
        "accuracy": "fraction correct; Keras picks the kind that fits the labels and loss",
        "auc": "area under the ROC (or PR) curve",
        "categorical_accuracy": "fraction whose top prediction is the one-hot label",
        "categorical_crossentropy": "cross-entropy of one-hot labels",
        "f1_score": "harmonic mean of precision and recall",
        "kl_divergence": "Kullback-Leibler divergence of the labels from the predictions",
        "mean_absolute_error": "mean of the absolute errors",
        "mean_squared_error": "mean of the squared errors",
        "precision": "fraction of predicted positives that are positive",
        "recall": "fraction of positives predicted positive",
        "sparse_categorical_accuracy": "fraction whose top prediction is the class-index label",
        "sparse_categorical_crossentropy": "cross-entropy of class-index labels",
        "sparse_top_k_categorical_accuracy": "fraction whose label (a class index) is in the top k",
        "top_k_categorical_accuracy": "fraction whose one-hot label is in the top k",
    },
}

# A Keras object by name, alone or with its arguments: ``adam``, ``{adam: {learning_rate: 0.01}}``.
Named = str | dict[str, dict[str, Any]]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]


def split_named(value: Named) -> tuple[str, dict]:
    """``"adam"`` → ("adam", {}); ``{"adam": {"learning_rate": 0.01}}`` → ("adam", {...})."""
    if isinstance(value, str):
        return value, {}
    ((name, args),) = value.items()
    return name, dict(args)


def _hint(name: str, known) -> str:
    # Two swapped letters ('adma') first: difflib alone would suggest 'adamax'.
    swapped = [k for k in known if len(k) == len(name) and sorted(k) == sorted(name)]
    return f"; did you mean '{swapped[0]}'?" if swapped else did_you_mean(name, known)


def _check_named(value, what: str, known: dict, example: str) -> Named:
    if isinstance(value, dict) and len(value) == 1:
        ((name, args),) = value.items()
        if args is None:
            value = name
        elif not isinstance(args, dict):
            raise Invalid(
                "wrong-type",
                expected=f"a mapping as the arguments of the {what} '{name}', "
                f"such as {{{name}: {{...}}}}",
                received=received(args),
            )
    elif not isinstance(value, str):
        raise Invalid(
            "wrong-type",
            expected=f"the name of a {what}, or a one-key mapping of the name to its "
            f"arguments ({example})",
            received=received(value),
        )
    name = value if isinstance(value, str) else next(iter(value))
    if name not in known:
        raise Invalid("unknown-choice", what=what, name=name, hint=_hint(name, known))
    return value


def _named(what: str, known: dict, example: str):
    return Annotated[
        Named, BeforeValidator(lambda value: _check_named(value, what, known, example))
    ]


class Training(Strict):
    """How ``archspec train`` compiles and fits the model. Defaults are Keras's own
    (``compile`` and ``fit``), except the loss: the labels are class indices, one-hot
    encoded, so categorical cross-entropy."""

    optimizer: _named("optimizer", OPTIMIZERS, "{adam: {learning_rate: 0.001}}") = Field(
        "rmsprop", description="the optimizer: a name, or {name: {its arguments}}"
    )
    loss: _named("loss", LOSSES, "{categorical_crossentropy: {label_smoothing: 0.1}}") = Field(
        "categorical_crossentropy", description="the loss: a name, or {name: {its arguments}}"
    )
    metrics: list[_named("metric", METRICS, "{top_k_categorical_accuracy: {k: 3}}")] = Field(
        [], description="what fit reports besides the loss"
    )
    batch_size: PositiveInt = Field(32, description="examples per step")
    epochs: PositiveInt = Field(1, description="passes over the data")
    mixed_precision: Annotated[bool, Field(strict=True)] = Field(
        False, description="compute in float16, keep the weights in float32"
    )
    seed: Annotated[int, Field(strict=True, ge=0)] | None = Field(
        None, description="seed of the data and the initializers"
    )
    # Keras's validation_split: the last fraction of the train images, before shuffling
    validation_split: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        None, description="the last fraction of the train images held out for validation"
    )
    tensorboard: Annotated[bool, Field(strict=True)] = Field(
        False, description="write TensorBoard logs in the run folder's tensorboard/"
    )
    checkpoint: Checkpoint = Field(
        Checkpoint(), description="which models the run folder keeps: every epoch, the best"
    )
    early_stopping: EarlyStopping | None = Field(
        None, description="stop when the monitored value stops improving"
    )
    reduce_lr_on_plateau: ReduceLROnPlateau | None = Field(
        None, description="lower the learning rate when the monitored value stops improving"
    )
    learning_rate_schedule: Schedule | None = Field(
        None, description="the learning rate by step: cosine_decay, exponential_decay, ..."
    )

    @property
    def sparse_labels(self) -> bool:
        """Whether the loss takes class indices rather than one-hot vectors."""
        return split_named(self.loss)[0].startswith("sparse_")

    @property
    def log_names(self) -> list[str]:
        """The keys of the training logs: ``loss`` and each metric's name."""
        return ["loss"] + [
            str(args.get("name", name)) for name, args in map(split_named, self.metrics)
        ]

    def monitors(self) -> dict[str, str | None]:
        """What each callback watches, as written (``None``: the default), by its key."""
        out = {"checkpoint": self.checkpoint.monitor}
        for key in ("early_stopping", "reduce_lr_on_plateau"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key).monitor
        return out

    @model_validator(mode="after")
    def _callbacks_agree(self):
        known = self.log_names
        for key, monitor in self.monitors().items():
            if monitor is not None and monitor.removeprefix("val_") not in known:
                choices = known + [f"val_{k}" for k in known]
                raise Invalid(
                    "invalid-value",
                    detail=f"{key}.monitor: '{monitor}' is not one of the training logs "
                    f"({', '.join(choices)}){did_you_mean(monitor, choices)}",
                    received="",
                )
        if self.learning_rate_schedule is not None:
            if self.reduce_lr_on_plateau is not None:
                raise Invalid(
                    "invalid-value",
                    detail="reduce_lr_on_plateau cannot change a learning_rate_schedule's "
                    "rate; use one or the other",
                    received="",
                )
            name, args = self.learning_rate_schedule.named
            optimizer, optimizer_args = split_named(self.optimizer)
            has_initial = getattr(args, "initial_learning_rate", None) is not None
            if "learning_rate" in optimizer_args and (
                has_initial or not hasattr(args, "initial_learning_rate")
            ):
                raise Invalid(
                    "invalid-value",
                    detail=f"optimizer '{optimizer}' has a learning_rate and "
                    f"learning_rate_schedule '{name}' sets the rate; give it in one place",
                    received="",
                )
        return self

    @model_validator(mode="after")
    def _labels_agree(self):
        for i, metric in enumerate(self.metrics):
            name = split_named(metric)[0]
            if name.startswith("sparse_") and not self.sparse_labels:
                raise Invalid(
                    "invalid-value",
                    detail=f"metrics[{i}]: '{name}' takes class indices, but loss "
                    f"'{split_named(self.loss)[0]}' trains on one-hot labels; "
                    f"use '{name[len('sparse_') :]}' or 'accuracy'",
                    received="",
                )
            if self.sparse_labels and METRICS[name] and f"sparse_{name}" in METRICS:
                raise Invalid(
                    "invalid-value",
                    detail=f"metrics[{i}]: '{name}' takes one-hot labels, but loss "
                    f"'{split_named(self.loss)[0]}' trains on class indices; "
                    f"use 'sparse_{name}' or 'accuracy'",
                    received="",
                )
        return self


class Spec(Strict):
    """A model spec."""

    name: Identifier = Field(description="the spec's name")
    model_name: Template | None = Field(None, description="the Keras model's name (default: name)")
    doc: str | None = Field(None, description="what the model is")
    imports: list[str] = Field([], description="block libraries: a shipped name or a path")
    params: dict[Identifier, Any] = Field(
        {}, description="parameters with defaults, overridable with --set"
    )
    naming: str | NamingScheme = Field(
        "keras", description="how unnamed layers are named: keras, caffe, or a scheme"
    )
    defaults: dict[str, dict[str, Any] | None] = Field(
        {}, description="arguments every layer of a kind gets, by kind"
    )
    blocks: dict[Identifier, BlockDef] = Field({}, description="the spec's own blocks, by name")
    input: InputDecl | None = Field(None, description="the model's input")
    inputs: Annotated[list[InputDecl], Field(min_length=1)] | None = Field(
        None, description="the model's inputs, when it has several"
    )
    outputs: Identifier | Outputs | None = Field(
        None, description="the tensors the model returns (default: the last item's)"
    )
    layers: list[Item] = Field(min_length=1, description="the model's layers, blocks and stages")
    training: Training | None = Field(None, description="how archspec train compiles and fits it")

    @model_validator(mode="after")
    def _one_input_form(self):
        if (self.input is None) == (self.inputs is None):
            raise Invalid(
                "invalid-value",
                detail="a spec has either input (one) or inputs (a list)",
                received="",
            )
        names = [i.name for i in self.model_inputs]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise Invalid("invalid-value", detail=f"input '{name}' is named twice", received="")
        return self

    @property
    def model_inputs(self) -> list[InputDecl]:
        """The model's inputs, whether written as ``input:`` or ``inputs:``."""
        return [self.input] if self.input is not None else list(self.inputs)
