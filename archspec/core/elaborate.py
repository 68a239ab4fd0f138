"""Elaboration: a resolved spec becomes a Program of typed items.

The Program is how the spec was written, read once: every layer, block call and stage
as an object with its position, its arguments with the layer defaults in force merged
in (the library's, then the spec's), and its expressions not yet evaluated. Stage
positions (index, letter) and the model's running block count (``serial``) are laid
out here as sums of counts, and layers and blocks outside blocks that carry no name get
their Keras-style name here, counted over the whole model whatever their conditions,
so that names never depend on a ``when``.

The lowering expands the Program into the graph (evaluating, naming, inferring
shapes); the Python backend writes block functions from it. Neither reads raw YAML
items again. Errors in how items are written are raised here, at their place.
"""

from typing import Any, NamedTuple

from archspec.core import items
from archspec.core.naming import AutoNames
from archspec.core.ops import KINDS, MERGES, OPS, Op, keras_auto_name, lookup
from archspec.core.ops.keras_classes import KERAS_LAYER_CLASSES
from archspec.diagnostics import Problem, SpecError, close_match, did_you_mean, received
from archspec.frontend.loader import Document
from archspec.frontend.resolve import BlockEntry, ResolvedSpec, load
from archspec.frontend.schema import IDENTIFIER, NamingScheme, ParamDecl
from archspec.identifiers import ascii_form, non_ascii_note

# The keys every item may carry (COMMON_KEYS), as the fields of Layer, Call and Reuse.
_COMMON_FIELDS = {"name": "name", "role": "role", "when": "when", "from": "reads", "as": "binds"}

# The Program's objects are named tuples: immutable, and several times cheaper to define
# than frozen dataclasses (which `check` would pay for at every start). The module has
# no ``from __future__ import annotations``: string annotations would cost a compile each.


class Arg(NamedTuple):
    """A value as written (a literal or an expression) and where it was written."""

    value: Any
    doc: Document
    path: tuple

    def where(self, *, key: bool = False):
        """Where the value (``key``: its key) was written, for a diagnostic."""
        return self.doc.where(self.path, key=key)


class Layer(NamedTuple):
    """A layer item: its op, its Keras arguments (defaults merged, unevaluated), and the
    keys every item may carry."""

    uid: int
    op: Op
    args: dict[str, Arg]
    name: Arg | None
    role: Arg | None
    when: Arg | None
    doc: Document
    path: tuple  # the item
    args_path: tuple  # its arguments
    auto_name: str | None = None  # outside blocks, unnamed: the name decided here
    reads: Arg | None = None  # ``from``: the tensors it reads, by name
    binds: Arg | None = None  # ``as``: the names its outputs get


class Call(NamedTuple):
    """A block called by name (not from a stage)."""

    uid: int
    block: str
    args: dict[str, Arg]
    name: Arg | None
    role: Arg | None
    when: Arg | None
    doc: Document
    path: tuple
    args_path: tuple
    auto_name: str | None = None  # outside blocks, unnamed: its prefix, decided here
    serial: tuple | None = None  # outside blocks: the model's block count before it
    reads: Arg | None = None
    binds: Arg | None = None


class Reuse(NamedTuple):
    """A layer (or a block built as a nested model) applied again, with its weights."""

    uid: int
    target: Arg  # the layer's name (or the block call's)
    when: Arg | None
    doc: Document
    path: tuple
    args_path: tuple
    reads: Arg | None = None
    binds: Arg | None = None


class StageEntry(NamedTuple):
    """One entry of a stage: a block kind, how many times, with which arguments."""

    uid: int
    block: str
    times: Arg  # how many calls: a number or an expression
    args: dict[str, Arg]  # the stage's shared arguments this block takes, then its own
    name: Arg | None
    when: Arg | None
    doc: Document
    path: tuple  # the call site named in errors and in the IR
    # Positions of its first call, as terms of a sum: numbers, and stage entries whose
    # ``times`` add in (they may be expressions). Its 1-based index in its stage, and
    # the model's running block count before it:
    first_index: tuple
    first_serial: tuple
    key: bool = False  # whether ``path`` is a key (``{convolutional: {...}}``)


