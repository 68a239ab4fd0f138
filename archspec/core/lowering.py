"""Lowering: expand a resolved spec into the IR graph.

Stages expand into blocks, blocks into layers; expressions are evaluated with the
block's params and the incoming tensor's shape; every layer's arguments are validated
by its op's model, its output shape and parameter counts computed, and its name given
by the spec or the naming scheme. All semantic errors (shapes that do not fit, unknown
kinds, duplicate names) are raised here with the position of the YAML node at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pydantic

from archspec.core.elaborate import (
    Arg,
    Block,
    Call,
    Layer,
    Program,
    Reuse,
    Stage,
    StageEntry,
    elaborate,
    literal_name,
    position_sum,
    tensor_names,
)
from archspec.core.ir import BlockInstance, Graph, Node
from archspec.core.naming import AutoNames, layer_naming_context, layer_template, letter
from archspec.core.ops import OPS, ShapeError, keras_auto_name
from archspec.core.ops.rules import fmt
from archspec.diagnostics import (
    Problem,
    SpecError,
    Where,
    did_you_mean,
    format_path,
    received,
    validation_problems,
)
from archspec.frontend.loader import Document
from archspec.frontend.resolve import ResolvedSpec
from archspec.frontend.schema import COMMON_KEYS, NESTED, param_adapter
from archspec.lang.evaluate import ExpressionError, TensorInfo, condition, evaluate
from archspec.limits import LIMITS

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_LAYER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass
class Scope:
    """Where lowering is: the document and path of the items, the expression context,
    and the block being expanded (if any)."""

    doc: Document
    path: tuple
    context: dict
    block: BlockInstance | None = None
    depth: int = 0
    call: Where | None = None  # outermost call site in the user's spec
    tensors: dict | None = None  # tensor names (inputs, ``as``) → node names, shared

    def at(self, *parts) -> Scope:
        """The same scope, at ``parts`` below its path."""
        # (dataclasses.replace is several times slower; this runs once per item)
        return Scope(
            self.doc,
            self.path + parts,
            self.context,
            self.block,
            self.depth,
            self.call,
            self.tensors,
        )


def lower(resolved: ResolvedSpec | Program) -> Graph:
    """Expand a resolved spec (or its Program) into its layer graph."""
    program = resolved if isinstance(resolved, Program) else elaborate(resolved)
    graph = _Lowering(program).run()
    if graph.session_names:
        # Some names are Keras's counters': the model's unnamed layers count with them,
        # in the order the model makes them, as in Keras.
        graph = _Lowering(program, session_names=True).run()
    return graph


class _Lowering:
    def __init__(self, program: Program, session_names: bool = False):
        self.p = program
        self.nodes: list[Node] = []
        self.names: dict[str, Where] = {}
        self.shapes: dict[str, tuple] = {}
        self.blocks: list[BlockInstance] = []
        self.memo: dict[tuple, tuple] = {}
        self.counts: dict[int, int] = {}  # stage entry uid → its evaluated count
        self.layers: dict[str, Node] = {}  # layers by name, for reuse
        self.models: dict[str, BlockInstance] = {}  # blocks built as nested models, by name
        self.calls: dict[str, int] = {}  # how many times each reused layer is applied again
        self.work = 0  # layers and block calls expanded, kept or left out by ``when``
        self.session: AutoNames | None = None  # Keras's counters, for names left to them
        self.taken: _Taken | None = None  # the names those counters pass over
        self.session_names = session_names  # the model's unnamed layers too

    # ---- entry ----------------------------------------------------------------------------

    def run(self) -> Graph:
        p = self.p
        doc = p.resolved.doc
        context = dict(p.params)
        scope = Scope(doc, (), context, tensors={})
        current = tuple(self._input(put, scope) for put in p.inputs)
        for name in current:
            scope.tensors[name] = name
        for item in p.items:
            current = self._item(item, current, scope.at(*item.path))
        outputs, keys = self._outputs(current, scope)
        try:
            model_name = str(evaluate(p.model_name.value, context))
        except ExpressionError as exc:
            raise _forwarded(exc, doc.where(("model_name",))) from None
        if not model_name or "/" in model_name or _CONTROL.search(model_name):
            raise SpecError.of(
                "invalid-name",
                doc.where(("model_name",)),
                detail="a model name must be non-empty, without '/' or control characters",
                received=received(model_name),
            )
        return Graph(
            name=p.name,
            model_name=model_name,
            nodes=tuple(self.nodes),
            inputs=current_inputs(self.nodes),
            outputs=outputs,
            blocks=tuple(self.blocks),
            params=dict(p.params),
            source=p.resolved.path,
            output_keys=keys,
            session_names=self.session is not None,
        )

    def _outputs(self, current: tuple, scope: Scope):
        """The model's outputs: ``outputs`` as written (names, or keys → names), else
        the last item's."""
        arg = self.p.outputs
        if arg is None:
            return current[:1], None
        value = arg.value
        if isinstance(value, str):
            return (scope.tensors[value],), None
        if isinstance(value, list):
            return tuple(scope.tensors[n] for n in value), None
        # Keras flattens a dict of outputs in the order of its keys (model.outputs)
        keys = tuple(sorted(value))
        return tuple(scope.tensors[value[k]] for k in keys), keys

    def _input(self, put, scope: Scope) -> str:
        iscope = Scope(scope.doc, put.shape.path[:-1], scope.context)
        shape = self._arg(put.shape, scope.context)
        if (
            not isinstance(shape, list | tuple)
            or not shape
            or not all(
                d is None
                or (isinstance(d, int) and not isinstance(d, bool) and 0 < d <= LIMITS.max_int)
                for d in shape
            )
        ):
            raise self._error(
                iscope.at("shape"),
                "invalid-value",
                detail="expected a list of positive sizes like [224, 224, 3]",
                received=received(shape),
            )
        name = self._arg(put.name, scope.context)
        name = self._layer_name(name, iscope, put.name.path)
        attrs = {"shape": tuple(shape)}
        if put.dtype not in (None, "float32"):  # float32 is Keras's (and a saved model's) default
            attrs["dtype"] = put.dtype
        self._add(
            Node(name, "input", "InputLayer", attrs, (), tuple(shape), where=self._where(iscope)),
            iscope,
        )
        return name

    # ---- items ----------------------------------------------------------------------------

    def _item(self, item, current: tuple, scope: Scope) -> tuple:
        """Lower one item reading ``current`` (the previous item's outputs) unless its
        ``from`` names tensors; its outputs are named by its ``as``."""
        inputs = self._reads(item, current, scope)
        if isinstance(item, Layer):
            out = (self._layer(item, list(inputs), scope),)
        elif isinstance(item, Stage):
            out = self._stage(item, inputs, scope)
        elif isinstance(item, Reuse):
            out = self._reuse(item, list(inputs), scope)
        else:
            out = self._call(item, inputs, scope)
        written = literal_name(item)
        if written is not None:
            scope.tensors[written] = out[0]
        if item.binds is not None:
            names = tensor_names(item.binds)
            if len(out) < len(names):  # a skipped block passes fewer tensors on
                raise self._error(
                    scope,
                    "wrong-tensor-count",
                    path=item.binds.path,
                    detail=f"the item left out by its when passes {len(out)} tensor(s) on; "
                    f"as: names {len(names)}",
                )
            scope.tensors.update(zip(names, out))
        return out

    def _reads(self, item, current: tuple, scope: Scope) -> tuple:
        if item.reads is None:
            return current
        return tuple(scope.tensors[name] for name in tensor_names(item.reads))

    def _reuse(self, item: Reuse, inputs: list[str], scope: Scope) -> str:
        """A layer applied again: a node that shares the layer's weights (counted once)."""
        self._spend(scope, item.args_path)
        context = {**scope.context, "x": TensorInfo(self.shapes[inputs[0]])}
        if item.when is not None and not self._condition(item.when, context):
            return inputs[0]
        target = self._arg(item.target, context)
        if isinstance(target, str) and target in self.models:
            return self._reuse_model(self.models[target], inputs, scope, item)
        first = self.layers.get(target) if isinstance(target, str) else None
        if first is None:
            raise self._error(
                scope,
                "unknown-layer",
                path=item.target.path,
                name=target,
                hint=did_you_mean(str(target), [*self.layers, *self.models]),
            )
        op = OPS[first.op]
        in_shapes = [self.shapes[i] for i in inputs]
        first_shapes = [self.shapes[i] for i in first.inputs]
        try:
            shape = op.shape(op.args.model_validate(first.attrs), in_shapes)
            same = op.weights(first.attrs, in_shapes) == op.weights(first.attrs, first_shapes)
        except ShapeError as exc:
            raise self._error(
                scope,
                exc.code,
                path=item.args_path,
                detail=f"reuse of '{target}': {exc}",
                limit="max_int",
            ) from None
        if not same:
            raise self._error(
                scope,
                "shape-mismatch",
                path=item.args_path,
                detail=f"reuse of '{target}': its weights were made for input "
                + ", ".join(map(fmt, first_shapes))
                + "; this input "
                + ", ".join(map(fmt, in_shapes))
                + " needs others",
            )
        calls = self.calls[target] = self.calls.get(target, 0) + 1
        node = Node(
            f"{target}:{calls}",
            first.op,
            first.keras_class,
            first.attrs,
            tuple(inputs),
            tuple(shape),
            block=scope.block.prefix if scope.block else None,
            where=self._where(scope, item.args_path),
            item=item.uid,
            shares=target,
        )
        self._add(node, scope, item.args_path)
        return (node.name,)

    def _reuse_model(self, model: BlockInstance, inputs: list[str], scope: Scope, item):
        """A block built as a nested model, applied again: its nodes again, each sharing
        its layer, under a block instance that names the model it calls."""
        if len(inputs) < len(model.inputs):
            raise self._error(
                scope,
                "wrong-tensor-count",
                path=item.args_path,
                detail=f"model '{model.prefix}' reads {len(model.inputs)} tensors; "
                f"{len(inputs)} come here",
            )
        inputs = inputs[: len(model.inputs)]
        for mine, theirs in zip(inputs, model.inputs):
            if self.shapes[mine] != self.shapes[theirs]:
                raise self._error(
                    scope,
                    "shape-mismatch",
                    path=item.args_path,
                    detail=f"reuse of model '{model.prefix}': it was built for input "
                    f"{fmt(self.shapes[theirs])}; this input is {fmt(self.shapes[mine])}",
                )
        calls = self.calls[model.prefix] = self.calls.get(model.prefix, 0) + 1
        renamed = dict(zip(model.inputs, inputs))
        made = []
        members = set(model.nodes)
        by_name = {n.name: n for n in self.nodes if n.name in members}
        for name in model.nodes:
            first = by_name[name]
            layer = first.shares or first.name
            again = self.calls[layer] = self.calls.get(layer, 0) + 1
            node = Node(
                f"{layer}:{again}",
                first.op,
                first.keras_class,
                first.attrs,
                tuple(renamed.get(i, i) for i in first.inputs),
                first.shape,
                block=f"{model.prefix}:{calls}",
                where=self._where(scope, item.args_path),
                item=item.uid,
                shares=layer,
            )
            self._add(node, scope, item.args_path)
            renamed[name] = node.name
            made.append(node.name)
        outputs = tuple(renamed.get(o, o) for o in model.outputs)
        end = len(self.nodes)
        self.blocks.append(
            BlockInstance(
                prefix=f"{model.prefix}:{calls}",
                kind=model.kind,
                args=model.args,
                parent=scope.block.prefix if scope.block else None,
                input=inputs[0],
                output=outputs[0],
                where=self._where(scope, item.args_path),
                item=item.uid,
                inputs=tuple(inputs),
                outputs=outputs,
                model=model.model,
                nodes=tuple(made),
                shares=model.prefix,
                span=(end - len(made), end),
            )
        )
        return outputs

    # ---- layers ---------------------------------------------------------------------------

    def _layer(self, item: Layer, inputs: list[str], scope: Scope, where_from=None) -> str:
        """``where_from`` describes the inputs, for errors: where a merge's branches end."""
        op, path = item.op, item.args_path
        self._spend(scope, path)
        if len(inputs) > 1 and op.call == "one":
            if item.reads is not None:
                raise self._error(
                    scope,
                    "wrong-tensor-count",
                    path=item.reads.path,
                    detail=f"{op.kind} reads one tensor; from: names {len(inputs)}",
                )
            inputs = inputs[:1]  # the first of a block's several outputs
        in_shapes = [self.shapes[i] for i in inputs]
        context = {**scope.context, "x": TensorInfo(in_shapes[0])}
        if item.when is not None and not self._condition(item.when, context):
            return inputs[0]
        role = self._arg(item.role, context)
        explicit = self._arg(item.name, context)
        evaluated = {key: self._arg(arg, context) for key, arg in item.args.items()}
        # Repeated blocks make the same layers over and over: validate each distinct
        # (kind, arguments, input shapes) once. Nodes share the resulting attrs dict.
        memo_key = (op.kind, repr(evaluated), tuple(in_shapes))
        memo = self.memo.get(memo_key)
        if memo is None:
            try:
                validated = op.args.model_validate(evaluated)
            except pydantic.ValidationError as exc:
                raise self._args_error(exc, item, evaluated, scope) from None
            try:
                shape = op.shape(validated, in_shapes)
                trainable, non_trainable = op.params(validated, in_shapes, shape)
                if any(d is not None and d > LIMITS.max_int for d in shape):
                    raise _limit(f"an output size is beyond {LIMITS.max_int:,}")
                if trainable + non_trainable > LIMITS.max_int:
                    raise _limit(f"more than {LIMITS.max_int:,} parameters")
            except ShapeError as exc:
                layer = f"{op.kind} '{explicit}'" if explicit else op.kind
                origin = f": {where_from()}" if where_from else ""
                raise self._error(
                    scope,
                    exc.code,
                    path=path,
                    value_error=True,
                    detail=f"{self._in_block(scope)}{layer}: {exc}{origin}",
                    layer=layer,
                    limit="max_int",
                ) from None
            memo = self.memo[memo_key] = (validated.model_dump(), shape, trainable, non_trainable)
        attrs, shape, trainable, non_trainable = memo
        if (item.name is not None and explicit is None) or (item.auto_name and self.session_names):
            name = self._session_name(op)
        else:
            name = explicit or item.auto_name or self._block_layer_name(item, attrs, role, scope)
        name = self._layer_name(name, scope, path)
        self._add(
            Node(
                name,
                op.kind,
                op.keras_class,
                attrs,
                tuple(inputs),
                tuple(shape),
                trainable,
                non_trainable,
                scope.block.prefix if scope.block else None,
                self._where(scope, path),
                item.uid,
            ),
            scope,
            path,
        )
        self.layers[name] = self.nodes[-1]
        return name

    def _session_name(self, op) -> str:
        """The name Keras's session counters give a layer made with ``name=None`` here,
        in the order the model makes its layers (``conv2d_3``), passing over the names
        of the layers made so far (and, in the first pass, the names decided before
        lowering for the model's unnamed layers, which the second pass hands out)."""
        if self.session is None:
            self.session = AutoNames()
            static = set()
            if not self.session_names:
                static = {i.auto_name for i in self.p.items if isinstance(i, Layer) and i.auto_name}
            self.taken = _Taken(static, self.names)
        return self.session.next(keras_auto_name(op.keras_class), self.taken)

    def _block_layer_name(self, item: Layer, attrs: dict, role, scope: Scope) -> str:
        """An unnamed layer in a block: named by the naming scheme's template."""
        template = layer_template(self.p.naming, item.op, role)
        if template is None:
            raise self._error(
                scope,
                "invalid-name",
                path=item.args_path,
                detail=f"the naming scheme names no {item.op.kind} layers in blocks; give it a name",
                received="",
            )
        context = {**scope.context, **layer_naming_context(item.op, attrs, role)}
        try:
            return str(evaluate(template, context))
        except ExpressionError as exc:
            raise _forwarded(exc, scope.doc.where(item.args_path), "naming scheme: ") from None

    def _layer_name(self, name, scope: Scope, path: tuple) -> str:
        if not isinstance(name, str) or not _LAYER_NAME.match(name) or len(name) > 200:
            raise self._error(
                scope,
                "invalid-name",
                path=path,
                detail="a layer name must be letters, digits, '_', '.' or '-' (at most 200)",
                received=received(name),
            )
        return name

    def _add(self, node: Node, scope: Scope, path: tuple | None = None) -> None:
        if node.name in self.names:
            first = self.names[node.name]
            raise self._error(
                scope,
                "duplicate-name",
                path=path,
                inside=self._in_block(scope),
                name=node.name,
                first=first,
            )
        self.names[node.name] = node.where
        self.shapes[node.name] = node.shape
        self.nodes.append(node)

    # ---- stages ---------------------------------------------------------------------------

    def _stage(self, stage: Stage, x: tuple, scope: Scope) -> tuple:
        stage_id = self._arg(stage.id, scope.context)
        if isinstance(stage_id, bool) or not isinstance(stage_id, int | str):
            raise self._error(
                scope,
                "wrong-type",
                path=stage.id.path,
                expected="a stage number or name",
                received=received(stage_id),
            )
        for entry in stage.entries:
            self.counts[entry.uid] = self._count(entry, scope)
        for entry in stage.entries:
            block = self.p.blocks[entry.block]
            values = self._values(entry.args, scope.context)
            where = entry.doc.where(entry.path, key=entry.key)
            call = Scope(scope.doc, entry.path, scope.context, None, 0, where, scope.tensors)
            first = self._position(entry.first_index)
            serial = self._position(entry.first_serial)
            for n in range(self.counts[entry.uid]):
                if entry.when is not None and not self._condition(entry.when, scope.context):
                    self._spend(call)
                    continue
                position = {
                    "stage": stage_id,
                    "block": letter(first + n),
                    "index": first + n,
                    "serial": serial + n,
                }
                prefix = self._arg(entry.name, scope.context)
                prefix = None if prefix is None else str(prefix)
                x = self._block(block, dict(values), x, call, position, entry.uid, prefix)
        return x

    def _position(self, terms: tuple) -> int:
        return position_sum(terms, lambda entry: self.counts[entry.uid])

    def _count(self, entry: StageEntry, scope: Scope) -> int:
        count = self._arg(entry.times, scope.context)
        if isinstance(count, str) and count.strip().isdigit():
            # More digits than any limit could allow: too large, without parsing them all
            count = int(count) if len(count.strip()) <= 18 else LIMITS.max_repeat + 10**18
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise self._error(
                scope,
                "invalid-value",
                path=entry.times.path,
                detail="repeat count must be a non-negative integer",
                received=received(count),
            )
        if count > LIMITS.max_repeat:
            shown = f"{count:,}" if count < 10**18 else "of more than 18 digits"
            raise self._error(
                scope,
                "limit-exceeded",
                path=entry.times.path,
                detail=f"repeat count {shown} exceeds the limit of {LIMITS.max_repeat:,}",
                limit="max_repeat",
            )
        return count

    # ---- blocks ---------------------------------------------------------------------------

    def _values(self, args: dict, context: dict) -> dict:
        """A block call's args evaluated in the caller's context: {name: (value, where)}."""
        return {k: (self._arg(a, context), a.where()) for k, a in args.items()}

    def _call(self, item: Call, x: tuple, scope: Scope) -> tuple:
        context = scope.context
        if item.when is not None and not self._condition(item.when, context):
            self._spend(scope)
            return x
        values = self._values(item.args, context)
        explicit = self._arg(item.name, context)
        role = self._arg(item.role, context)
        position = None
        if item.serial is not None:
            position = {"serial": self._position(item.serial)}
        if explicit is not None:
            prefix = explicit
        if scope.block is not None:
            name = str(explicit or role or item.block)
            if self.p.naming.nested == NESTED:  # the default, without a template's cost
                prefix = f"{scope.block.prefix}_{name}"
            else:
                context = {**scope.context, "parent": scope.block.prefix, "name": name}
                prefix = self._eval(
                    self.p.naming.nested, scope, context, where_text="naming scheme"
                )
        elif explicit is None:
            prefix = item.auto_name
        return self._block(
            self.p.blocks[item.block], values, x, scope, position, item.uid, prefix=str(prefix)
        )

    def _spend(self, scope: Scope, path: tuple | None = None) -> None:
        """Count one layer or block call. Conditions that leave everything out, or blocks
        that call blocks many times over, expand without end: stop at max_layers, and
        say where in the user's spec (the outermost call)."""
        self.work += 1
        if self.work > LIMITS.max_layers:
            where = scope.call or self._where(scope, path)
            raise SpecError.of(
                "limit-exceeded",
                where,
                detail=f"the model expands to more than {LIMITS.max_layers:,} layers and block calls",
                limit="max_layers",
            )

    def _block(
        self,
        block: Block,
        values: dict,
        x: tuple,
        scope: Scope,
        position: dict | None,
        uid: int,
        prefix: str | None = None,
    ) -> tuple:
        doc, bpath = block.doc, block.path
        self._spend(scope)
        call = scope.call or self._where(scope)
        if scope.depth >= LIMITS.max_block_depth:
            raise self._error(
                scope,
                "limit-exceeded",
                detail=f"blocks nest deeper than {LIMITS.max_block_depth} "
                f"(is block '{block.name}' recursive?)",
                limit="max_block_depth",
            )
        if len(x) < len(block.inputs):
            raise SpecError.of(
                "wrong-tensor-count",
                call,
                detail=f"block '{block.name}' reads {len(block.inputs)} tensors "
                f"({', '.join(block.inputs)}); {len(x)} come here: say which with from: [...]",
            )
        x = x[: len(block.inputs)]
        params = self._bind_params(block, values, call)
        context = {**params, "input": TensorInfo(self.shapes[x[0]])}
        for name, tensor in zip(block.inputs, x):
            context[name] = TensorInfo(self.shapes[tensor])
        if position:
            context.update(position)
        if prefix is None:  # at a stage position: named by the scheme
            prefix = str(
                self._eval(self.p.naming.block, scope, context, where_text="naming scheme")
            )
        context["prefix"] = prefix
        for key, arg in block.vars.items():
            context[key] = self._arg(arg, context)
        instance = BlockInstance(
            prefix=prefix,
            kind=block.name,
            args=params,
            stage=(position or {}).get("stage"),
            letter=(position or {}).get("block"),
            index=(position or {}).get("index"),
            parent=scope.block.prefix if scope.block else None,
            input=x[0],
            where=call,
            item=uid,
            inputs=x,
            model=block.model,
        )
        tensors = {"input": x[0], **dict(zip(block.inputs, x))}
        inner = Scope(doc, bpath, context, instance, scope.depth + 1, call, tensors)
        first_node = len(self.nodes)
        y = x
        for item in block.layers:
            y = self._item(item, y, inner.at(*item.path[len(bpath) :]))
        outputs = []
        for branch in block.branches:
            bscope = inner.at(*branch.path[len(bpath) :])
            if branch.when is not None and not self._condition(branch.when, context):
                continue
            start = self._arg(branch.start, context)
            if start == "layers":
                z = y
            elif start in tensors:
                z = (tensors[start],)
            else:
                raise self._error(
                    bscope,
                    "invalid-value",
                    detail="from: expected 'input', 'layers' or a tensor of the block ("
                    + ", ".join(sorted(tensors))
                    + ")",
                    received=received(start),
                )
            for item in branch.items:
                z = self._item(item, z, inner.at(*item.path[len(bpath) :]))
            outputs.append(z[0])
        if len(outputs) >= 2:
            y = (self._merge(block.merge, outputs, inner.at("merge"), x[0]),)
        elif outputs:
            y = (outputs[0],)
        for item in block.after:
            y = self._item(item, y, inner.at(*item.path[len(bpath) :]))
        if block.outputs is not None:
            y = tuple(tensors[name] for name in block.outputs)
        # Its outputs are known now. (Set in place: ``dataclasses.replace`` of an instance
        # made per block call was a fifth of the time of a model of many small blocks.)
        object.__setattr__(instance, "output", y[0])
        object.__setattr__(instance, "outputs", y)
        object.__setattr__(instance, "span", (first_node, len(self.nodes)))
        if block.model is not None:
            self._nested_model(block, instance, first_node, call)
        self.blocks.append(instance)
        return y

    def _nested_model(self, block: Block, instance: BlockInstance, first: int, call) -> None:
        """A block built as a nested Keras model: its nodes are the model's layers, and it
        may be applied again by its name (``reuse``)."""
        nodes = tuple(n.name for n in self.nodes[first:])
        if not nodes:
            raise SpecError.of(
                "invalid-block", call, detail=f"block '{block.name}' makes no layer to be a model"
            )
        if block.model == "sequential":
            inner = [n for n in self.nodes[first:] if len(n.inputs) != 1 or n.shares]
            chain = all(
                n.inputs == ((instance.input,) if i == 0 else (nodes[i - 1],))
                for i, n in enumerate(self.nodes[first:])
            )
            if inner or not chain or instance.outputs != (nodes[-1],):
                raise SpecError.of(
                    "invalid-block",
                    call,
                    detail=f"block '{block.name}' is a sequential model: each layer must "
                    "read the one before it, and the last one is its output",
                )
        if instance.prefix in self.models or instance.prefix in self.layers:
            raise SpecError.of(
                "invalid-block",
                call,
                detail=f"a model named '{instance.prefix}' (block '{block.name}') is made "
                "twice, or a layer has its name: a nested model needs a name of its own",
            )
        object.__setattr__(instance, "nodes", nodes)
        self.models[instance.prefix] = instance

    def _merge(self, item: Layer, inputs: list[str], scope: Scope, block_input: str) -> str:
        def branch_ends() -> str:
            return "; ".join(
                f"branch {n} "
                + (
                    "is the identity shortcut (the block input)"
                    if name == block_input
                    else f"ends at '{name}'"
                )
                + f" ({self.shapes[name][-1]} channels)"
                for n, name in enumerate(inputs, 1)
            )

        return self._layer(item, inputs, scope, where_from=branch_ends)

    def _bind_params(self, block: Block, values: dict, call: Where) -> dict:
        declared = block.params
        problems = []
        bound = {}
        for key, (value, where) in values.items():
            if key not in declared:
                hint = (
                    did_you_mean(key, declared)
                    if declared
                    else f"; block '{block.name}' takes no params"
                )
                problems.append(
                    Problem.of(
                        "unknown-param",
                        where,
                        key=key,
                        owner=f" for block '{block.name}'",
                        hint=hint,
                    )
                )
                continue
            try:
                bound[key] = param_adapter(declared[key].type).validate_python(value)
            except pydantic.ValidationError as exc:
                # The first of pydantic's errors says it; the place is the argument's.
                problems += validation_problems(
                    exc.errors()[:1],
                    lambda loc, key, where=where: (where, False),
                    thing="param",
                    key=key,
                    owner=f" of block '{block.name}'",
                    type=declared[key].type,
                    value=value,
                )
        for key, decl in declared.items():
            if key in bound or any(p.where.path[-1:] == (key,) for p in problems):
                continue
            if decl.required:
                problems.append(
                    Problem.of("missing-param", call, block=block.name, key=key, type=decl.type)
                )
            else:
                bound[key] = decl.default
        if problems:
            raise SpecError(problems)
        return bound

    # ---- evaluation and errors --------------------------------------------------------------

    def _arg(self, arg: Arg | None, context: dict):
        """The value of an argument as written, evaluated in ``context``."""
        if arg is None:
            return None
        return self._eval_at(arg.value, arg.doc, arg.path, context)

    def _eval(self, value, scope: Scope, context: dict, where_text: str = ""):
        """Evaluate ``value`` that the scope's own node stands for (a naming template)."""
        return self._eval_at(value, scope.doc, scope.path, context, where_text)

    def _eval_at(self, value, doc: Document, path: tuple, context: dict, where_text: str = ""):
        try:
            return evaluate(value, context)
        except ExpressionError as exc:
            prefix = f"{where_text}: " if where_text else ""
            raise _forwarded(exc, doc.where(path), prefix) from None

    @staticmethod
    def _condition(arg: Arg, context: dict) -> bool:
        try:
            return condition(arg.value, context)
        except ExpressionError as exc:
            raise _forwarded(exc, arg.where(), "when: ") from None

    def _where(self, scope: Scope, path: tuple | None = None) -> Where:
        return scope.doc.where(path if path is not None else scope.path)

    @staticmethod
    def _in_block(scope: Scope) -> str:
        if scope.block is None:
            return ""
        return f"in block '{scope.block.prefix}' ({scope.block.kind}): "

    def _error(
        self,
        scope: Scope,
        code: str,
        *,
        path: tuple | None = None,
        value_error: bool = False,
        **context,
    ) -> SpecError:
        """The problem ``code`` at the node, rendered from ``context``; inside a block,
        errors that depend on the call's values are reported at the call site in the
        user's spec, naming the definition's place."""
        path = scope.path if path is None else path
        where = scope.doc.where(path)
        problem = Problem.of(code, where, **context)
        if value_error and scope.call is not None and scope.call.file != where.file:
            text = f"{problem.message} (layer defined at {where})"
            problem = Problem(scope.call, text, code, {**context, "defined_at": str(where)})
        return SpecError(problem)

    def _args_error(self, exc, item: Layer, evaluated: dict, scope: Scope) -> SpecError:
        op = item.op

        def locate(loc: tuple, key: bool) -> tuple[Where, bool]:
            arg = item.args.get(loc[0] if loc else None)
            if arg is None:
                return scope.doc.where(item.args_path, key=key), False
            return arg.doc.where(arg.path, key=key), False

        problems = validation_problems(
            exc.errors(),
            locate,
            thing="argument",
            known=lambda loc: list(op.args.model_fields) + list(COMMON_KEYS),
            kind=op.kind,
            inside=self._in_block(scope),
        )
        for i, problem in enumerate(problems):
            arg = item.args.get(problem.context.get("key"))
            # A bad value that a block's expression computed from the call's args is
            # reported at the call in the user's spec, naming the definition's place.
            if (
                problem.code == "invalid-argument"
                and scope.call is not None
                and problem.where.file != scope.call.file
                and arg is not None
                and isinstance(arg.value, str)
            ):
                origin = f" (from {format_path(problem.where.path)} at {problem.where})"
                problems[i] = Problem.of(
                    "invalid-argument", scope.call, **{**problem.context, "origin": origin}
                )
        # A misspelt argument explains the required one that seems missing: name it first.
        problems.sort(key=lambda problem: problem.code != "unknown-argument")
        return SpecError(problems)


class _Taken:
    """The names Keras's counters must pass over: decided before lowering, or made."""

    def __init__(self, static: set, made: dict):
        self.static, self.made = static, made

    def __contains__(self, name) -> bool:
        return name in self.static or name in self.made


def current_inputs(nodes) -> tuple[str, ...]:
    """The names of the model's input nodes, in order."""
    return tuple(n.name for n in nodes if n.op == "input")


def _limit(message: str) -> ShapeError:
    """A ShapeError for a size beyond max_int, reported as a limit."""
    return ShapeError(message, "limit-exceeded")


def _forwarded(exc: ExpressionError, where: Where, prefix: str = "") -> SpecError:
    """An expression's error at the value that holds it, with the expression's code and
    its message as the sandbox wrote it (a limit's name included)."""
    detail = f"{prefix}{exc}"
    return SpecError(Problem(where, detail, exc.code, {"detail": detail}))
