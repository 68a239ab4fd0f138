"""The op catalogue: one registration per kind, and the lookups every consumer uses.

A registration says all archspec knows about a kind: its Keras class and argument model,
how it is called with its inputs, its shape rule, the weights Keras creates (parameter counts are their sizes, never
written separately), its multiply-accumulates, how generated code writes it, its naming
suffix, its diagram category, and how a saved Keras layer is read back as this kind. A
kind that is Python arithmetic on a tensor rather than a layer says so (``Operation``).
Packages add kinds of their own Keras classes through ``custom.register_layer``; their
entry points are loaded only when a name is not found here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from archspec.core.ops.args import Args
from archspec.core.ops.rules import Shape, Weight, size_of

# Diagram categories; draw.py gives each a colour.
CATEGORIES = (
    "conv",
    "depthwise",
    "norm",
    "activation",
    "merge",
    "pool",
    "reshape",
    "dense",
    "attention",
    "recurrent",
    "other",
)

# How a Keras layer is called with its inputs: one tensor, a list of them (a merge), or
# several positional tensors (``layer(query, value)``).
CALLS = ("one", "list", "args")


class Operation(NamedTuple):
    """What a kind is when it is not a ``keras.layers`` class: the Keras operation that
    Python arithmetic on a tensor records in a functional model (``x + 3.0`` records an
    ``Add`` of ``keras.src.ops.numpy``, called with the tensor and the constant). The
    op's ``keras_class`` is the operation's class, whose snake_case is Keras's auto name."""

    module: str  # where Keras's saved configs say the class is (``keras.src.ops.numpy``)
    operator: str  # how Python writes it between the tensor and the constant (``+``)
    operand: str  # the argument that is the constant, the operation's second input


def no_weights(attrs: Mapping, in_shapes: list[Shape]) -> tuple[Weight, ...]:
    """The weights of an op that has none."""
    return ()


def no_macs(attrs: Mapping, in_shapes: list[Shape], out_shape: Shape) -> int:
    """The multiply-accumulates of an op that does none."""
    return 0