class Stage(NamedTuple):
    """A stage: blocks repeated with positions (index, letter) for their names."""

    uid: int
    id: Arg
    entries: tuple[StageEntry, ...]
    doc: Document
    path: tuple
    reads: Arg | None = None
    binds: Arg | None = None


class Branch(NamedTuple):
    """A parallel path of a block: where it starts and its items."""

    start: Arg  # 'input', 'layers', a tensor of the block, or an expression
    when: Arg | None
    items: tuple
    path: tuple


class Block(NamedTuple):
    """A block definition."""

    name: str
    text: str | None  # its doc
    inputs: tuple[str, ...]  # the names of the tensors it reads
    outputs: tuple[str, ...] | None  # the tensors it returns (None: its last one)
    model: str | None  # built as a nested Keras model: 'functional' or 'sequential'
    params: dict[str, ParamDecl]
    vars: dict[str, Arg]
    layers: tuple
    branches: tuple[Branch, ...]
    merge: Layer | None
    after: tuple
    doc: Document
    path: tuple


class Input(NamedTuple):
    """A model input: its shape, layer name and dtype as written."""

    shape: Arg
    name: Arg
    dtype: str | None


class Program(NamedTuple):
    """How a spec was written, elaborated: its items, block definitions, naming and params."""

    name: str
    text: str | None  # the spec's doc
    model_name: Arg
    params: dict  # resolved values
    inputs: tuple[Input, ...]
    outputs: Arg | None  # tensor names, or output keys → tensor names; None: the last
    items: tuple
    blocks: dict[str, Block]
    naming: NamingScheme
    resolved: ResolvedSpec

    def walk(self):
        """Every item of the model and of every block definition."""
        yield from _walk(self.items)
        for block in self.blocks.values():
            yield from _walk(block.layers)
            for branch in block.branches:
                yield from _walk(branch.items)
            if block.merge is not None:
                yield block.merge
            yield from _walk(block.after)


def _walk(items):
    for item in items:
        yield item
        if isinstance(item, Stage):
            yield from item.entries


def elaborate(resolved: ResolvedSpec) -> Program:
    """The Program of a resolved spec."""
    return _Elaboration(resolved).run()


def elaborate_file(path, params: dict | None = None) -> Program:
    """The Program of a spec file: read, validated, resolved and elaborated. The way in
    for the backends, which never call the front end themselves."""
    return elaborate(load(path, params))


