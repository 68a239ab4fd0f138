"""The structured Python emitter: a Program becomes a module that reads like Keras's own.

One function per block kind, with the block's params as arguments and its layer names
computed inside from the naming scheme, and one model function named after the spec
whose keyword arguments are the spec's params. Everything comes from the Program (how
the spec was written: items, merged defaults, stage positions, names decided at
elaboration); expressions are translated to Python. Every identifier comes from one
namespace, so no spec name shadows a module name, a builtin or another spec name.
"""

from __future__ import annotations

import ast
import re

from archspec.backends.python.docstrings import block_doc, model_doc, module_doc
from archspec.backends.python.writer import (
    INDENT,
    NAMED,
    Function,
    ModuleNeeds,
    Namespace,
    arithmetic,
    call_lines,
    docstring_lines,
    initializer_source,
    module_namespace,
    render_module,
    tuples,
)
from archspec.core.elaborate import (
    Arg,
    Block,
    Call,
    Layer,
    Program,
    Reuse,
    Stage,
    StageEntry,
    literal_name,
    tensor_names,
)
from archspec.core.naming import layer_template, letter
from archspec.core.ops import Op, lookup
from archspec.core.ops.args import is_nested_layer, keeps_lists, nests_layer, parse_initializer
from archspec.diagnostics import SpecError, Where
from archspec.lang.evaluate import ExpressionError, is_expression
from archspec.lang.to_python import Translator, has_expression, literal, string

POSITION_NAMES = ("stage", "block", "index", "serial")


