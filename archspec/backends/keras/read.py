"""From a built Keras model back to the IR: a saved ``.keras`` file, or a generated module.

``archspec diff`` compares graphs; this module turns a ``keras.Model`` into the same
``Graph`` that lowering makes from a spec (layer names, op kinds, attributes in the IR's
normalized form, inputs, output shapes, parameter counts), and reads each layer's
weights from the model itself. It is the only module besides ``build`` that
imports Keras, and only inside its functions.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pydantic

from archspec.backends.keras.quiet import before_keras
from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS, Weight, keras_auto_name, read_back, read_operation, refine
from archspec.core.ops.args import is_initializer, nests_layer
from archspec.core.ops.custom import layer_class, load_plugins
from archspec.diagnostics import UsageError
from archspec.files import note_input, regular_file
from archspec.limits import LIMITS

SAVED_SUFFIXES = (".keras", ".h5", ".hdf5")


def load_saved(path: str | os.PathLike) -> tuple[Graph, dict]:
    """The graph and weights of a saved model (``keras.models.load_model``), once
    ``check_saved`` has found the file sound."""
    return from_model(load_checked(path), source=str(path))


def load_checked(path: str | os.PathLike):
    """The ``keras.Model`` of a saved file, uncompiled, once ``check_saved`` has found
    the file sound; the custom layers of plugins are known to Keras."""
    check_saved(path)
    before_keras()
    import keras

    try:
        return keras.models.load_model(path, compile=False, custom_objects=_custom_classes())
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds for a bad file
        raise UsageError(f"{path}: cannot load the model: {short_message(exc)}") from None


# ---- a saved file checked before Keras opens it ----------------------------------------------

# Keras stores a .keras archive's members uncompressed, and DEFLATE cannot shrink data
# more than about 1032:1: a large member inflating to over 100 times what it stores is
# a decompression bomb, refused before Keras reads it into memory (as Keras does from 4 GiB).
_BOMB_RATIO = 100
_BOMB_FLOOR = 64 * 2**20
_CHUNK = 2**20
_CONFIG_MEMBERS = ("config.json", "metadata.json")


def short_message(exc: BaseException, width: int = 300, *, named: bool = True) -> str:
    """An exception as one line for the user: its class and the first meaningful line
    of its message, without the config dump Keras appends (``Full object config: {...}``),
    with Keras's ``Exception encountered:`` line after it, at most ``width`` characters.
    ``named=False`` leaves the class out (a ``TypeError`` that says its call)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    cause = next((line for line in lines[1:] if line.startswith("Exception encountered")), "")
    if cause:
        text = f"{text} {cause}"
    dump = re.search(r"\s*(Full object config|[Cc]onfig)\s*[:=]\s*[{\[]", text)
    if dump:
        text = text[: dump.start()] + " …"
    if named or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= width else text[: width - 1] + "…"


def check_saved(path: str | os.PathLike) -> None:
    """Refuse a saved model that Keras would choke on, hang on, or mistake for a missing
    file, before Keras is imported: not a regular file, larger than ``max_model_bytes``,
    a ``.keras`` that is no sound zip archive of a JSON ``config.json`` within
    ``max_model_config_bytes``, an ``.h5`` without a bounded ``model_config``."""
    size = regular_file(path, "a saved model file (.keras, .h5)").st_size
    note_input(path)
    if size > LIMITS.max_model_bytes:
        raise UsageError(
            f"{path}: the file is {size:,} bytes; the limit is {LIMITS.max_model_bytes:,} "
            "(limit max_model_bytes)"
        )
    if size == 0:
        raise UsageError(f"{path}: cannot load the model: the file is empty")
    if Path(path).suffix.lower() == ".keras":
        _check_keras_archive(path, size)
    else:
        _check_h5_model(path)