class _Elaboration:
    def __init__(self, resolved: ResolvedSpec):
        self.r = resolved
        self.uid = 0
        self.auto = AutoNames()
        self.serial: list = []  # terms of the model's running block count
        self.problems: list[Problem] = []  # unknown kinds, reported together
        self.libraries: dict = {}  # each library's checked defaults, by file

    def next_uid(self) -> int:
        self.uid += 1
        return self.uid

    def run(self) -> Program:
        spec, doc = self.r.spec, self.r.doc
        spec_defaults = self._checked_defaults(spec.defaults, doc)
        blocks = {name: self._block(entry, spec_defaults) for name, entry in self.r.blocks.items()}
        known_blocks = set(blocks)
        model_items = [
            self._item(item, doc, ("layers", i), [spec_defaults], known_blocks, True)
            for i, item in enumerate(spec.layers)
        ]
        model_items = [item for item in model_items if item is not None]
        if self.problems:
            raise SpecError(sorted(self.problems, key=self._reading_order))
        inputs = tuple(
            Input(
                Arg(decl.shape, doc, path + ("shape",)),
                Arg(decl.name, doc, path + ("name",)),
                decl.dtype,
            )
            for decl, path in zip(
                spec.model_inputs,
                [("input",)]
                if spec.input is not None
                else [("inputs", i) for i in range(len(spec.inputs))],
            )
        )
        outputs = None if spec.outputs is None else Arg(spec.outputs, doc, ("outputs",))
        self._check_model_tensors(model_items, inputs, outputs, blocks)
        for block in blocks.values():
            self._check_block_tensors(block, blocks)
        if self.problems:
            raise SpecError(sorted(self.problems, key=self._reading_order))
        self._auto_names(model_items)
        return Program(
            name=spec.name,
            text=spec.doc,
            model_name=Arg(spec.model_name or spec.name, doc, ("model_name",)),
            params=dict(self.r.params),
            inputs=inputs,
            outputs=outputs,
            items=tuple(model_items),
            blocks=blocks,
            naming=self.r.naming,
            resolved=self.r,
        )

    # ---- defaults -----------------------------------------------------------------------------

    def _checked_defaults(self, defaults: dict, doc: Document, path=("defaults",)):
        """A defaults table by kind (aliases resolved): {kind: (name as written, args)}."""
        table = {}
        for name, args in defaults.items():
            op = lookup(name)
            if op is None:
                self._unknown_kind(name, doc, path + (name,), OPS, "layer kind")
                continue
            if op.kind in table:
                raise self._error(
                    doc,
                    path + (name,),
                    "duplicate-key",
                    on_key=True,
                    key=name,
                    line=doc.where(path + (table[op.kind][0],), key=True).line,
                    column=doc.where(path + (table[op.kind][0],), key=True).col,
                )
            for key in args or {}:
                if key not in op.args.model_fields:
                    raise self._error(
                        doc,
                        path + (name, key),
                        "unknown-argument",
                        on_key=True,
                        inside="",
                        key=key,
                        kind=name,
                        hint=did_you_mean(key, op.args.model_fields),
                    )
            table[op.kind] = (name, args or {})
        return (doc, path, table)

    # ---- items --------------------------------------------------------------------------------

    def _split(self, item, doc: Document, path: tuple):
        """``"relu"`` or ``{conv2d: {...}}`` → (kind, raw args, path of the args)."""
        try:
            return items.split(item, path)
        except items.ItemError as exc:
            raise self._error(doc, path, "invalid-item", detail=str(exc)) from None

    def _item(self, item, doc, path, defaults, blocks, top: bool):
        kind, args, args_path = self._split(item, doc, path)
        if kind == "stage" and top:
            return self._stage(args, doc, args_path, blocks)
        if kind == "reuse" and kind not in blocks:
            return self._reuse(args, doc, path, args_path)
        # A block in scope shadows a layer kind of its name: the seed's ``identity`` block
        # stays a block beside Keras's Identity, and a library keeps its meaning as the
        # catalogue grows.
        if kind in blocks:
            call = self._call(kind, args, doc, path, args_path)
            if top:
                call = call._replace(serial=tuple(self.serial))
                self.serial.append(1)
            return call
        op = lookup(kind)
        if op is not None:
            return self._layer(op, args, doc, path, args_path, defaults)
        known = [*KINDS, *blocks, *(["stage"] if top else [])]
        return self._unknown_kind(kind, doc, path, known, "layer or block kind")

    def _unknown_kind(self, kind: str, doc, path, known, what: str) -> None:
        """Note an unknown kind and go on: every one in the spec is reported, each at its
        place. A Keras layer the catalogue lacks is named as such; a look-alike is offered
        only when it is really close."""
        keras_class = next((c for c in KERAS_LAYER_CLASSES if keras_auto_name(c) == kind), None)
        if keras_class is not None:
            hint = (
                f": Keras's {keras_class} is not in archspec's catalogue yet "
                "(docs/language.md lists the layers it has)"
            )
        else:
            hint = close_match(kind, known) or (
                "; docs/language.md lists the layers archspec has, and blocks are defined "
                "under blocks: or imported"
            )
        where = doc.where(path, key=True)
        self.problems.append(Problem.of("unknown-kind", where, what=what, kind=kind, hint=hint))

    def _layer(self, op: Op, raw, doc, path, args_path, defaults) -> Layer:
        if raw is None:
            raw = {}
        elif not isinstance(raw, dict):
            if not op.primary:
                raise self._error(
                    doc,
                    args_path,
                    "invalid-item",
                    detail=f"{op.kind} takes a mapping of arguments{received(raw)}",
                )
            raw = {op.primary: raw}
        args: dict[str, Arg] = {}
        for ddoc, dpath, table in defaults:
            written, values = table.get(op.kind, (op.kind, {}))
            for key, value in values.items():
                args[key] = Arg(value, ddoc, dpath + (written, key))
        own = {k: Arg(v, doc, args_path + (k,)) for k, v in raw.items()}
        common = self._common(own)
        args.update(own)
        return Layer(self.next_uid(), op, args, **common, doc=doc, path=path, args_path=args_path)

    def _common(self, args: dict) -> dict:
        """The keys every item may carry, taken out of its arguments, as the item's
        fields; ``from`` and ``as`` are checked here, being names as written."""
        common = {field: args.pop(key, None) for key, field in _COMMON_FIELDS.items()}
        for field in ("reads", "binds"):
            arg = common[field]
            if arg is not None:
                tensor_names(arg)
        return common

    def _reuse(self, raw, doc, path, args_path) -> Reuse:
        if isinstance(raw, str):
            raw = {"layer": raw}
        if not isinstance(raw, dict) or "layer" not in raw:
            raise self._error(
                doc,
                args_path,
                "invalid-item",
                detail="reuse takes the name of a layer (or of a block built as a model): "
                "reuse: NAME, or reuse: {layer: NAME, from: ..., as: ...}",
            )
        args = {k: Arg(v, doc, args_path + (k,)) for k, v in raw.items()}
        target = args.pop("layer")
        common = self._common(args)
        for key in (*args, *(k for k in ("name", "role") if common[k] is not None)):
            raise self._error(
                doc,
                args_path + (key,),
                "unknown-argument",
                on_key=True,
                inside="",
                key=key,
                kind="reuse",
                hint=did_you_mean(key, ("layer", "from", "as", "when")),
            )
        return Reuse(
            self.next_uid(),
            target,
            common["when"],
            doc,
            path,
            args_path,
            common["reads"],
            common["binds"],
        )

    def _call_args(self, raw, doc, args_path) -> dict[str, Arg]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self._error(
                doc,
                args_path,
                "wrong-type",
                expected="a mapping of the block's arguments",
                received=received(raw),
            )
        return {k: Arg(v, doc, args_path + (k,)) for k, v in raw.items()}

    def _call(self, kind, raw, doc, path, args_path) -> Call:
        args = self._call_args(raw, doc, args_path)
        common = self._common(args)
        return Call(self.next_uid(), kind, args, **common, doc=doc, path=path, args_path=args_path)

    # ---- stages -------------------------------------------------------------------------------

    def _stage(self, args, doc, path, blocks) -> Stage:
        if not isinstance(args, dict):
            raise self._error(
                doc,
                path,
                "wrong-type",
                expected="a stage: a mapping with id and blocks",
                received=received(args),
            )
        for key in ("id", "blocks"):
            if key not in args:
                raise self._error(doc, path, "missing-key", key=key)
        raw_entries = args["blocks"]
        if not isinstance(raw_entries, list) or not raw_entries:
            raise self._error(
                doc,
                path + ("blocks",),
                "invalid-value",
                detail="expected a non-empty list of blocks",
                received=received(raw_entries),
            )
        shared = {k: Arg(v, doc, path + (k,)) for k, v in args.items() if k not in ("id", "blocks")}
        reads, binds = shared.pop("from", None), shared.pop("as", None)
        for arg in (reads, binds):
            if arg is not None:
                tensor_names(arg)
        parsed = [
            self._stage_entry(entry, doc, path + ("blocks", i), blocks)
            for i, entry in enumerate(raw_entries)
        ]
        if None in parsed:  # an unknown block, noted: its params cannot be checked
            return None
        used = {kind for kind, *_ in parsed}
        for key, arg in shared.items():
            if not any(key in self.r.blocks[k].definition.params for k in used):
                known = {p for k in used for p in self.r.blocks[k].definition.params}
                raise SpecError.of(
                    "unknown-param",
                    arg.where(),
                    key=key,
                    owner=" (no block in this stage takes it)",
                    hint=did_you_mean(key, known),
                )
        entries, index = [], [1]
        for kind, count, own, where_path, key in parsed:
            params = self.r.blocks[kind].definition.params
            call_args = {k: v for k, v in shared.items() if k in params}
            call_args.update(own)
            name, when = call_args.pop("name", None), call_args.pop("when", None)
            call_args.pop("role", None)  # a position names the block; a role does not
            entries.append(
                StageEntry(
                    self.next_uid(),
                    kind,
                    count,
                    call_args,
                    name,
                    when,
                    doc,
                    where_path,
                    tuple(index),
                    tuple(self.serial),
                    key,
                )
            )
            index.append(entries[-1])
            self.serial.append(entries[-1])
        return Stage(
            self.next_uid(),
            Arg(args["id"], doc, path + ("id",)),
            tuple(entries),
            doc,
            path,
            reads,
            binds,
        )

    def _stage_entry(self, entry, doc, path, blocks):
        """``identity``, ``identity x 3`` or ``{convolutional: {s: 2, repeat: 1}}``."""
        if isinstance(entry, str):
            try:
                kind, count = items.repeat(entry)
            except items.ItemError as exc:
                raise self._error(
                    doc, path, "invalid-item", detail=str(exc) + _lookalike(entry, blocks)
                ) from None
            # "identity x 3": the count is a number as written (a longer run of digits
            # than any limit allows stays text, for the lowering to refuse unparsed)
            if count is None:
                count = 1
            elif count.strip().isdigit() and len(count.strip()) <= 18:
                count = int(count)
            count = Arg(count, doc, path)
            raw, args_path = None, path
        else:
            kind, raw, args_path = self._split(entry, doc, path)
            count = Arg(1, doc, args_path)
            if isinstance(raw, dict) and "repeat" in raw:
                raw = dict(raw)
                count = Arg(raw.pop("repeat"), doc, args_path + ("repeat",))
        if kind not in blocks:
            hint = did_you_mean(kind, blocks) if blocks else "; no blocks are defined or imported"
            where = doc.where(path, key=not isinstance(entry, str))
            self.problems.append(Problem.of("unknown-block", where, kind=kind, hint=hint))
            return None
        own = self._call_args(raw, doc, args_path)
        return kind, count, own, args_path, args_path != path

    # ---- blocks -------------------------------------------------------------------------------

    def _block(self, entry: BlockEntry, spec_defaults) -> Block:
        d, doc, bpath = entry.definition, entry.doc, entry.path
        library = self._library_defaults(entry)
        defaults = [library, spec_defaults]
        blocks = set(self.r.blocks)

        def sequence(raw_items, path):
            made = (
                self._item(item, doc, path + (i,), defaults, blocks, False)
                for i, item in enumerate(raw_items)
            )
            return tuple(item for item in made if item is not None)

        branches = []
        for b, branch in enumerate(d.branches):
            path = bpath + ("branches", b)
            items_path = path + (("layers",) if isinstance(_node(doc, path), dict) else ())
            when = None if branch.when is True else Arg(branch.when, doc, path + ("when",))
            branches.append(
                Branch(
                    Arg(branch.from_, doc, path + ("from",)),
                    when,
                    sequence(branch.layers, items_path),
                    path,
                )
            )
        merge = None
        if d.merge is not None:
            kind, args, args_path = self._split(d.merge, doc, bpath + ("merge",))
            op = lookup(kind)
            if op is None or not op.merge:
                raise self._error(
                    doc,
                    bpath + ("merge",),
                    "unknown-kind",
                    on_key=isinstance(d.merge, dict),
                    what="merge",
                    kind=kind,
                    hint=did_you_mean(kind, MERGES),
                )
            merge = self._layer(op, args, doc, bpath + ("merge",), args_path, defaults)
        return Block(
            name=entry.name,
            text=d.doc,
            inputs=tuple(d.inputs),
            outputs=None if d.outputs is None else tuple(d.outputs),
            model=d.model,
            params=dict(d.params),
            vars={k: Arg(v, doc, bpath + ("vars", k)) for k, v in d.vars.items()},
            layers=sequence(d.layers, bpath + ("layers",)),
            branches=tuple(branches),
            merge=merge,
            after=sequence(d.after, bpath + ("after",)),
            doc=doc,
            path=bpath,
        )

    def _library_defaults(self, entry: BlockEntry):
        key = (entry.doc.file, entry.defaults_path)
        if key not in self.libraries:
            self.libraries[key] = self._checked_defaults(
                entry.defaults, entry.doc, entry.defaults_path
            )
        return self.libraries[key]

    # ---- names --------------------------------------------------------------------------------

    def _auto_names(self, model_items: list) -> None:
        """Keras's names for the model's unnamed layers (``activation``, ``activation_1``)
        and prefixes for its unnamed block calls, in order, whatever their conditions.
        Names the spec writes out are not handed out again."""
        taken = {
            item.name.value
            for item in model_items
            if isinstance(item, Layer | Call) and item.name and isinstance(item.name.value, str)
        }
        for i, item in enumerate(model_items):
            if isinstance(item, Layer) and item.name is None:
                name = self.auto.next(keras_auto_name(item.op.keras_class), taken)
            elif isinstance(item, Call) and item.name is None:
                name = self.auto.next(item.block, ())
            else:
                continue
            model_items[i] = item._replace(auto_name=name)

    # ---- tensors by name ---------------------------------------------------------------------

    def _check_model_tensors(self, model_items, inputs, outputs, blocks) -> None:
        """Every ``from`` names a tensor made before it, every ``as`` gives as many names
        as the item has outputs, and ``outputs`` names known tensors; each problem at its
        place, all reported together."""
        known = {}
        for put in inputs:
            if isinstance(put.name.value, str) and IDENTIFIER.match(put.name.value):
                known[put.name.value] = put.name
        self._check_sequence(model_items, known, blocks)
        if outputs is not None:
            value = outputs.value
            names = [value] if isinstance(value, str) else value
            keys = names if isinstance(names, list) else list(names.values())
            for i, name in enumerate(keys):
                path = (
                    ()
                    if isinstance(value, str)
                    else (i if isinstance(names, list) else list(names)[i],)
                )
                self._known_tensor(name, known, outputs.doc, outputs.path + path)

    def _check_block_tensors(self, block: Block, blocks) -> None:
        known = {name: block.path + ("inputs",) for name in block.inputs}
        known.setdefault("input", block.path)
        self._check_sequence(block.layers, known, blocks)
        for branch in block.branches:
            start = branch.start.value
            if start not in ("input", "layers") and "{{" not in start:
                self._known_tensor(start, known, branch.start.doc, branch.start.path)
            self._check_sequence(branch.items, known, blocks)
        self._check_sequence(block.after, known, blocks)
        for i, name in enumerate(block.outputs or ()):
            self._known_tensor(name, known, block.doc, block.path + ("outputs", i))

    def _check_sequence(self, sequence, known: dict, blocks) -> None:
        for item in sequence:
            if item.reads is not None:
                for i, name in enumerate(tensor_names(item.reads)):
                    path = item.reads.path + ((i,) if isinstance(item.reads.value, list) else ())
                    self._known_tensor(name, known, item.reads.doc, path)
                if isinstance(item, Call):
                    expected = len(blocks[item.block].inputs)
                    given = len(tensor_names(item.reads))
                    if given != expected:
                        self._count_problem(
                            item.reads,
                            f"block '{item.block}' reads {expected} "
                            f"tensor{'s' if expected > 1 else ''} ({', '.join(blocks[item.block].inputs)}); from: names {given}",
                        )
            written = literal_name(item)
            if written is not None:
                known[written] = item.name
            if item.binds is not None:
                names = tensor_names(item.binds)
                count = self._outputs_count(item, blocks)
                if len(names) != count:
                    self._count_problem(
                        item.binds,
                        f"the item returns {count} tensor{'s' if count > 1 else ''}; as: names {len(names)}",
                    )
                for name in names:
                    known[name] = item.binds

    @staticmethod
    def _outputs_count(item, blocks) -> int:
        if isinstance(item, Call):
            return len(blocks[item.block].outputs or (1,))
        if isinstance(item, Stage):
            return len(blocks[item.entries[-1].block].outputs or (1,))
        return 1

    def _count_problem(self, arg: Arg, detail: str) -> None:
        self.problems.append(Problem.of("wrong-tensor-count", arg.where(), detail=detail))

    def _known_tensor(self, name, known: dict, doc, path) -> None:
        if name not in known:
            hint = (
                did_you_mean(name, known)
                if known
                else "; no tensor is named yet (as: NAME names one)"
            )
            self.problems.append(
                Problem.of("unknown-tensor", doc.where(path), name=name, hint=hint)
            )

    def _reading_order(self, problem: Problem):
        """The spec's own file first, then each library's, top to bottom."""
        where = problem.where
        return (where.file != self.r.doc.file, where.file, where.line, where.col)

    @staticmethod
    def _error(doc: Document, path: tuple, code: str, *, on_key: bool = False, **context):
        """The problem ``code`` at the node (or its key), rendered from ``context``."""
        return SpecError.of(code, doc.where(path, key=on_key), **context)


