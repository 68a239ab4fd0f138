"""Lowering: expand a resolved spec into the IR graph.

Stages expand into blocks, blocks into layers; expressions are evaluated with the
block's params and the incoming tensor's shape; every layer's arguments are validated
by its op's model, its output shape and parameter counts computed, and its name given
by the spec or the naming scheme. All semantic errors (shapes that do not fit, unknown
kinds, duplicate names) are raised here with the position of the YAML node at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pydantic

from archspec.core import items
from archspec.core.ir import BlockInstance, Graph, Node
from archspec.core.naming import AutoNames, letter, template_for
from archspec.core.ops import MERGES, OPS, Op, ShapeError, keras_auto_name
from archspec.diagnostics import (
    Problem,
    SpecError,
    Where,
    did_you_mean,
    format_path,
    validation_problems,
)
from archspec.frontend.loader import Document
from archspec.frontend.resolve import BlockEntry, ResolvedSpec
from archspec.frontend.schema import COMMON_KEYS, param_adapter
from archspec.lang.evaluate import ExpressionError, TensorInfo, condition, evaluate
from archspec.limits import LIMITS

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_LAYER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass
class Scope:
    """Where lowering is: the document and path of the items, the expression context,
    the layer defaults in force, and the block being expanded (if any)."""

    doc: Document
    path: tuple
    context: dict
    defaults: list = field(default_factory=list)  # [(Document, path, {kind: args})], weakest first
    block: BlockInstance | None = None
    depth: int = 0
    call: Where | None = None  # outermost call site in the user's spec

    def at(self, *parts) -> Scope:
        # (dataclasses.replace is several times slower; this runs once per item)
        return Scope(
            self.doc,
            self.path + parts,
            self.context,
            self.defaults,
            self.block,
            self.depth,
            self.call,
        )


def lower(resolved: ResolvedSpec) -> Graph:
    """Expand a resolved spec into its layer graph."""
    return _Lowering(resolved).run()


class _Lowering:
    def __init__(self, resolved: ResolvedSpec):
        self.r = resolved
        self.nodes: list[Node] = []
        self.names: dict[str, Where] = {}
        self.shapes: dict[str, tuple] = {}
        self.blocks: list[BlockInstance] = []
        self.auto = AutoNames()
        self.serial = 0
        self.reserved: dict[tuple, str] = {}
        self.memo: dict[tuple, tuple] = {}
        self.work = 0  # layers and block calls expanded, kept or left out by ``when``

    # ---- entry ----------------------------------------------------------------------------

    def run(self) -> Graph:
        spec, doc = self.r.spec, self.r.doc
        context = dict(self.r.params)
        self.spec_defaults = (
            doc,
            ("defaults",),
            self._checked_defaults(spec.defaults, doc, ("defaults",)),
        )
        scope = Scope(doc, (), context, [self.spec_defaults])
        x = self._input(scope.at("input"))
        for i, item in enumerate(spec.layers):
            x = self._item(item, x, scope.at("layers", i))
        model_name = spec.model_name or spec.name
        try:
            model_name = str(evaluate(model_name, context))
        except ExpressionError as exc:
            raise doc.error(("model_name",), str(exc), code=exc.code) from None
        if not model_name or "/" in model_name or _CONTROL.search(model_name):
            raise doc.error(
                ("model_name",),
                f"model_name: a model name must be non-empty, without '/' or control characters. "
                f"Received: {model_name!r}",
                code="invalid-name",
            )
        return Graph(
            name=spec.name,
            model_name=model_name,
            nodes=tuple(self.nodes),
            inputs=(self.nodes[0].name,),
            outputs=(x,),
            blocks=tuple(self.blocks),
            params=dict(self.r.params),
            source=self.r.path,
            reserved=dict(self.reserved),
        )

    def _input(self, scope: Scope) -> str:
        decl = self.r.spec.input
        shape = self._eval(decl.shape, scope, scope.context, ("input", "shape"))
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
                scope.at("shape"),
                f"expected a list of positive sizes like [224, 224, 3]. Received: {shape!r}",
                code="invalid-value",
            )
        name = self._eval(decl.name, scope, scope.context, ("input", "name"))
        name = self._layer_name(name, scope, ("input", "name"))
        self._add(
            Node(
                name,
                "input",
                "InputLayer",
                {"shape": tuple(shape)},
                (),
                tuple(shape),
                where=self._where(scope),
            ),
            scope,
        )
        return name

    def _checked_defaults(self, defaults: dict, doc: Document, path: tuple) -> dict:
        for kind, args in defaults.items():
            if kind not in OPS:
                raise doc.error(
                    path + (kind,),
                    f"defaults: unknown layer kind '{kind}'" + did_you_mean(kind, OPS),
                    key=True,
                    code="unknown-kind",
                )
            for key in args or {}:
                if key not in OPS[kind].args.model_fields:
                    raise doc.error(
                        path + (kind, key),
                        f"unknown argument '{key}' for {kind}"
                        + did_you_mean(key, OPS[kind].args.model_fields),
                        key=True,
                        code="unknown-argument",
                    )
        return {k: v or {} for k, v in defaults.items()}

    # ---- items ----------------------------------------------------------------------------

    def _split(self, item, scope: Scope) -> tuple[str, object, tuple]:
        """An item is "kind" or {kind: args}; returns kind, raw args and the args' path."""
        try:
            return items.split(item, scope.path)
        except items.ItemError as exc:
            raise self._error(scope, str(exc), code="invalid-item") from None

    def _item(self, item, x: str, scope: Scope) -> str:
        kind, args, args_path = self._split(item, scope)
        if kind == "stage":
            return self._stage(args, x, scope, args_path)
        if kind in OPS:
            return self._layer(OPS[kind], args, [x], scope, args_path)
        if kind in self.r.blocks:
            values = self._call_args(args, scope, args_path)
            return self._block(self.r.blocks[kind], values, x, scope, position=None)
        known = list(OPS) + list(self.r.blocks) + ["stage"]
        raise self._error(
            scope,
            f"unknown layer or block kind '{kind}'" + did_you_mean(kind, known),
            key=True,
            code="unknown-kind",
        )

    def _args_dict(self, op: Op, args, scope: Scope, path: tuple) -> dict:
        try:
            return items.layer_args(op, args)
        except items.ItemError as exc:
            raise self._error(scope, str(exc), path=path, code="invalid-item") from None

    # ---- layers ---------------------------------------------------------------------------

    def _layer(self, op: Op, raw, inputs: list[str], scope: Scope, path: tuple) -> str:
        self._spend(scope, path)
        args = self._args_dict(op, raw, scope, path)
        in_shapes = [self.shapes[i] for i in inputs]
        context = {**scope.context, "x": TensorInfo(in_shapes[0])}
        if "when" in args and not self._condition(
            args.pop("when"), scope, path + ("when",), context
        ):
            if scope.block is None and args.get("name") is None:
                # The name it would have had, so that other layers' names do not depend
                # on the condition, and generated code can name it when it is present.
                where = self._where(scope, path)
                self.reserved[(where.file, where.path)] = self.auto.next(
                    keras_auto_name(op.keras_class), self.names
                )
            return inputs[0]
        role = self._eval(args.pop("role", None), scope, context, path + ("role",))
        explicit = self._eval(args.pop("name", None), scope, context, path + ("name",))
        values, where_of = {}, {}
        for doc, dpath, table in scope.defaults:
            for key, value in table.get(op.kind, {}).items():
                values[key] = value
                where_of[key] = (doc, dpath + (op.kind, key))
        for key, value in args.items():
            values[key] = value
            where_of[key] = (scope.doc, path + (key,))
        evaluated = {}
        for key, value in values.items():
            doc, kpath = where_of[key]
            evaluated[key] = self._eval_at(value, doc, kpath, context)
        # Repeated blocks make the same layers over and over: validate each distinct
        # (kind, arguments, input shapes) once. Nodes share the resulting attrs dict.
        memo_key = (op.kind, repr(evaluated), tuple(in_shapes))
        memo = self.memo.get(memo_key)
        if memo is None:
            try:
                validated = op.args.model_validate(evaluated)
            except pydantic.ValidationError as exc:
                raise self._args_error(exc, op, values, where_of, scope, path) from None
            try:
                shape = op.shape(validated, in_shapes)
                trainable, non_trainable = op.params(validated, in_shapes, shape)
                if any(d is not None and d > LIMITS.max_int for d in shape):
                    raise _limit(f"an output size is beyond {LIMITS.max_int:,} (limit max_int)")
                if trainable + non_trainable > LIMITS.max_int:
                    raise _limit(f"more than {LIMITS.max_int:,} parameters (limit max_int)")
            except ShapeError as exc:
                label = f"{op.kind} '{explicit}'" if explicit else op.kind
                raise self._error(
                    scope,
                    f"{self._in_block(scope)}{label}: {exc}",
                    path=path,
                    value_error=True,
                    code=getattr(exc, "code", "shape-mismatch"),
                ) from None
            memo = self.memo[memo_key] = (validated.model_dump(), shape, trainable, non_trainable)
        attrs, shape, trainable, non_trainable = memo
        name = self._layer_name(
            explicit or self._auto_name(op, attrs, role, scope, path), scope, path
        )
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
            ),
            scope,
            path,
        )
        return name

    def _auto_name(self, op: Op, attrs: dict, role, scope: Scope, path: tuple) -> str:
        if scope.block is None:
            return self.auto.next(keras_auto_name(op.keras_class), self.names)
        naming = self.r.naming
        table = naming.layer if role not in (None, "") else naming.block_layer
        template = template_for(table, op.kind)
        if template is None:
            return self.auto.next(keras_auto_name(op.keras_class), self.names)
        context = {
            **scope.context,
            "role": role,
            "kind": op.kind,
            "suffix": op.short(attrs),
        }
        return str(self._eval(template, scope, context, path, where_text="naming scheme"))

    def _layer_name(self, name, scope: Scope, path: tuple) -> str:
        if not isinstance(name, str) or not _LAYER_NAME.match(name) or len(name) > 200:
            raise self._error(
                scope,
                "a layer name must be letters, digits, '_', '.' or '-' (at most 200). "
                f"Received: {name!r}",
                path=path,
                code="invalid-name",
            )
        return name

    def _add(self, node: Node, scope: Scope, path: tuple | None = None) -> None:
        if node.name in self.names:
            first = self.names[node.name]
            raise self._error(
                scope,
                f"{self._in_block(scope)}duplicate layer name '{node.name}' (first at {first})",
                path=path,
                code="duplicate-name",
            )
        self.names[node.name] = node.where
        self.shapes[node.name] = node.shape
        self.nodes.append(node)

    # ---- stages ---------------------------------------------------------------------------

    def _stage(self, args, x: str, scope: Scope, path: tuple) -> str:
        if not isinstance(args, dict):
            raise self._error(
                scope,
                f"stage: expected a mapping with id and blocks. Received: {args!r}",
                path=path,
                code="wrong-type",
            )
        for key in ("id", "blocks"):
            if key not in args:
                raise self._error(
                    scope, f"stage: missing required key '{key}'", path=path, code="missing-key"
                )
        entries = args["blocks"]
        if not isinstance(entries, list) or not entries:
            raise self._error(
                scope,
                "stage.blocks: expected a non-empty list of blocks",
                path=path + ("blocks",),
                code="invalid-value",
            )
        stage_id = self._eval(args["id"], scope, scope.context, path + ("id",))
        if isinstance(stage_id, bool) or not isinstance(stage_id, int | str):
            raise self._error(
                scope,
                f"expected a stage number or name. Received: {stage_id!r}",
                path=path + ("id",),
                code="wrong-type",
            )
        shared = {
            k: (self._eval(v, scope, scope.context, path + (k,)), self._where(scope, path + (k,)))
            for k, v in args.items()
            if k not in ("id", "blocks")
        }
        plan = []
        for i, entry in enumerate(entries):
            plan.append(self._stage_entry(entry, scope, path + ("blocks", i)))
        used = {kind for kind, _, _, _ in plan}
        for key, (_, where) in shared.items():
            if not any(key in self.r.blocks[k].definition.params for k in used):
                known = {p for k in used for p in self.r.blocks[k].definition.params}
                raise SpecError.at(
                    Where(where.file, where.line, where.col, where.path),
                    f"{format_path(where.path)}: no block in this stage takes a param '{key}'"
                    + did_you_mean(key, known),
                    "unknown-param",
                )
        index = 0
        for kind, count, values, where in plan:
            entry = self.r.blocks[kind]
            own = {k: v for k, v in shared.items() if k in entry.definition.params}
            for _ in range(count):
                index += 1
                position = {"stage": stage_id, "block": letter(index), "index": index}
                call = replace(scope, path=where.path, call=where)
                x = self._block(entry, {**own, **values}, x, call, position)
        return x

    def _stage_entry(self, entry, scope: Scope, path: tuple):
        """One entry of a stage's blocks: ``identity``, ``identity x 3``, or
        ``{convolutional: {s: 2, repeat: 1}}``. Returns kind, count, args and where it is."""
        entry_scope = scope.at(*path[len(scope.path) :])
        try:
            kind, count, args, apath, apath_count = items.stage_entry(entry, path)
        except items.ItemError as exc:
            raise self._error(entry_scope, str(exc), code="invalid-item") from None
        if kind not in self.r.blocks:
            hint = (
                did_you_mean(kind, self.r.blocks)
                if self.r.blocks
                else "; no blocks are defined or imported"
            )
            raise self._error(
                entry_scope,
                f"unknown block '{kind}'{hint}",
                key=not isinstance(entry, str),
                code="unknown-block",
            )
        count = self._eval(count, scope, scope.context, apath_count)
        if isinstance(count, str) and count.strip().isdigit():
            # More digits than any limit could allow: too large, without parsing them all
            count = int(count) if len(count.strip()) <= 18 else LIMITS.max_repeat + 10**18
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise self._error(
                scope,
                f"repeat count must be a non-negative integer. Received: {count!r}",
                path=apath_count,
                code="invalid-value",
            )
        if count > LIMITS.max_repeat:
            shown = f"{count:,}" if count < 10**18 else "of more than 18 digits"
            raise self._error(
                scope,
                f"repeat count {shown} exceeds the limit of {LIMITS.max_repeat:,} (limit max_repeat)",
                path=apath_count,
                code="limit-exceeded",
            )
        values = self._call_args(args, entry_scope, apath)
        where = self._where(scope, apath) if apath == path else scope.doc.where(apath, key=True)
        return kind, count, values, where

    # ---- blocks ---------------------------------------------------------------------------

    def _call_args(self, args, scope: Scope, path: tuple) -> dict:
        """Evaluate a block call's args in the caller's context: {name: (value, where)}."""
        if args is None:
            return {}
        if not isinstance(args, dict):
            raise self._error(
                scope,
                f"block arguments must be a mapping. Received: {args!r}",
                path=path,
                code="wrong-type",
            )
        return {
            k: (self._eval(v, scope, scope.context, path + (k,)), self._where(scope, path + (k,)))
            for k, v in args.items()
        }

    def _spend(self, scope: Scope, path: tuple | None = None) -> None:
        """Count one layer or block call. Conditions that leave everything out, or blocks
        that call blocks many times over, expand without end: stop at max_layers, and
        say where in the user's spec (the outermost call)."""
        self.work += 1
        if self.work > LIMITS.max_layers:
            where = scope.call or self._where(scope, path)
            raise SpecError.at(
                where,
                f"{format_path(where.path)}: the model expands to more than {LIMITS.max_layers:,} "
                "layers and block calls (limit max_layers)",
                "limit-exceeded",
            )

    def _block(
        self, entry: BlockEntry, values: dict, x: str, scope: Scope, position: dict | None
    ) -> str:
        definition, doc, bpath = entry.definition, entry.doc, entry.path
        self._spend(scope)
        call = scope.call or self._where(scope)
        if scope.depth >= LIMITS.max_block_depth:
            raise self._error(
                scope,
                f"blocks nest deeper than {LIMITS.max_block_depth} (is block '{entry.name}' recursive?) "
                "(limit max_block_depth)",
                code="limit-exceeded",
            )
        values = dict(values)
        when = values.pop("when", (True, None))
        explicit = values.pop("name", (None, None))[0]
        role = values.pop("role", (None, None))[0]
        if not self._condition(when[0], scope, when[1].path if when[1] else None, scope.context):
            return x
        params = self._bind_params(entry, values, scope, call)
        in_shape = self.shapes[x]
        context = {**params, "input": TensorInfo(in_shape)}
        if position:
            context.update(position, serial=self.serial)
            self.serial += 1
        elif scope.block is None:
            context["serial"] = self.serial
            self.serial += 1
        # The block's name: given, from the scheme at a stage position, or nested/auto.
        if explicit is not None:
            prefix = explicit
        elif position:
            prefix = self._eval(self.r.naming.block, scope, context, where_text="naming scheme")
        elif scope.block is not None:
            prefix = f"{scope.block.prefix}_{role or entry.name}"
        else:
            prefix = self.auto.next(entry.name, set())
        context["prefix"] = str(prefix)
        for key, value in definition.vars.items():
            context[key] = self._eval_at(value, doc, bpath + ("vars", key), context)
        instance = BlockInstance(
            prefix=str(prefix),
            kind=entry.name,
            args=params,
            stage=(position or {}).get("stage"),
            letter=(position or {}).get("block"),
            index=(position or {}).get("index"),
            parent=scope.block.prefix if scope.block else None,
            input=x,
            where=call,
        )
        # The block's library defaults, then the spec's, which win.
        defaults = [(doc, entry.defaults_path, entry.defaults), self.spec_defaults]
        inner = Scope(doc, bpath, context, defaults, instance, scope.depth + 1, call)
        y = x
        for i, item in enumerate(definition.layers):
            y = self._block_item(item, y, inner.at("layers", i))
        outputs = []
        for b, branch in enumerate(definition.branches):
            bscope = inner.at("branches", b)
            items = bscope.at("layers") if isinstance(_node(doc, bscope.path), dict) else bscope
            if not self._condition(branch.when, bscope, bscope.path + ("when",), context):
                continue
            start = self._eval(branch.from_, bscope, context, bscope.path + ("from",))
            if start not in ("input", "layers"):
                raise self._error(
                    bscope,
                    f"from: expected 'input' or 'layers'. Received: {start!r}",
                    code="invalid-value",
                )
            z = x if start == "input" else y
            for i, item in enumerate(branch.layers):
                z = self._block_item(item, z, items.at(i))
            outputs.append(z)
        if len(outputs) >= 2:
            y = self._merge(definition.merge, outputs, inner.at("merge"), x)
        elif outputs:
            y = outputs[0]
        for i, item in enumerate(definition.after):
            y = self._block_item(item, y, inner.at("after", i))
        self.blocks.append(replace(instance, output=y))
        return y

    def _block_item(self, item, x: str, scope: Scope) -> str:
        kind, args, args_path = self._split(item, scope)
        if kind in OPS:
            return self._layer(OPS[kind], args, [x], scope, args_path)
        if kind in self.r.blocks:
            values = self._call_args(args, scope, args_path)
            return self._block(self.r.blocks[kind], values, x, scope, position=None)
        known = list(OPS) + list(self.r.blocks)
        raise self._error(
            scope,
            f"unknown layer or block kind '{kind}'" + did_you_mean(kind, known),
            key=True,
            code="unknown-kind",
        )

    def _merge(self, item, inputs: list[str], scope: Scope, block_input: str) -> str:
        kind, args, args_path = self._split(item, scope)
        if kind not in MERGES:
            raise self._error(
                scope,
                f"unknown merge '{kind}'" + did_you_mean(kind, MERGES),
                key=isinstance(item, dict),
                code="unknown-kind",
            )
        shapes = [self.shapes[i] for i in inputs]
        if kind != "concatenate" and len(set(shapes)) > 1:
            ends = [
                f"branch {n} "
                + (
                    "(the identity shortcut) passes the block input"
                    if name == block_input
                    else f"ends at '{name}'"
                )
                + f" with shape (None, {', '.join(map(str, shape))}), {shape[-1]} channels"
                for n, (name, shape) in enumerate(zip(inputs, shapes), 1)
            ]
            raise self._error(
                scope,
                f"{self._in_block(scope)}{kind} needs branches of one shape: " + "; ".join(ends),
                path=args_path,
                value_error=True,
                code="shape-mismatch",
            )
        return self._layer(OPS[kind], args, inputs, scope, args_path)

    def _bind_params(self, entry: BlockEntry, values: dict, scope: Scope, call: Where) -> dict:
        declared = entry.definition.params
        problems = []
        bound = {}
        for key, (value, where) in values.items():
            if key not in declared:
                hint = (
                    did_you_mean(key, declared)
                    if declared
                    else f"; block '{entry.name}' takes no params"
                )
                problems.append(
                    Problem(
                        where,
                        f"{format_path(where.path)}: unknown param '{key}' for block '{entry.name}'{hint}",
                        "unknown-param",
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
                    owner=f" of block '{entry.name}'",
                    type=declared[key].type,
                    value=value,
                )
        for key, decl in declared.items():
            if key in bound or any(p.where.path[-1:] == (key,) for p in problems):
                continue
            if decl.required:
                problems.append(
                    Problem(
                        call,
                        f"block '{entry.name}' needs param '{key}' ({decl.type})",
                        "missing-param",
                    )
                )
            else:
                bound[key] = decl.default
        if problems:
            raise SpecError(problems)
        return bound

    # ---- evaluation and errors --------------------------------------------------------------

    def _eval(
        self, value, scope: Scope, context: dict, path: tuple | None = None, where_text: str = ""
    ):
        """Evaluate ``value`` found at ``path`` (default: the scope's own node)."""
        return self._eval_at(
            value, scope.doc, scope.path if path is None else path, context, where_text
        )

    def _eval_at(self, value, doc: Document, path: tuple, context: dict, where_text: str = ""):
        try:
            return evaluate(value, context)
        except ExpressionError as exc:
            prefix = f"{where_text}: " if where_text else ""
            raise doc.error(path, f"{format_path(path)}: {prefix}{exc}", code=exc.code) from None

    def _condition(self, value, scope: Scope, path: tuple | None, context: dict) -> bool:
        full = scope.path if path is None else path
        try:
            return condition(value, context)
        except ExpressionError as exc:
            raise scope.doc.error(
                full, f"{format_path(full)}: when: {exc}", code=exc.code
            ) from None

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
        message: str,
        *,
        path: tuple | None = None,
        key: bool = False,
        value_error: bool = False,
        code: str,
    ) -> SpecError:
        """An error at the node; inside a block, errors that depend on the call's values
        are reported at the call site in the user's spec, naming the definition's place."""
        path = scope.path if path is None else path
        where = scope.doc.where(path, key=key)
        if value_error and scope.call is not None and scope.call.file != where.file:
            text = f"{format_path(scope.call.path)}: {message} (layer defined at {where})"
            return SpecError.at(scope.call, text, code)
        return SpecError.at(where, f"{format_path(path)}: {message}" if path else message, code)

    def _args_error(
        self, exc, op: Op, values: dict, where_of: dict, scope: Scope, path: tuple
    ) -> SpecError:
        def locate(loc: tuple, key: bool) -> tuple[Where, bool]:
            doc, kpath = where_of.get(loc[0] if loc else None, (scope.doc, path))
            return doc.where(kpath, key=key), False

        problems = validation_problems(
            exc.errors(),
            locate,
            thing="argument",
            known=lambda loc: list(op.args.model_fields) + list(COMMON_KEYS),
            kind=op.kind,
            inside=self._in_block(scope),
        )
        for i, problem in enumerate(problems):
            key = problem.context.get("key")
            raw = values.get(key)
            # A bad value that a block's expression computed from the call's args is
            # reported at the call in the user's spec, naming the definition's place.
            if (
                problem.code == "invalid-argument"
                and scope.call is not None
                and problem.where.file != scope.call.file
                and isinstance(raw, str)
            ):
                origin = f" (from {format_path(problem.where.path)} at {problem.where})"
                problems[i] = Problem.of(
                    "invalid-argument", scope.call, **{**problem.context, "origin": origin}
                )
        # A misspelt argument explains the required one that seems missing: name it first.
        problems.sort(key=lambda problem: problem.code != "unknown-argument")
        return SpecError(problems)


def _limit(message: str) -> ShapeError:
    """A ShapeError for a size beyond max_int, reported as a limit."""
    error = ShapeError(message)
    error.code = "limit-exceeded"
    return error


def _node(doc: Document, path: tuple):
    node = doc.data
    for part in path:
        node = node[part]
    return node