class Op:
    """A primitive layer kind. Immutable once registered.

    A plain class rather than a dataclass: making a dataclass costs about a millisecond
    of every command's start-up, and an op needs no generated methods.
    """

    __slots__ = (
        "kind", "keras_class", "_args", "shape", "weights", "macs", "primary", "positional",
        "implied", "suffix", "suffix_from", "category", "merge", "call", "arity", "reads_as",
        "read_attrs", "aliases", "operation", "module",
    )  # fmt: skip

    def __init__(
        self,
        *,
        kind: str,
        keras_class: str,
        args: type[Args] | Callable[[], type[Args]],
        shape: Callable[[Any, list[Shape]], Shape],
        weights: Callable[[Mapping, list[Shape]], tuple[Weight, ...]] = no_weights,
        macs: Callable[[Mapping, list[Shape], Shape], int] = no_macs,
        primary: str | None = None,
        positional: tuple[str, ...] = (),
        implied: tuple[str, ...] = (),
        suffix: str,
        suffix_from: str | None = None,
        category: str,
        merge: bool = False,
        call: str | None = None,
        arity: tuple[int, int] = (1, 1),
        reads_as: Callable[[dict], bool] | None = None,
        read_attrs: Callable[[dict, list[Shape]], dict] | None = None,
        aliases: tuple[str, ...] = (),
        operation: Operation | None = None,
        module: str | None = None,
    ):
        set_ = super().__setattr__
        set_("kind", kind)  # the spec's name for it
        set_("keras_class", keras_class)  # the stock Keras layer (or operation) it builds
        # Its arguments, with Keras's defaults: a model, or a function that makes it on
        # first use, since making pydantic models is most of the catalogue's start-up.
        set_("_args", args)
        set_("shape", shape)  # (validated args, input shapes) → output shape
        # (attrs, input shapes) → the variables Keras creates, in its order. A rule may
        # assume that ``shape`` accepted the input: that raises what is wrong at check time.
        set_("weights", weights)
        set_("macs", macs)  # (attrs, input shapes, output shape) → per example; sizes known
        set_("primary", primary)  # the argument a scalar value sets: ``activation: relu``
        set_("positional", positional)  # written positionally by generated code, in order
        # Written by generated code even at their defaults: the op differs there from the
        # Keras class (relu6), or Keras requires them (a pool's pool_size).
        set_("implied", implied)
        set_("suffix", suffix)  # short name used by naming schemes (``conv``, ``bn``)
        set_("suffix_from", suffix_from)  # named after this argument's value (activation)
        set_("category", category)  # diagram category, one of CATEGORIES
        set_("merge", merge)  # takes several inputs, and may be a block's merge
        # How the layer is called (CALLS): a merge takes a list, others one tensor unless
        # they say "args"; then ``arity`` is the (fewest, most) positional tensors.
        set_("call", call or ("list" if merge else "one"))
        set_("arity", arity)
        # For a kind that shares its Keras class with another: whether a read-back layer's
        # normalized attributes are this kind (relu6 is a ReLU with max_value 6). The kind
        # without one is the class's general reading.
        set_("reads_as", reads_as)
        # (read-back attributes, input shapes) → the attributes as a spec writes them, for a
        # kind whose layer rewrites an argument when it is built (MHA's attention_axes).
        set_("read_attrs", read_attrs)
        # Other names a spec may use for it: Keras's class in snake_case where the kind's
        # own name is a shorter one (``batch_normalization`` for ``batch_norm``).
        set_("aliases", aliases)
        # Built and written as Python arithmetic on a tensor, not as a layer (see Operation).
        set_("operation", operation)
        # A custom layer's module, which ``keras_class`` is imported from when a model is
        # built (``custom.register_layer``); None for a stock layer of ``keras.layers``.
        set_("module", module)

    def __setattr__(self, name, value):
        raise AttributeError(f"op '{self.kind}' is read-only")

    @property
    def args(self) -> type[Args]:
        """The argument model (made now if this is its first use, and checked against
        how the op says generated code writes it)."""
        model = self._args
        if not isinstance(model, type):
            model = model()
            _check_arguments(self, model)
            super().__setattr__("_args", model)
        return model

    def __repr__(self) -> str:
        return f"Op({self.kind!r}, {self.keras_class})"

    def params(self, args, in_shapes: list[Shape], out_shape: Shape) -> tuple[int, int]:
        """(trainable, non-trainable) counts: the sizes of the weights."""
        return size_of(self.weights(dict(args), in_shapes))

    def call_arguments(self, inputs: Sequence) -> list:
        """What the Keras layer is called with, positionally, given its inputs in the IR's
        order (tensors, or the names of their variables): the one tensor, the list (a
        merge), or the tensors themselves ("args"), where one left out repeats the one
        before it (MHA's key is its value; one tensor alone is self-attention)."""
        if self.call == "one":
            return [inputs[0]]
        if self.call == "list":
            return [list(inputs)]
        fewest = self.arity[0]
        return [*inputs, *[inputs[-1]] * (fewest - len(inputs))]

    def fewest_inputs(self, inputs: Sequence) -> tuple:
        """The IR's inputs of a layer called with ``inputs`` (a read-back layer's): for
        "args", the trailing repeats that ``call_arguments`` would add again left out."""
        inputs = tuple(inputs)
        if self.call == "args":
            while len(inputs) > 1 and inputs[-1] == inputs[-2]:
                inputs = inputs[:-1]
        return inputs

    def short(self, attrs: dict) -> str:
        """The naming suffix; an activation is named after its function (``relu``)."""
        return attrs[self.suffix_from] if self.suffix_from else self.suffix


OPS: dict[str, Op] = {}  # by kind: what the IR's nodes name
KINDS: dict[str, Op] = {}  # by every name a spec may use: kinds and aliases


def lookup(name: str) -> Op | None:
    """The op a spec names, by its kind or an alias. A name the catalogue lacks loads the
    installed plugins first (once): a spec of built-in kinds never scans for them."""
    op = KINDS.get(name)
    if op is None:
        from archspec.core.ops.custom import load_plugins

        if load_plugins():
            op = KINDS.get(name)
    return op