def _node(doc: Document, path: tuple):
    node = doc.data
    for part in path:
        node = node[part]
    return node


def literal_name(item) -> str | None:
    """The name a layer or block call is given as written, when it is an identifier:
    later items may read its output by it, as by an ``as``."""
    name = getattr(item, "name", None)
    if name is not None and isinstance(name.value, str) and IDENTIFIER.match(name.value):
        return name.value
    return None


def tensor_names(arg: Arg) -> list[str]:
    """The tensor names of a ``from`` or ``as``: one name or a list of them, as written
    (names are never computed, so that they are checked before anything runs)."""
    value = arg.value
    names = [value] if isinstance(value, str) else value
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(n, str) and IDENTIFIER.match(n) for n in names)
    ):
        raise SpecError.of(
            "wrong-type",
            arg.where(),
            expected="a tensor name or a list of them (identifiers, written out)",
            received=received(value),
        )
    return names


def position_sum(terms: tuple, count) -> int:
    """The value of a position's terms, ``count(entry)`` giving each entry's count."""
    return sum(t if isinstance(t, int) else count(t) for t in terms)


def _lookalike(entry: str, blocks) -> str:
    """For a stage entry that does not parse because of a non-ASCII look-alike
    (``іdentity x 2``): which character, and the entry in ASCII when its kind is a block."""
    note = non_ascii_note(entry)
    if not note:
        return ""
    plain = ascii_form(entry)
    try:
        kind = items.repeat(plain)[0] if plain is not None else None
    except items.ItemError:
        kind = None
    suggestion = f"; did you mean '{plain.strip()}'?" if kind in blocks else ""
    return f"; it has {note}{suggestion}"
