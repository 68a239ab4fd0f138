"""The intermediate representation: a graph of layers with static shapes and params.

Every output of archspec (the Keras model, generated Python, summaries, diffs) walks
this graph and nothing else; no emitter recomputes a name or a shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archspec.diagnostics import Where


@dataclass(frozen=True)
class BlockInstance:
    """One expansion of a block: where it sits and what it was called with."""

    prefix: str  # the block's name (``2a``, ``conv2_block1``)
    kind: str  # the block definition's name (``identity``)
    args: dict  # its evaluated params
    stage: object = None  # stage id, or None outside stages
    letter: str | None = None
    index: int | None = None  # 1-based position in its stage
    parent: str | None = None  # prefix of the enclosing block, for nested blocks
    input: str = ""  # name of the node it starts from
    output: str = ""  # name of its last node
    where: Where | None = None  # the call site
    item: int | None = field(default=None, compare=False)  # the Program item that made it
    inputs: tuple[str, ...] = ()  # the nodes it reads (``input`` is the first)
    outputs: tuple[str, ...] = ()  # the nodes it returns (``output`` is the first)
    model: str | None = None  # built as a nested Keras model: 'functional' or 'sequential'
    nodes: tuple[str, ...] = ()  # a nested model's: the nodes inside it, in order
    shares: str | None = None  # a nested model applied again: the first call's prefix
    # The slice of ``Graph.nodes`` this call made, nested blocks' included: which call a
    # node belongs to where several calls share a prefix (Keras's ``conv2d_bn`` blocks).
    span: tuple[int, int] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Node:
    """One layer."""

    name: str
    op: str  # spec kind (``conv2d``), or ``input``
    keras_class: str  # the stock Keras class it builds
    attrs: dict  # normalized Keras constructor arguments, name excluded
    inputs: tuple[str, ...]  # names of the nodes it reads, in order
    shape: tuple  # static output shape without the batch axis
    trainable: int = 0
    non_trainable: int = 0
    block: str | None = None  # prefix of the innermost block it belongs to
    where: Where | None = None  # the YAML node that made it
    item: int | None = field(default=None, compare=False)  # the Program item that made it
    # Another call of the layer of this name (``conv:1`` calls ``conv`` again): its
    # weights are that layer's, so its own counts are zero.
    shares: str | None = None

    @property
    def layer(self) -> str:
        """The name of the Keras layer this node calls."""
        return self.shares or self.name

    @property
    def params(self) -> int:
        """The layer's parameter count, trainable and not."""
        return self.trainable + self.non_trainable

    @property
    def output_shape(self) -> tuple:
        """The output shape with the batch dimension, as Keras reports it."""
        return (None, *self.shape)


@dataclass(frozen=True)
class Graph:
    """A lowered model: nodes in topological order (the order the spec creates them)."""

    name: str  # the spec's name (an identifier: ``ResNet50``)
    model_name: str  # the Keras model's name
    nodes: tuple[Node, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    blocks: tuple[BlockInstance, ...] = ()
    params: dict = field(default_factory=dict)  # the spec's resolved params
    source: str = ""  # the spec file
    output_keys: tuple[str, ...] | None = None  # outputs by key (Keras's dict outputs)
    # whether some layer's name is left to Keras's session counters (a name of null, as
    # Keras's name=None): generated code then leaves every counter name to Keras
    session_names: bool = False

    def node(self, name: str) -> Node:
        """The node called ``name`` (KeyError if there is none)."""
        return self._index()[name]

    def _index(self) -> dict[str, Node]:
        index = self.__dict__.get("_by_name")
        if index is None:
            index = {n.name: n for n in self.nodes}
            object.__setattr__(self, "_by_name", index)
        return index

    @property
    def trainable(self) -> int:
        """Trainable parameters, as Keras's summary counts them."""
        return sum(n.trainable for n in self.nodes)

    @property
    def non_trainable(self) -> int:
        """Non-trainable parameters (batch norm's moving statistics, for one)."""
        return sum(n.non_trainable for n in self.nodes)

    @property
    def total(self) -> int:
        """All parameters: Keras's ``count_params()``."""
        return self.trainable + self.non_trainable

    @property
    def output_shape(self) -> tuple:
        """The first output's shape, with the batch dimension."""
        return self.node(self.outputs[0]).output_shape

    # Cost: thin delegations, imported on use (the IR is plain data; the catalogue is
    # not needed to hold a graph). The summary's text is archspec.summary(graph).
    @property
    def macs(self) -> int:
        """Multiply-accumulates of one forward pass for one example."""
        from archspec.core.cost import total_macs

        return total_macs(self)

    @property
    def flops(self) -> int:
        """FLOPs per example, defined as 2 × MACs (what TensorFlow's profiler counts)."""
        return 2 * self.macs

    def param_bytes(self, dtype: str = "float32") -> int:
        """Parameter memory: every parameter as one value of ``dtype``."""
        from archspec.core.cost import param_bytes

        return param_bytes(self, dtype)

    def activation_bytes(self, dtype: str = "float32") -> int | None:
        """Forward-pass activation memory per example (every node's output, the input's
        included); None when some size is unknown."""
        from archspec.core.cost import activation_bytes

        return activation_bytes(self, dtype)