def _check_keras_archive(path, size: int) -> None:
    with open(path, "rb") as fp:
        head = fp.read(8)
        if not head.startswith(b"PK"):
            what = (
                "an HDF5 file (a legacy model is named .h5)" if head == b"\x89HDF\r\n\x1a\n" else ""
            )
            raise UsageError(
                f"{path}: not a .keras model: not a zip archive{f'; it is {what}' if what else ''}"
            )
        directory = _zip_directory_size(fp, size)
        if directory is None:
            raise UsageError(
                f"{path}: not a .keras model: a truncated or damaged zip archive "
                "(no zip directory at its end)"
            )
        if directory > LIMITS.max_zip_directory_bytes:
            raise UsageError(
                f"{path}: the zip archive's list of members is {directory:,} bytes; the limit "
                f"is {LIMITS.max_zip_directory_bytes:,} (limit max_zip_directory_bytes)"
            )
        fp.seek(0)
        try:
            with zipfile.ZipFile(fp) as archive:
                _check_members(path, archive)
                config = _inflate(path, archive, "config.json")
        except zipfile.BadZipFile as exc:
            raise UsageError(f"{path}: not a .keras model: a damaged zip archive: {exc}") from None
    try:
        value = json.loads(config)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        why = "it nests too deeply" if isinstance(exc, RecursionError) else short_message(exc)
        raise UsageError(f"{path}: member config.json is not JSON: {why}") from None
    if not isinstance(value, dict):
        raise UsageError(
            f"{path}: member config.json must hold a JSON object (a model's config). "
            f"Received: a {type(value).__name__}"
        )


def _zip_directory_size(fp, size: int) -> int | None:
    """The size of a zip archive's central directory (what ``zipfile`` parses into one
    object per member, so its cost), from the end-of-archive record; None when there is
    none (a truncated archive)."""
    tail = min(size, 22 + 65535)  # the record and the longest archive comment
    fp.seek(size - tail)
    data = fp.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or len(data) - at < 22:
        return None
    directory = struct.unpack("<L", data[at + 12 : at + 16])[0]
    if directory == 0xFFFFFFFF and at >= 20 and data[at - 20 : at - 16] == b"PK\x06\x07":
        offset = struct.unpack("<Q", data[at - 12 : at - 4])[0]  # the zip64 record
        fp.seek(offset)
        record = fp.read(56)
        if len(record) < 56 or record[:4] != b"PK\x06\x06":
            return None
        directory = struct.unpack("<Q", record[40:48])[0]
    return directory


def _check_members(path, archive: zipfile.ZipFile) -> None:
    members = archive.infolist()
    names = [m.filename for m in members]
    if "config.json" not in names:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "") or "no members"
        raise UsageError(
            f"{path}: not a .keras model: the zip archive has no config.json. Received: {shown}"
        )
    total = 0
    for member in members:
        total += member.file_size
        name = member.filename
        if name in _CONFIG_MEMBERS and member.file_size > LIMITS.max_model_config_bytes:
            raise UsageError(
                f"{path}: member {name} inflates to {member.file_size:,} bytes; the limit is "
                f"{LIMITS.max_model_config_bytes:,} (limit max_model_config_bytes)"
            )
        if member.file_size > max(_BOMB_FLOOR, _BOMB_RATIO * member.compress_size):
            raise UsageError(
                f"{path}: member {name} inflates to {member.file_size:,} bytes from "
                f"{member.compress_size:,}, more than {_BOMB_RATIO} times: a decompression "
                "bomb (Keras stores its members uncompressed)"
            )
        if total > LIMITS.max_model_bytes:
            raise UsageError(
                f"{path}: the archive's members inflate to more than {total:,} bytes; the "
                f"limit is {LIMITS.max_model_bytes:,} (limit max_model_bytes)"
            )