class _Names(dict):
    """The names a scope's expressions may use; remembers which ones they did use."""

    def __init__(self, *args, used: set | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.used = set() if used is None else used

    def __getitem__(self, key):
        self.used.add(key)
        return super().__getitem__(key)

    def child(self, **extra) -> _Names:
        return _Names({**self, **extra}, used=self.used)


class _Scope:
    """A function being written: its namespace, the spec names its expressions see,
    its tensor variables, and the block it is the function of (if any)."""

    def __init__(self, ns: Namespace, names: _Names, block: Block | None, inputs):
        # ``inputs``: the variable of the (first) input, or of each of a block's inputs
        self.input_vars = list(inputs) if isinstance(inputs, list) else [inputs]
        self.ns, self.names, self.block, self.inputs = ns, names, block, self.input_vars[0]
        self.fn = Function()
        self.vars: dict[str, str] = {}  # tensor variable roles (x, shortcut, ...) → names
        self.tensors: dict[str, str] = {}  # tensor names (inputs, ``as``) → variables
        self.constants: dict = {}
        self.model_inputs: list[str] = self.input_vars  # a nested functional model's inputs
        self.sequential: str | None = None  # a nested sequential model's variable

    def var(self, role: str) -> str:
        if role not in self.vars:
            self.vars[role] = self.ns.claim(role)
        return self.vars[role]

    def tensor(self, name: str) -> str:
        """The variable of a named tensor (claimed on its first binding)."""
        if name not in self.tensors:
            self.tensors[name] = self.ns.claim(name)
        return self.tensors[name]


def _add(a, b):
    """Sum of two positions, each an int or a Python expression."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return f"{a} + {b}"


class Structured:
    """The structured module of one Program: its namespaces, block functions and model function."""

    def __init__(self, program: Program, source: str, session_names: bool = False):
        self.p, self.source = program, source
        # Some layer is named by Keras's session counters: so are the model's unnamed
        # layers, which then count in the order the model makes them, as the lowering's.
        self.session_names = session_names
        self.needs = ModuleNeeds()
        self.kinds: dict[str, bool] = {}  # block kind → called only at stage positions
        self._scan_calls()
        self.module_ns = module_namespace()
        self.needs.import_classes(self.module_ns, self._layer_ops())
        self.model_function_name = self.module_ns.claim(program.name)
        self.function_names = {kind: self.module_ns.claim(kind) for kind in self.kinds}
        # Per block kind: the names its function hands out first (its parameters, before
        # any local), so that callers know them before the function is written; and which
        # positions the function takes (known once it is written).
        self.block_names = {kind: self._block_names(program.blocks[kind]) for kind in self.kinds}
        self.signatures = {
            kind: {**names["params"], **names["positions"], "name": names["name"] or "name"}
            for kind, names in self.block_names.items()
        }
        self.positions: dict[str, set] = {}
        # Layers applied again by a ``reuse``: created once into a variable, then called.
        self.reused = {item.target.value for item in program.walk() if isinstance(item, Reuse)}
        self.shared: dict[str, str] = {}  # reused layer name → the variable of its layer
        # Names that a ``from`` reads: a layer named so gets a variable of that name.
        self.read_names = (
            {
                name
                for item in program.walk()
                if getattr(item, "reads", None) is not None
                for name in tensor_names(item.reads)
            }
            | {name for name in _output_names(program.outputs)}
            | {b.start.value for block in program.blocks.values() for b in block.branches}
        )

    def _block_names(self, block: Block) -> dict:
        ns = self.module_ns.child()
        inputs = ["inputs"] if block.inputs == ("input",) else block.inputs
        return {
            "ns": ns,
            "inputs": [ns.claim(name) for name in inputs],
            "params": {k: ns.claim(k) for k in block.params},
            "positions": {k: ns.claim(k) for k in POSITION_NAMES},
            "name": ns.claim("name") if not self.kinds[block.name] else None,
            "prefix": ns.claim("prefix"),
            "vars": {k: ns.claim(k) for k in block.vars},
        }

    def _scan_calls(self) -> None:
        """Which block kinds are called only at stage positions (their functions compute
        their own names) and which also elsewhere (they take a ``name``): decided before
        any code is written, since a call's arguments depend on it."""
        for item in self.p.walk():
            if isinstance(item, StageEntry):
                self.kinds[item.block] = self.kinds.get(item.block, True) and item.name is None
            elif isinstance(item, Call):
                self.kinds[item.block] = False

    def _layer_ops(self):
        """The op of every layer statement the module will have: the model's own, and
        those of the block functions it defines."""
        for item in self.p.items:
            if isinstance(item, Layer):
                yield item.op
        for kind in self.kinds:
            block = self.p.blocks[kind]
            merge = (block.merge,) if block.merge is not None else ()
            branches = (item for branch in block.branches for item in branch.items)
            for item in (*block.layers, *branches, *merge, *block.after):
                if isinstance(item, Layer):
                    yield item.op

    # ---- module ---------------------------------------------------------------------------

    def module(self) -> tuple[str, list[int]]:
        """The module's source (before layout) and the item of each statement, in order."""
        functions = [self._block_function(self.p.blocks[kind]) for kind in self.kinds]
        model = self._model_function()
        origins = [uid for f in (*functions, model) for uid in f.pop("origins")]
        resolved = self.p.resolved
        doc = module_doc(self.model_function_name, self.source, self.p.text)
        source = render_module(self.source, resolved.digest(), doc, [*functions, model], self.needs)
        return source, origins

    def _translator(self, scope: _Scope, current: str) -> Translator:
        tensors = {"x": current.split(", ")[0]}
        if scope.block is not None:
            tensors["input"] = scope.inputs
            tensors.update(zip(scope.block.inputs, scope.input_vars))
        return Translator(scope.names, tensors, self.needs.use, scope.constants)

    def _source(self, value, scope: _Scope, current: str, arg: Arg | None) -> str:
        try:
            return self._translator(scope, current).value(value)
        except ExpressionError as exc:
            raise _error(arg, exc) from None

    # ---- the model function ------------------------------------------------------------------

    def _model_function(self) -> dict:
        p = self.p
        ns = self.module_ns.child()
        params = {k: ns.claim(k) for k in p.params}
        names = _Names(params)
        input_vars = [
            ns.claim("inputs" if len(p.inputs) == 1 else put.name.value) for put in p.inputs
        ]
        scope = _Scope(ns, names, None, input_vars[0])
        for put, var in zip(p.inputs, input_vars):
            shape = self._source(put.shape.value, scope, var, put.shape)
            name = self._source(put.name.value, scope, var, put.name)
            dtype = "" if put.dtype is None else f", dtype={string(put.dtype)}"
            scope.fn.add(f"{INDENT}{var} = keras.Input(shape={shape}, name={name}{dtype})")
            if isinstance(put.name.value, str):
                scope.tensors[put.name.value] = var
        current = ", ".join(input_vars)
        for item in p.items:
            current = self._item(item, current, "x", scope, 1)
        model_name = self._source(p.model_name.value, scope, current, p.model_name)
        outputs = self._model_outputs(current, scope)
        model_inputs = input_vars[0] if len(input_vars) == 1 else f"[{', '.join(input_vars)}]"
        scope.fn.add(f"{INDENT}return keras.Model({model_inputs}, {outputs}, name={model_name})")
        signature, defaults = _defaults({params[k]: v for k, v in p.params.items()})
        doc = model_doc(
            self.model_function_name, p.text, {params[k]: v for k, v in p.params.items()}
        )
        return {
            "signature": f"def {self.model_function_name}({', '.join(signature)}):",
            "doc": docstring_lines(doc, 1),
            "body": defaults + scope.fn.lines,
            "origins": scope.fn.origins,
        }

    def _model_outputs(self, current: str, scope: _Scope) -> str:
        arg = self.p.outputs
        if arg is None:
            return current.split(", ")[0]
        value = arg.value
        if isinstance(value, str):
            return scope.tensors[value]
        if isinstance(value, list):
            return "[" + ", ".join(scope.tensors[n] for n in value) + "]"
        return "{" + ", ".join(f"{string(k)}: {scope.tensors[n]}" for k, n in value.items()) + "}"

    # ---- items ----------------------------------------------------------------------------

    def _item(self, item, current: str, role: str, scope: _Scope, depth: int) -> str:
        """Write one item reading ``current`` (its variables, joined by commas) or the
        tensors its ``from`` names; returns the variables of its outputs, joined."""
        if item.reads is not None:
            current = ", ".join(scope.tensors[n] for n in tensor_names(item.reads))
        target = None
        if item.binds is not None:
            target = ", ".join(scope.tensor(n) for n in tensor_names(item.binds))
        written = literal_name(item)
        if written is not None and target is None and written in self.read_names:
            target = scope.tensor(written)
        if isinstance(item, Stage):
            out = self._stage(item, current, scope, depth)
            if target is not None and target != out:
                scope.fn.add(f"{INDENT * depth}{target} = {out}")
                out = target
            return out
        if isinstance(item, Layer):
            inputs = current.split(", ")
            if item.op.call == "one":
                inputs = inputs[:1]
            return self._layer(item, inputs, role, scope, depth, target=target)
        if isinstance(item, Reuse):
            return self._reuse(item, current.split(", "), role, scope, depth, target)
        return self._call(item, current, role, scope, depth, target)

    def _reuse(self, item: Reuse, inputs, role, scope: _Scope, depth, target) -> str:
        layer = self.shared.get(item.target.value)
        if layer is None:
            raise _error(
                item.target,
                "reuse names a layer that generated code cannot see: a layer named "
                "in the same function, before the reuse, by a name written out",
            )
        arg = f"[{', '.join(inputs)}]" if len(inputs) > 1 else inputs[0]
        return self._emit(
            target or scope.var(role),
            layer,
            [arg],
            "",
            inputs[0],
            item.when,
            scope,
            item.uid,
            depth,
        )

    def _layer(
        self,
        item: Layer,
        inputs: list[str],
        role: str,
        scope: _Scope,
        depth: int,
        tail=None,
        target: str | None = None,
    ) -> str:
        op = item.op
        current = inputs[0]
        if op.operation is not None:  # x + 3.0, under the item's name
            self.needs.use(NAMED)
            arg = item.args[op.operation.operand]
            value = self._source(arg.value, scope, current, arg)
            expression = arithmetic(current, op.operation.operator, value)
            name = self._layer_name(item, scope, current) or "None"
            return self._emit(
                target or scope.var(role), NAMED, [name, expression], "", current, item.when, scope,
                item.uid, depth,
            )  # fmt: skip
        source = []
        positional = True
        for key, spec_field in op.args.model_fields.items():
            arg = item.args.get(key)
            if arg is None and key not in op.implied:
                positional = False
                continue
            value = arg.value if arg is not None else spec_field.default
            if key.endswith("_initializer"):
                code = self._initializer(value, arg or item, scope, current)
            elif nests_layer(spec_field):
                code = self._nested_layer(value, scope, current, arg)
            else:
                # Lists are written as tuples, as Keras normalizes most arguments,
                # except where Keras must be given a list (Rescaling's scale).
                value = value if keeps_lists(spec_field) else tuples(value)
                code = self._source(value, scope, current, arg)
            positional = positional and key in op.positional
            source.append(code if positional else f"{key}={code}")
        name = self._layer_name(item, scope, current)
        if name not in (None, "None"):  # None: Keras's session counter names it
            source.append(f"name={name}")
        if tail is None and op.call != "one":
            tail = call_tail(op, inputs)
        callee = self.needs.callee(op)
        sequential = scope.sequential if scope.block is not None else None
        if sequential is not None:
            return self._add_to_sequential(sequential, callee, source, current, item, scope, depth)
        written = item.name.value if item.name is not None else item.auto_name
        if written in self.reused and scope.block is None:
            # Applied again later: the layer object gets a variable of its own.
            layer = self.shared[written] = scope.ns.claim(f"{written}_layer")
            for line in call_lines(layer, callee, source, "", depth):
                scope.fn.add(line)
            callee, source = layer, [(tail or f"({current})")[1:-1]]
            tail = ""
        return self._emit(
            target or scope.var(role),
            callee,
            source,
            tail,
            current,
            item.when,
            scope,
            item.uid,
            depth,
        )

    def _nested_layer(self, value, scope: _Scope, current: str, arg: Arg) -> str:
        """A layer given to a wrapper, ``layers.LSTM(64, return_sequences=True)``: its
        arguments as the spec writes them (expressions translated), left for Keras to
        name."""
        if is_expression(value):
            raise _error(arg, "a nested layer must be written out, not computed")
        if is_nested_layer(value):
            value = {value["kind"]: value["args"]}
        elif isinstance(value, str):
            value = {value: {}}
        ((kind, given),) = value.items()
        op = lookup(kind)
        given = given or {}
        if not isinstance(given, dict):
            given = {op.primary: given}  # {lstm: 64}
        source, positional = [], True
        for key, spec_field in op.args.model_fields.items():
            if key not in given:
                positional = False
                continue
            if key.endswith("_initializer"):
                code = self._initializer(given[key], arg, scope, current)
            else:
                inner = given[key] if keeps_lists(spec_field) else tuples(given[key])
                code = self._source(inner, scope, current, arg)
            positional = positional and key in op.positional
            source.append(code if positional else f"{key}={code}")
        return f"{self.needs.stock(op.keras_class)}({', '.join(source)})"

    def _add_to_sequential(self, model, callee, source, current, item, scope, depth) -> str:
        """``model.add(layers.X(...))``: a layer of a block built as a sequential model."""
        statement = f"{model}.add({callee}({', '.join(source)}))"
        if item.when is None or item.when.value is True:
            scope.fn.add(f"{INDENT * depth}{statement}")
            return current
        try:
            condition = self._translator(scope, current).condition(item.when.value)
        except ExpressionError as exc:
            raise _error(item.when, exc) from None
        scope.fn.conditional(depth, condition)
        scope.fn.add(f"{INDENT * (depth + 1)}{statement}")
        scope.fn.close_conditional(depth, condition)
        return current

    def _initializer(self, value, where, scope: _Scope, current: str) -> str:
        """An initializer written out; the arguments it computes (``scale: "{{ 1 / 3 }}"``)
        are translated, the rest checked and written as literals."""
        if is_expression(value) or isinstance(value, list):
            raise _error(where, "an initializer must be written out, not computed")
        computed, order = {}, None
        if isinstance(value, dict) and len(value) == 1:
            ((kind, config),) = value.items()
            if isinstance(config, dict):
                computed = {k: v for k, v in config.items() if has_expression(v)}
                value, order = (
                    {kind: {k: v for k, v in config.items() if k not in computed}},
                    config,
                )
        try:
            parsed = parse_initializer(value)
        except ValueError as exc:
            raise _error(where, exc) from None
        if computed:  # the arguments in the order written
            parsed = {**parsed, "config": {k: parsed["config"].get(k) for k in order}}
        sources = {k: self._source(v, scope, current, where) for k, v in computed.items()}
        return initializer_source(parsed, sources)

    def _layer_name(self, item: Layer, scope: _Scope, current: str) -> str | None:
        """The source of a layer's name; None: Keras's session counter names it."""
        if item.name is not None:
            return self._source(item.name.value, scope, current, item.name)
        if scope.block is None:
            return None if self.session_names else string(item.auto_name)
        role = item.role.value if item.role is not None else None
        template = layer_template(self.p.naming, item.op, role)
        if template is None:
            raise _error(
                item, f"the naming scheme names no {item.op.kind} layers in blocks; give it a name"
            )
        constants = {"kind": item.op.kind, "role": role}
        names = scope.names
        if is_expression(role):
            names = names.child(role=self._source(role, scope, current, item.role))
            del constants["role"]
        # the suffix, or the value it is named after (an activation's function)
        named_after = item.args.get(item.op.suffix_from) if item.op.suffix_from else None
        if named_after is None:
            constants["suffix"] = item.op.suffix
        elif is_expression(named_after.value):
            names = names.child(suffix=self._source(named_after.value, scope, current, named_after))
        else:
            constants["suffix"] = named_after.value
        named = _Scope(scope.ns, names, scope.block, scope.inputs)
        named.constants = constants
        return self._source(template, named, current, item)

    def _emit(self, target, callee, args, tail, current, when, scope, uid, depth) -> str:
        """``target = callee(args)tail``, under ``if`` when the item is conditional;
        consecutive statements under one condition (that does not read the tensor they
        change) share the ``if``."""
        tail = f"({current})" if tail is None else tail
        if when is None or when.value is True:
            scope.fn.statement(call_lines(target, callee, args, tail, depth), uid)
            return target
        try:
            condition = self._translator(scope, current).condition(when.value)
        except ExpressionError as exc:
            raise _error(when, exc) from None
        # Left out, the item passes its inputs on: the first of them to each target (a
        # call reading several tensors may have fewer outputs, and the other way round).
        targets, inputs = target.split(", "), current.split(", ")
        pairs = list(zip(targets, inputs))
        if current != target:
            left, right = (", ".join(side) for side in zip(*pairs))
            scope.fn.add(f"{INDENT * depth}{left} = {right}")
        if re.search(rf"\b{re.escape(target)}\b", condition):
            scope.fn.add(f"{INDENT * depth}if {condition}:")
        else:
            scope.fn.conditional(depth, condition)
        if len(targets) == len(inputs):
            # the targets hold the inputs now: the statement reads them
            if tail == f"({current})":
                tail = f"({target})"
            args = [target if a == current else a for a in args]
        scope.fn.statement(call_lines(target, callee, args, tail, depth + 1), uid)
        scope.fn.close_conditional(depth, condition)
        return target

    # ---- stages and block calls -------------------------------------------------------------

    def _terms(self, terms: tuple, scope: _Scope, current: str, start=0):
        """A position's terms as an int or a Python sum, in the order they add up."""
        total = start
        for term in terms:
            total = _add(
                total, term if isinstance(term, int) else self._count(term, scope, current)
            )
        return total

    def _count(self, entry: StageEntry, scope: _Scope, current: str):
        count = entry.times.value
        if isinstance(count, int):
            return count
        return self._source(count, scope, current, entry.times)

    def _stage(self, stage: Stage, current: str, scope: _Scope, depth: int) -> str:
        stage_id = self._source(stage.id.value, scope, current, stage.id)
        for entry in stage.entries:
            source = [
                f"{self._param_name(entry.block, k)}={self._source(a.value, scope, current, a)}"
                for k, a in entry.args.items()
            ]
            position = {
                "stage": stage_id,
                "index": self._terms(entry.first_index[1:], scope, current, entry.first_index[0]),
                "serial": self._terms(entry.first_serial, scope, current),
                "count": self._count(entry, scope, current),
            }
            current = self._positioned_calls(entry, source, position, current, scope, depth)
        return current

    def _param_name(self, kind: str, key: str) -> str:
        return self.signatures[kind].get(key, key)

    def _block_inputs(self, kind: str, current: str) -> str:
        """The first of ``current``'s variables, as many as the block reads."""
        return ", ".join(current.split(", ")[: len(self.p.blocks[kind].inputs)])

    def _targets(self, kind: str, role: str, scope: _Scope) -> str:
        """The variables a call of a block assigns: one per output."""
        count = len(self.p.blocks[kind].outputs or (1,))
        return ", ".join(scope.var(role if i == 0 else f"{role}{i + 1}") for i in range(count))

    def _call(self, item: Call, current, role, scope: _Scope, depth, target=None) -> str:
        current = self._block_inputs(item.block, current)
        source = [
            f"{self._param_name(item.block, k)}={self._source(a.value, scope, current, a)}"
            for k, a in item.args.items()
        ]
        if item.serial is not None and "serial" in self.positions[item.block]:
            # outside blocks a call has the model's running block count, as a stage's do
            serial = self._terms(item.serial, scope, current)
            source.append(f"{self._param_name(item.block, 'serial')}={serial}")
        if item.name is not None:
            name = self._source(item.name.value, scope, current, item.name)
        else:
            name = None if scope.block is not None else string(item.auto_name)
        if scope.block is not None:
            block_role = item.role.value if item.role is not None else None
            named = _Scope(scope.ns, scope.names.child(parent=scope.names["prefix"]), None, "")
            if name is None:
                named.constants = {"name": block_role or item.block}
            else:
                named.names = named.names.child(name=name)
            name = self._source(self.p.naming.nested, named, current, None)
        source.append(f"{self._param_name(item.block, 'name')}={name}")
        function, tail = self.function_names[item.block], ""
        if self.p.blocks[item.block].model is not None:
            # The block's function makes the nested model; the call applies it.
            tail = f"({_one_or_list(current)})"
            written = item.name.value if item.name is not None else item.auto_name
            if written in self.reused and scope.block is None:
                model = self.shared[written] = scope.ns.claim(f"{written}_model")
                scope.fn.statement(
                    call_lines(model, function, [current, *source], "", depth), item.uid
                )
                function, source, current_arg, tail = model, [], _one_or_list(current), ""
                return self._emit(
                    target or self._targets(item.block, role, scope),
                    function,
                    [current_arg],
                    tail,
                    current,
                    item.when,
                    scope,
                    item.uid,
                    depth,
                )
        return self._emit(
            target or self._targets(item.block, role, scope),
            function,
            [current, *source],
            tail,
            current,
            item.when,
            scope,
            item.uid,
            depth,
        )

    def _position_args(self, entry: StageEntry, values: dict, scope: _Scope) -> list:
        """The position arguments a block function takes; and its ``name`` when the kind
        is also called elsewhere (then it does not compute its own name)."""
        kind = entry.block
        args = [
            f"{self._param_name(kind, k)}={values[k]}"
            for k in POSITION_NAMES
            if k in self.positions[kind]
        ]
        if not self.kinds[kind]:
            if entry.name is not None:
                name = self._source(entry.name.value, scope, "x", entry.name)
            else:
                constants, names = {}, {}
                for key, code in values.items():
                    try:
                        constants[key] = ast.literal_eval(code)
                    except (ValueError, SyntaxError):
                        names[key] = code
                named = _Scope(scope.ns, _Names(names), None, scope.inputs)
                named.constants = constants
                name = self._source(self.p.naming.block, named, "x", None)
            args.append(f"{self._param_name(kind, 'name')}={name}")
        return args

    def _positioned_calls(self, entry: StageEntry, source, position, current, scope, depth):
        """Calls of a block at stage positions: written out when few, else a loop."""
        kind = entry.block
        function = self.function_names[kind]
        count, first, serial0 = position["count"], position["index"], position["serial"]
        uses = self.positions[kind]
        # the positions the calls need: also all of them when the caller computes the name
        need = uses if self.kinds[kind] else self._block_template_names()
        x = self._targets(kind, "x", scope)
        current = self._block_inputs(kind, current)
        if isinstance(count, int) and count <= 2:
            for n in range(count):
                index = _add(first, n) if n else first
                if isinstance(index, int):
                    block = string(letter(index))
                else:
                    block = f"block_letter({index})"
                    if "block" in need:
                        self.needs.use("block_letter")
                values = {
                    "stage": position["stage"],
                    "block": block,
                    "index": str(index),
                    "serial": str(_add(serial0, n) if n else serial0),
                }
                call = [current, *source, *self._position_args(entry, values, scope)]
                tail = self._model_tail(kind, current)
                self._emit(x, function, call, tail, current, entry.when, scope, entry.uid, depth)
                current = x
            return current
        if current != x:
            scope.fn.add(f"{INDENT * depth}{x} = {current}")
        current = x
        if need <= {"stage", "block"} and isinstance(count, int) and isinstance(first, int):
            letters = [letter(first + n) for n in range(count)]
            sequence = (
                string("".join(letters))
                if all(len(s) == 1 for s in letters)
                else literal(tuple(letters))
            )
            loop_var = scope.var("block")
            loop = f"for {loop_var} in {sequence}:"
            values = {"stage": position["stage"], "block": loop_var}
        else:
            end = _add(first, count)
            loop_var = scope.var("index")
            loop = f"for {loop_var} in range({first}, {end}):"
            if isinstance(first, int) and isinstance(end, int) and end - 1 <= 26:
                block = f'"abcdefghijklmnopqrstuvwxyz"[{loop_var} - 1]'
            else:
                block = f"block_letter({loop_var})"
                if "block" in need:
                    self.needs.use("block_letter")
            offset = (
                f"{loop_var} - {first}" if isinstance(first, int) else f"{loop_var} - ({first})"
            )
            values = {
                "stage": position["stage"],
                "block": block,
                "index": loop_var,
                "serial": f"{serial0} + {offset}",
            }
        scope.fn.add(f"{INDENT * depth}{loop}")
        call = [x, *source, *self._position_args(entry, values, scope)]
        tail = self._model_tail(kind, x)
        self._emit(x, function, call, tail, x, entry.when, scope, entry.uid, depth + 1)
        return x

    def _model_tail(self, kind: str, current: str) -> str:
        """A nested model's block function returns the model: the call applies it."""
        return f"({_one_or_list(current)})" if self.p.blocks[kind].model is not None else ""

    def _block_template_names(self) -> set:
        """The position names the naming scheme's block template uses."""
        names = _Names({k: k for k in POSITION_NAMES})
        Translator(names, {}).template(self.p.naming.block)
        return names.used & set(POSITION_NAMES)

    # ---- block functions --------------------------------------------------------------------

    def _block_function(self, block: Block) -> dict:
        positioned = self.kinds[block.name]
        claimed = self.block_names[block.name]
        ns, inputs, prefix = claimed["ns"], claimed["inputs"], claimed["prefix"]
        params, positions, variables = claimed["params"], claimed["positions"], claimed["vars"]
        name_param = claimed["name"]
        names = _Names({**params, **positions, "prefix": prefix, **variables})
        body_inputs = inputs
        if block.model == "functional":
            body_inputs = [ns.claim(f"{v}_model") for v in inputs]
        scope = _Scope(ns, names, block, body_inputs)
        scope.model_inputs = body_inputs
        if block.model == "sequential":
            scope.sequential = ns.claim("model")
        scope.vars["prefix"] = prefix
        scope.tensors.update({"input": body_inputs[0], **dict(zip(block.inputs, body_inputs))})
        self._block_body(block, scope)
        needed = set(names.used)
        if block.model is not None:
            needed.add("prefix")  # the model's name
        var_lines = []
        for var, arg in reversed(list(block.vars.items())):
            if var not in needed:
                continue
            needed.discard(var)
            var_names = _Names(names, used=set())
            vscope = _Scope(ns, var_names, block, inputs)
            var_lines.insert(
                0, f"{INDENT}{variables[var]} = {self._source(arg.value, vscope, inputs[0], arg)}"
            )
            needed |= var_names.used
        head = []
        if "prefix" in needed:
            if positioned:
                pnames = _Names(names, used=set())
                template = self._source(
                    self.p.naming.block, _Scope(ns, pnames, block, inputs), inputs[0], None
                )
                head.append(f"{INDENT}{prefix} = {template}")
                needed |= pnames.used
            else:
                head.append(f"{INDENT}{prefix} = {name_param}")
        uses = needed & set(POSITION_NAMES)
        self.positions[block.name] = uses
        optional, defaults = _defaults(
            {params[k]: d.default for k, d in block.params.items() if not d.required}
        )
        # (Python name, role, spec name) of each parameter in order, for the docstring;
        # optional params last, written with their defaults
        described = [
            *((var, "input", name) for var, name in zip(inputs, block.inputs)),
            *((params[k], "param", k) for k, d in block.params.items() if d.required),
            *((positions[k], "position", k) for k in POSITION_NAMES if k in uses),
            *([(name_param, "name", "name")] if name_param else []),
            *((params[k], "param", k) for k, d in block.params.items() if not d.required),
        ]
        signature = [var for var, _, _ in described[: len(described) - len(optional)]]
        signature += optional
        if block.outputs is not None:
            returned = ", ".join(scope.tensors[name] for name in block.outputs)
        else:
            returned = scope.var("x")
        body = scope.fn.lines
        if block.model == "functional":
            # The body runs on inputs of the nested model's own, shaped as the call's.
            many = len(inputs) > 1
            opening = [
                f"{INDENT}{mine} = keras.Input(shape={theirs}.shape[1:], name={prefix} + "
                f"{string(f'_input_{i + 1}' if many else '_input')})"
                for i, (theirs, mine) in enumerate(zip(inputs, scope.model_inputs))
            ]
            body = (
                opening
                + body
                + [
                    f"{INDENT}return keras.Model({_one_or_list(', '.join(scope.model_inputs))}, "
                    f"{_one_or_list(returned)}, name={prefix})"
                ]
            )
        elif block.model == "sequential":
            body = (
                [f"{INDENT}{scope.sequential} = keras.Sequential(name={prefix})"]
                + body
                + [f"{INDENT}return {scope.sequential}"]
            )
        else:
            body = body + [f"{INDENT}return {returned}"]
        return {
            "signature": f"def {self.function_names[block.name]}({', '.join(signature)}):",
            "doc": docstring_lines(block_doc(block, described), 1),
            "body": defaults + head + var_lines + body,
            "origins": scope.fn.origins,
        }

    def _block_body(self, block: Block, scope: _Scope) -> None:
        fn = scope.fn
        current = scope.inputs
        # Variables: x for the main (longest) branch and the result, shortcut for a second
        # branch, y for the block's own layers when branches follow them.
        for item in block.layers:
            current = self._item(item, current, "y" if block.branches else "x", scope, 1)
        after_layers = current
        conditional = any(b.when is not None for b in block.branches)
        non_empty = sorted(
            (b for b, branch in enumerate(block.branches) if branch.items),
            key=lambda b: -len(block.branches[b].items),
        )
        outputs = []
        if conditional:
            fn.add(f"{INDENT}{scope.var('branches')} = []")
        for b, branch in enumerate(block.branches):
            start = branch.start.value
            if start == "layers":
                start = after_layers
            elif start in scope.tensors:
                start = scope.tensors[start]
            else:
                choice = self._source(start, scope, current, branch.start)
                var = scope.var(f"start{b + 1}")
                fn.add(
                    f'{INDENT}{var} = {scope.inputs} if ({choice}) == "input" else {after_layers}'
                )
                start = var
            if non_empty and b == non_empty[0]:
                role = "x"
            elif len(non_empty) == 2 and b == non_empty[1]:
                role = "shortcut"
            else:
                role = f"branch{b + 1}"
            depth = 1
            if branch.when is not None:
                when = branch.when.value
                if isinstance(when, bool):
                    condition = repr(when)
                else:
                    text = when if is_expression(when) else "{{ " + when + " }}"
                    condition = self._source(text, scope, current, branch.when)
                fn.add(f"{INDENT}if {condition}:")
                depth = 2
            out = start
            for item in branch.items:
                out = self._item(item, out, role, scope, depth)
            out = out.split(", ")[0]  # a block's first output goes on
            if conditional:
                fn.add(f"{INDENT * depth}{scope.var('branches')}.append({out})")
            outputs.append(out)
        x = scope.var("x")
        # Every branch left out: the layers' output (the block's first input) goes on.
        passed_on = after_layers.split(", ")[0]
        all_conditional = all(
            b.when is not None and b.when.value is not True for b in block.branches
        )
        if block.merge is not None and conditional:
            branches = scope.var("branches")
            fn.add(f"{INDENT}if len({branches}) > 1:")
            self._layer(block.merge, [branches], "x", scope, 2, tail=f"({branches})")
            if all_conditional:
                fn.add(f"{INDENT}elif {branches}:")
                fn.add(f"{INDENT * 2}{x} = {branches}[0]")
                fn.add(f"{INDENT}else:")
                fn.add(f"{INDENT * 2}{x} = {passed_on}")
            else:
                fn.add(f"{INDENT}else:")
                fn.add(f"{INDENT * 2}{x} = {branches}[0]")
            current = x
        elif conditional:  # one branch, left out or not
            branches = scope.var("branches")
            fn.add(f"{INDENT}{x} = {branches}[0] if {branches} else {passed_on}")
            current = x
        elif block.merge is not None:
            current = self._layer(block.merge, outputs, "x", scope, 1)
        elif outputs:
            current = outputs[0]
        for item in block.after:
            current = self._item(item, current, "x", scope, 1)
        # a block returning named tensors, or a Sequential, has no result variable
        if current != x and block.outputs is None and block.model != "sequential":
            fn.add(f"{INDENT}{x} = {current}")


def call_tail(op: Op, inputs: list[str]) -> str:
    """How a layer's statement calls it on its inputs' variables: ``(x)``, ``([a, b])``
    (a merge), ``(query, value)``."""

    def source(argument) -> str:
        return f"[{', '.join(argument)}]" if isinstance(argument, list) else argument

    return f"({', '.join(source(a) for a in op.call_arguments(inputs))})"


def _defaults(defaults: dict) -> tuple[list[str], list[str]]:
    """Parameters with their defaults (lists as tuples), and the lines that set a mapping's:
    a mutable default would be shared between calls (ruff's B006), so it is None in the
    signature and made anew in the body."""
    parameters, lines = [], []
    for var, value in defaults.items():
        value = tuples(value)
        if isinstance(value, dict):
            parameters.append(f"{var}=None")
            lines += [f"{INDENT}if {var} is None:", f"{INDENT * 2}{var} = {literal(value)}"]
        else:
            parameters.append(f"{var}={literal(value)}")
    return parameters, lines


def _output_names(outputs: Arg | None) -> list[str]:
    if outputs is None:
        return []
    value = outputs.value
    if isinstance(value, str):
        return [value]
    return list(value.values()) if isinstance(value, dict) else list(value)


def _one_or_list(variables: str) -> str:
    """``x`` or ``[a, b]``: how Keras takes one tensor or several."""
    return f"[{variables}]" if ", " in variables else variables


def _error(where, exc) -> SpecError:
    """A located error: ``where`` is an Arg, an item, or None (the naming scheme)."""
    if where is None:
        return SpecError.of("codegen-error", Where("<naming scheme>"), detail=str(exc))
    path = getattr(where, "args_path", None) or where.path
    return SpecError.of("codegen-error", where.doc.where(path), detail=str(exc))


def generate(program: Program, source: str, session_names: bool = False):
    """The structured module of a Program (before layout), and each statement's item."""
    return Structured(program, source, session_names).module()