def register(**fields) -> Op:
    """Add a kind to the catalogue (by keyword: ``register(kind="conv2d", ...)``)."""
    op = Op(**fields)
    for name in (op.kind, *op.aliases):
        if name in KINDS:
            raise ValueError(f"op kind '{name}' is already registered")
    if op.category not in CATEGORIES:
        raise ValueError(
            f"op kind '{op.kind}': unknown category '{op.category}'; "
            f"expected one of: {', '.join(CATEGORIES)}"
        )
    if op.call not in CALLS:
        raise ValueError(
            f"op kind '{op.kind}': unknown call '{op.call}'; expected one of: {', '.join(CALLS)}"
        )
    if op.merge and op.call != "list":
        raise ValueError(f"op kind '{op.kind}': a merge is called with a list")
    fewest, most = op.arity
    if op.call == "args" and not 1 <= fewest <= most:
        raise ValueError(f"op kind '{op.kind}': arity must be (fewest, most), 1 <= fewest <= most")
    if isinstance(op._args, type):  # a model made up front is checked now; else on first use
        _check_arguments(op, op._args)
    OPS[op.kind] = op
    KINDS.update(dict.fromkeys((op.kind, *op.aliases), op))
    return op


def _check_arguments(op: Op, model: type[Args]) -> None:
    """The arguments the registration names exist, and positional ones lead in order."""
    fields = tuple(model.model_fields)
    operand = op.operation.operand if op.operation else None
    named = (op.primary, *op.positional, *op.implied, operand)
    unknown = [k for k in named if k and k not in fields]
    if unknown:
        raise ValueError(f"op kind '{op.kind}': no argument {', '.join(unknown)}")
    if op.positional != fields[: len(op.positional)]:
        # Generated code passes them positionally: they must lead Keras's constructor order.
        raise ValueError(f"op kind '{op.kind}': positional arguments must come first, in order")


def read_back(keras_class: str, module: str | None = None) -> Op | None:
    """The op that reads a saved layer of this Keras class (its general reading), if any:
    a custom layer's, registered with the class's ``module``, else a stock layer's. A
    class the catalogue lacks loads the installed plugins first (once)."""
    found = _read_back(keras_class, module)
    if found is None:
        from archspec.core.ops.custom import load_plugins

        if load_plugins():
            found = _read_back(keras_class, module)
    return found


def _read_back(keras_class: str, module: str | None) -> Op | None:
    general = [
        op
        for op in OPS.values()
        if op.keras_class == keras_class and op.reads_as is None and op.operation is None
    ]
    return next((op for op in general if op.module == module), None) or next(
        (op for op in general if op.module is None), None
    )


def read_operation(module: str, class_name: str) -> Op | None:
    """The op that reads a saved operation node (not a layer) of this class, if any: an
    ``Add`` of ``keras.src.ops.numpy`` is ``scalar_add``, not the ``Add`` layer."""
    for op in OPS.values():
        if op.operation and (op.operation.module, op.keras_class) == (module, class_name):
            return op
    return None


def refine(op: Op, attrs: dict) -> Op:
    """The kind of the same Keras class whose ``reads_as`` takes these attributes, else ``op``."""
    for other in OPS.values():
        if (
            (other.keras_class, other.module) == (op.keras_class, op.module)
            and other.operation == op.operation
            and other.reads_as
            and other.reads_as(attrs)
        ):
            return other
    return op


def layer_weights(kind: str, attrs: dict, in_shapes: list[Shape]) -> tuple[Weight, ...]:
    """The weights Keras gives a layer of this kind (an IR node's ``op`` and ``attrs``)."""
    return OPS[kind].weights(attrs, in_shapes)


def keras_auto_name(keras_class: str) -> str:
    """The name Keras gives an unnamed layer of this class (``MaxPooling2D`` →
    ``max_pooling2d``), before its per-session counter."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", keras_class)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