def _inflate(path, archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, inflated a chunk at a time and stopped at
    ``max_model_config_bytes`` whatever size the member declares."""
    limit = LIMITS.max_model_config_bytes
    chunks, total = [], 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise UsageError(
                        f"{path}: member {name} inflates to more than {limit:,} bytes (limit "
                        "max_model_config_bytes)"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise UsageError(f"{path}: cannot read member {name}: {short_message(exc)}") from None
    return b"".join(chunks)


def _check_h5_links(path, h5py, f) -> None:
    """Every link in a legacy model's file stays in it (an external link or dataset
    opens another file, which may be a FIFO), and its datasets declare no more than
    ``max_model_bytes`` together (Keras reads each whole)."""
    problems: list[str] = []
    total = 0

    def visit(name: str, link) -> int | None:
        nonlocal total
        if not isinstance(link, h5py.HardLink):
            target = getattr(link, "filename", None) or link.path
            problems.append(f"'{name}' is a link to {target!r}; a saved model is one file")
            return 1
        node = f[name]
        if isinstance(node, h5py.Dataset):
            if node.is_virtual or node.external:
                problems.append(f"dataset '{name}' keeps its data in other files")
                return 1
            total += int(np.prod(node.shape or (), dtype=object)) * node.dtype.itemsize
            if total > LIMITS.max_model_bytes:
                problems.append(
                    f"its datasets declare {total:,} bytes or more; the limit is "
                    f"{LIMITS.max_model_bytes:,} (limit max_model_bytes)"
                )
                return 1
        return None

    f.visititems_links(visit)
    if problems:
        raise UsageError(f"{path}: {problems[0]}")


def _check_h5_model(path) -> None:
    """A legacy HDF5 model: an HDF5 file whose ``model_config`` attribute is JSON within
    ``max_model_config_bytes``. A fixed-length string is measured before it is read; a
    variable-length one lies in the file, so it is no larger than the file."""
    import h5py

    if not h5py.is_hdf5(path):
        with open(path, "rb") as fp:
            zipped = fp.read(2) == b"PK"
        hint = "; it is a zip archive (a Keras 3 model is named .keras)" if zipped else ""
        raise UsageError(f"{path}: not a saved Keras model: not an HDF5 file{hint}")
    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise UsageError(
                    f"{path}: not a saved Keras model: the HDF5 file has no model_config "
                    "attribute (a file of weights only?)"
                )
            attribute = h5py.h5a.open(f.id, b"model_config")
            declared = attribute.get_storage_size()
            fixed = h5py.check_string_dtype(attribute.dtype)
            if fixed is not None and fixed.length is None:
                declared = 0  # variable length: measured once read
            if declared > LIMITS.max_model_config_bytes:
                raise UsageError(
                    f"{path}: attribute model_config is {declared:,} bytes; the limit is "
                    f"{LIMITS.max_model_config_bytes:,} (limit max_model_config_bytes)"
                )
            config = f.attrs["model_config"]
            _check_h5_links(path, h5py, f)
    except (OSError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the HDF5 file: {short_message(exc)}") from None
    if isinstance(config, bytes):
        config = config.decode("utf-8", "replace")
    if not isinstance(config, str):
        raise UsageError(
            f"{path}: attribute model_config must be a JSON string. Received: "
            f"{type(config).__name__}"
        )
    if len(config) > LIMITS.max_model_config_bytes:
        raise UsageError(
            f"{path}: attribute model_config is {len(config):,} characters; the limit is "
            f"{LIMITS.max_model_config_bytes:,} (limit max_model_config_bytes)"
        )
    try:
        json.loads(config)
    except (ValueError, RecursionError) as exc:
        why = "it nests too deeply" if isinstance(exc, RecursionError) else short_message(exc)
        raise UsageError(f"{path}: attribute model_config is not JSON: {why}") from None


def load_module(path: str | os.PathLike, params: dict | None = None) -> tuple[Graph, dict]:
    """The graph and weights of the model a generated module builds: its model function
    (the public function named with a capital, as codegen names it after the spec) is
    called with ``params`` as keyword arguments."""
    regular_file(path, "a Python module")
    note_input(path)
    from archspec.backends.python.sharing import import_module

    before_keras()  # the module imports Keras

    name = re.sub(r"\W", "_", Path(path).stem)
    if not name.isidentifier():
        name = "_" + name
    try:
        module = import_module(path, name)
    except Exception as exc:  # noqa: BLE001 - whatever the module raises
        raise UsageError(f"{path}: cannot import: {short_message(exc)}") from None
    function = model_function(module, path)
    try:
        model = function(**(params or {}))
    except TypeError as exc:
        raise UsageError(
            f"{path}: {function.__name__}(): {short_message(exc, named=False)}"
        ) from None
    return from_model(model, source=str(path), name=function.__name__)


def model_function(module, path) -> object:
    """The module's model function: the only public function whose name starts with an
    uppercase letter, or else the last function it defines."""
    functions = [
        f
        for _, f in inspect.getmembers(module, inspect.isfunction)
        if f.__module__ == module.__name__
    ]
    capital = [f for f in functions if f.__name__[:1].isupper()]
    if len(capital) == 1:
        return capital[0]
    if not functions:
        raise UsageError(f"{path}: defines no function that builds a model")
    return max(functions, key=lambda f: f.__code__.co_firstlineno)


def from_model(model, source: str = "", name: str | None = None) -> tuple[Graph, dict]:
    """A ``keras.Model`` as an IR graph, and its layers' weights by layer name. A nested
    model (a block built as one) is read as its layers, and its calls after the first as
    those layers called again, as the lowering makes them."""
    reader = _Reader()
    reader.read(model.operations, {})
    # An operation that no layer reads as a tensor argument, and that is no output, is
    # Keras's own bookkeeping (the mask an Embedding with mask_zero passes along).
    outputs = tuple(reader.name(_producer(t)) for t in model.outputs)
    read = {i for n in reader.nodes for i in n.inputs} | set(outputs)
    nodes = [n for n in reader.nodes if n.name in read or n.name not in reader.operations]
    graph = Graph(
        name=name or model.name,
        model_name=model.name,
        nodes=tuple(nodes),
        inputs=tuple(_producer(t) for t in model.inputs),
        outputs=outputs,
        source=source,
        output_keys=tuple(sorted(model.output)) if isinstance(model.output, dict) else None,
    )
    return graph, reader.weights


class _Reader:
    def __init__(self):
        self.nodes: list[Node] = []
        self.weights: dict = {}
        self.operations: set[str] = set()  # the names of operation nodes (not layers)
        # A nested model's call (``tower``, ``tower:1``, with ``#i`` for its i-th output of
        # several) → the node inside it that makes that output.
        self.renamed: dict[str, str] = {}

    def name(self, producer: str) -> str:
        return self.renamed.get(producer, producer)

    def read(self, operations, alias: dict, inner: bool = False) -> list[Node]:
        """Read ``operations`` in order; ``alias``: a nested model's input layers → the
        nodes its first call reads. ``inner``: inside a nested model, where a layer is
        called once (Keras calls a Sequential's layers again to make its graph). Returns
        the nodes made."""
        import keras

        made = []
        for operation in operations:
            if isinstance(operation, keras.layers.InputLayer) and operation.name in alias:
                continue
            if isinstance(operation, keras.Model):
                made += self.nested(operation, alias)
                continue
            if not isinstance(operation, keras.layers.Layer):
                node = _operation_node(operation)
                self.operations.add(node.name)
                made.append(self.add(node, alias))
                continue
            node = _node(operation)
            if inner:
                node = dataclasses.replace(
                    node, inputs=tuple(re.sub(r":\d+$", "", i) for i in node.inputs)
                )
            node = self.add(node, alias)
            made.append(node)
            for again in () if inner else _further_calls(operation, node):
                made.append(self.add(again, {}))
            found = tuple(
                Weight(w.name, tuple(w.shape), bool(w.trainable)) for w in operation.weights
            )
            if found:
                self.weights[node.name] = found
        return made

    def add(self, node: Node, alias: dict) -> Node:
        inputs = tuple(self.name(alias.get(i, i)) for i in node.inputs)
        if inputs != node.inputs:
            node = dataclasses.replace(node, inputs=inputs)
        self.nodes.append(node)
        return node

    def nested(self, model, alias: dict) -> list[Node]:
        calls = model._inbound_nodes
        if not calls:
            return []
        outer = [self.name(alias.get(_producer(t), _producer(t))) for t in _call_tensors(calls[0])]
        graph = getattr(model, "_functional", None) or model  # a Sequential's own graph
        inner_inputs = [t._keras_history[0].name for t in graph.inputs]
        made = self.read(graph.operations, {**alias, **dict(zip(inner_inputs, outer))}, True)
        inner_outputs = [self.name(_producer(t)) for t in graph.outputs]
        self._rename(model.name, inner_outputs)
        inside = {n.name for n in made}
        for k, call in enumerate(calls[1:], 1):
            mapping = dict(zip(outer, [self.name(_producer(t)) for t in _call_tensors(call)]))
            for node in made:
                layer = node.shares or node.name
                again = Node(
                    f"{layer}:{k}",
                    node.op,
                    node.keras_class,
                    node.attrs,
                    tuple(f"{i}:{k}" if i in inside else mapping.get(i, i) for i in node.inputs),
                    node.shape,
                    shares=layer,
                )
                self.nodes.append(again)
            self._rename(f"{model.name}:{k}", [f"{o}:{k}" for o in inner_outputs])
        return made

    def _rename(self, call: str, outputs: list[str]) -> None:
        for i, output in enumerate(outputs):
            self.renamed[call if len(outputs) == 1 else f"{call}#{i}"] = output


def _custom_classes() -> dict:
    """The installed plugins' layer classes by the names Keras saves them under, so that
    a saved model of custom layers loads (their modules are imported now)."""
    import keras

    load_plugins()
    classes = [layer_class(op) for op in OPS.values() if op.module is not None]
    return {keras.saving.get_registered_name(cls): cls for cls in classes}


def _producer(tensor) -> str:
    """The IR's name of the node that made a tensor: a layer's name, ``NAME:K`` for its
    K-th call again (a shared layer)."""
    layer, call, index = tensor._keras_history
    import keras

    name = layer.name if call == 0 else f"{layer.name}:{call}"
    if isinstance(layer, keras.Model) and len(layer.outputs) > 1:
        name += f"#{index}"  # one of a nested model's several outputs
    return name


def _further_calls(layer, first: Node) -> list[Node]:
    """A shared layer's calls after its first, as nodes that share its weights."""
    nodes = []
    for k, call in enumerate(layer._inbound_nodes[1:], 1):
        tensors = _call_tensors(call)
        inputs = tuple(_producer(t) for t in tensors)
        op = OPS.get(first.op)
        if op is not None:
            inputs = op.fewest_inputs(inputs)
        shape = tuple(call.outputs[0].shape)[1:]
        nodes.append(
            Node(f"{layer.name}:{k}", first.op, first.keras_class, first.attrs, inputs, shape,
                 shares=layer.name)
        )  # fmt: skip
    return nodes


def _node(layer) -> Node:
    cls = type(layer).__name__
    config = layer.get_config()
    counts = [0, 0]
    for w in layer.weights:
        size = 1
        for d in w.shape:
            size *= int(d)
        counts[0 if w.trainable else 1] += size
    if cls == "InputLayer":
        shape = tuple(config["batch_shape"][1:])
        attrs = {"shape": shape}
        if config.get("dtype") not in (None, "float32"):
            attrs["dtype"] = config["dtype"]
        return Node(layer.name, "input", cls, attrs, (), shape)
    inputs, in_shapes = (), []
    if layer._inbound_nodes:
        tensors = _call_tensors(layer._inbound_nodes[0])
        inputs = tuple(_producer(t) for t in tensors)
        in_shapes = [tuple(t.shape)[1:] for t in tensors]
    try:
        shape = tuple(layer.output.shape)[1:]
    except (AttributeError, ValueError):  # several outputs, or never called
        shape = ()
    kind, attrs = _kind_and_attrs(cls, config, in_shapes, type(layer).__module__)
    op = OPS.get(kind)
    if op is not None:  # MHA called (x, x) is the IR's self-attention on x
        inputs = op.fewest_inputs(inputs)
    return Node(layer.name, kind, cls, attrs, inputs, shape, counts[0], counts[1])


def _operation_node(operation) -> Node:
    """An operation node (``x + 3.0``) as the kind of arithmetic it is: the tensor first
    and a number second. Any other operation keeps its constant arguments (``x1``,
    ``x2``, ... by position, as ``keras.ops`` names them) under its Keras auto-name."""
    from keras import KerasTensor

    cls = type(operation).__name__
    call = operation._inbound_nodes[0]
    args = call.arguments.args
    inputs = tuple(_producer(t) for t in call.input_tensors)
    shape = tuple(operation.output.shape)[1:]
    op = read_operation(type(operation).__module__, cls)
    if op is not None and len(args) == 2 and isinstance(args[0], KerasTensor):
        try:
            attrs = op.args.model_validate({op.operation.operand: args[1]}).model_dump()
        except pydantic.ValidationError:  # not a number: a tensor, an array
            pass
        else:
            return Node(operation.name, op.kind, cls, attrs, inputs, shape)
    constants = {f"x{i}": a for i, a in enumerate(args, 1) if not isinstance(a, KerasTensor)}
    return Node(operation.name, keras_auto_name(cls), cls, constants, inputs, shape)


def _call_tensors(node) -> list:
    """The tensors a layer was called with, in order: its positional arguments (a
    merge's list flattened), without a mask that Keras passes along beside them."""
    from keras import tree

    found = [t for t in tree.flatten(node.arguments.args) if hasattr(t, "_keras_history")]
    return found or list(node.input_tensors)


def _kind_and_attrs(
    cls: str, config: dict, in_shapes: list, module: str | None = None
) -> tuple[str, dict]:
    """The op kind and normalized attributes. A layer of a class the language lacks
    keeps its Keras config (without bookkeeping) under its Keras auto-name; settings the
    language cannot write (a regularizer, ``trainable: False``) are kept as extra
    attributes, found by rebuilding the layer from the IR and comparing configs. A custom
    layer is known by its class's module too."""
    op = read_back(cls, module)
    if op is None:
        return keras_auto_name(cls), _foreign(config)
    raw = {}
    for key, field in op.args.model_fields.items():
        if key not in config:
            continue
        value = config[key]
        if key == "activation" and value == "linear" and field.default is None:
            value = None
        elif nests_layer(field) and isinstance(value, dict) and "class_name" in value:
            value = _nested(value, in_shapes)
        elif is_initializer(value, serialized=True):
            value = _initializer(value)
        raw[key] = value
    try:
        attrs = op.args.model_validate(raw).model_dump()
    except pydantic.ValidationError:  # a configuration the language cannot express
        return keras_auto_name(cls), _foreign(config)
    if op.read_attrs is not None and in_shapes:
        attrs = op.read_attrs(attrs, in_shapes)  # as Keras had it before it was built
    kind = refine(op, attrs).kind  # relu6 is a ReLU with max_value 6
    import keras

    from archspec.backends.keras.build import make_layer

    rebuilt = make_layer(keras, Node("probe", kind, cls, attrs, (), ())).get_config()
    for key, value in config.items():
        if key != "name" and key not in attrs and _unnamed(rebuilt.get(key)) != _unnamed(value):
            attrs[key] = value
    return kind, attrs


def _nested(value: dict, in_shapes: list) -> dict:
    """A wrapper's serialized layer (Bidirectional's ``layer``) as a spec writes it,
    ``{kind: arguments}``, read like a layer of its own; a layer of a class the
    language lacks stays as it is, which the wrapper's model refuses."""
    config = dict(value.get("config") or {})
    config.pop("zero_output_for_mask", None)  # Bidirectional sets it from return_sequences
    kind, attrs = _kind_and_attrs(value["class_name"], config, in_shapes)
    return {kind: attrs} if kind in OPS else value


def _unnamed(value):
    """A config value without the names Keras gave the layers inside it (a wrapper's
    forward and backward layers) nor their build state, which no spec says."""
    if isinstance(value, dict):
        return {k: _unnamed(v) for k, v in value.items() if k not in ("name", "build_config")}
    if isinstance(value, list):
        return [_unnamed(v) for v in value]
    return value


def _foreign(config: dict) -> dict:
    return {
        k: v
        for k, v in config.items()
        if k not in ("name", "dtype") and (k, v) != ("trainable", True)
    }


def _initializer(value: dict) -> dict:
    """Keras's serialized initializer → the IR's ``{class_name, config}`` with the
    arguments that differ from the class's defaults (as a spec writes them)."""
    import keras

    cls = value["class_name"]
    config = dict(value.get("config") or {})
    try:
        defaults = getattr(keras.initializers, cls)().get_config()
    except (AttributeError, TypeError, ValueError):  # not a stock initializer
        defaults = {}
    return {
        "class_name": cls,
        "config": {k: v for k, v in config.items() if k not in defaults or defaults[k] != v},
    }
