"""The Python backend's entry: a spec's Program and graph become a module's source.

``structured`` (the default, ``structured.py``) writes one function per block kind and
a model function, from the Program; ``flat`` (here) writes one statement per IR node,
for line-by-line diffs, every value from the graph. Both are rendered by the templates
in ``templates/`` through the code writer (``writer.py``).
"""

from __future__ import annotations

from pathlib import Path

from archspec.backends.python import structured
from archspec.backends.python.docstrings import flat_doc, module_doc
from archspec.backends.python.writer import (
    INDENT,
    NAMED,
    ModuleNeeds,
    Namespace,
    arithmetic,
    call_lines,
    docstring_lines,
    initializer_source,
    module_namespace,
    render_module,
    same_except_version,
)
from archspec.core.elaborate import Program
from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS
from archspec.core.ops.args import is_initializer, is_nested_layer
from archspec.lang.to_python import literal, string

__all__ = ["generate", "module_path", "same_except_version"]


def generate(
    program: Program, graph: Graph, *, source: str, style: str = "structured"
) -> tuple[str, list[int]]:
    """The Python module of a spec (before layout), and the Program item of each layer
    or block statement in order (for the line map)."""
    if style == "flat":
        return _Flat(program, graph, source).module()
    if style != "structured":
        raise ValueError(f"unknown style '{style}'; expected structured or flat")
    return structured.generate(program, source, graph.session_names)


class _Flat:
    """One statement per IR node; every value comes from the graph."""

    def __init__(self, program: Program, graph: Graph, source: str):
        self.p, self.g, self.source = program, graph, source

    def module(self) -> tuple[str, list[str]]:
        module_ns = module_namespace()
        needs = ModuleNeeds()
        needs.import_classes(module_ns, (OPS[n.op] for n in self.g.nodes if n.op != "input"))
        function_name = module_ns.claim(self.g.name)
        ns: Namespace = module_ns.child()
        self.ns, self.needs = ns, needs
        self.names: dict[str, str] = {}  # node names → variables
        self.body: list[str] = []
        self.origins: list[str | tuple[str, ...]] = []
        # Layers called again outside a nested model's second call (which calls the model).
        replayed = {n for b in self.g.blocks if b.shares for n in b.nodes}
        self.shared = {n.shares for n in self.g.nodes if n.shares and n.name not in replayed}
        self.layer_vars: dict[str, str] = {}  # layers called more than once → variables
        self.model_vars: dict[str, str] = {}  # nested models by prefix → variables
        self._nodes(self.g.nodes, [b for b in self.g.blocks if b.model])
        names, body, origins = self.names, self.body, self.origins
        outputs = [names[n] for n in self.g.outputs]
        if self.g.output_keys is not None:
            outputs = (
                "{"
                + ", ".join(f"{string(k)}: {v}" for k, v in zip(self.g.output_keys, outputs))
                + "}"
            )
        else:
            outputs = outputs[0] if len(outputs) == 1 else f"[{', '.join(outputs)}]"
        inputs = [names[n] for n in self.g.inputs]
        inputs = inputs[0] if len(inputs) == 1 else f"[{', '.join(inputs)}]"
        body.append(
            f"{INDENT}return keras.Model({inputs}, {outputs}, name={string(self.g.model_name)})"
        )
        function = {
            "signature": f"def {function_name}():",
            "doc": docstring_lines(flat_doc(function_name, self.p.text, self.g.params), 1),
            "body": body,
        }
        digest = self.p.resolved.digest()
        doc = module_doc(function_name, self.source, self.p.text)
        source = render_module(self.source, digest, doc, [function], needs)
        return source, origins

    def _nodes(self, nodes, models: list) -> None:
        """One statement per node; a block built as a nested model is made where its
        first node is (its statements building the model), then called."""
        inside = {n for m in models for n in m.nodes}
        outer = [
            m
            for m in models
            if not any(m is not o and set(m.nodes) <= set(o.nodes) for o in models)
        ]
        owner = {n: m for m in outer for n in m.nodes}
        for node in nodes:
            model = owner.get(node.name)
            if model is not None:
                if node.name == model.nodes[0]:
                    inner = [
                        m for m in models if m is not model and set(m.nodes) <= set(model.nodes)
                    ]
                    self._model(model, inner)
                continue
            if node.name not in inside:
                self._node(node)

    def _model(self, block, inner: list) -> None:
        names, ns = self.names, self.ns
        if block.shares is None:
            model = self.model_vars[block.prefix] = ns.claim(f"{block.prefix}_model")
            members = [self.g.node(n) for n in block.nodes]
            if block.model == "sequential":
                self.body.append(f"{INDENT}{model} = keras.Sequential(name={string(block.prefix)})")
                for node in members:
                    args = ", ".join(self._args(node))
                    self.body.append(
                        f"{INDENT}{model}.add({self.needs.callee(OPS[node.op])}({args}))"
                    )
            else:
                outer = dict(names)
                many = len(block.inputs) > 1
                ins = []
                for i, name in enumerate(block.inputs):
                    source = self.g.node(name)
                    var = ns.claim(f"{block.prefix}_input")
                    label = f"{block.prefix}_input_{i + 1}" if many else f"{block.prefix}_input"
                    self.body.append(
                        f"{INDENT}{var} = keras.Input(shape={literal(source.shape)}, name={string(label)})"
                    )
                    names[name] = var
                    ins.append(var)
                self._nodes(members, inner)
                outs = ", ".join(names[o] for o in block.outputs)
                self.body.append(
                    f"{INDENT}{model} = keras.Model({_listed(', '.join(ins))}, {_listed(outs)}, name={string(block.prefix)})"
                )
                names.clear()
                names.update(outer)
        model = self.model_vars[block.shares or block.prefix]
        targets = ", ".join(ns.claim(o) for o in block.outputs)
        inputs = ", ".join(names[i] for i in block.inputs)
        self.body.append(f"{INDENT}{targets} = {model}({_listed(inputs)})")
        # A Sequential's layers are made by its .add lines and called here; a call again
        # makes the model's layers' nodes anew (tower_conv:1, ...).
        made = block.shares or block.model == "sequential"
        self.origins.append(tuple(block.nodes) if made else block.outputs[0])
        for name, var in zip(block.outputs, targets.split(", ")):
            names[name] = var

    def _node(self, node: Node) -> None:
        names, body, origins, ns, needs = self.names, self.body, self.origins, self.ns, self.needs
        var = names[node.name] = ns.claim(node.name)
        if node.op == "input":
            dtype = node.attrs.get("dtype")
            dtype = "" if dtype is None else f", dtype={string(dtype)}"
            body.append(
                f"{INDENT}{var} = keras.Input(shape={literal(node.attrs['shape'])}, name={string(node.name)}{dtype})"
            )
            return
        inputs = [names[i] for i in node.inputs]
        op = OPS[node.op]
        origins.append(node.name)
        if op.operation is not None:  # x + 3.0, under the node's name
            needs.use(NAMED)
            value = self._value_source(node.attrs[op.operation.operand])
            expression = arithmetic(inputs[0], op.operation.operator, value)
            body += call_lines(var, NAMED, [string(node.name), expression], "", 1)
            return
        tail = structured.call_tail(op, inputs)
        callee, args = needs.callee(op), self._args(node)
        if node.shares:
            body.append(f"{INDENT}{var} = {self.layer_vars[node.shares]}{tail}")
            return
        if node.name in self.shared:
            layer = self.layer_vars[node.name] = ns.claim(f"{node.name}_layer")
            body += call_lines(layer, callee, args, "", 1)
            body.append(f"{INDENT}{var} = {layer}{tail}")
            return
        body += call_lines(var, callee, args, tail, 1)

    def _args(self, node: Node) -> list[str]:
        """Every argument that differs from what Keras does when it is left out."""
        op = OPS[node.op]
        always = {k for k, f in op.args.model_fields.items() if f.is_required()} | set(op.implied)
        omitted = op.args.model_validate({k: node.attrs[k] for k in always}).model_dump()
        out = []
        for key, value in node.attrs.items():
            if key in always or omitted[key] != value:
                out.append(f"{key}={self._value_source(value)}")
        out.append(f"name={string(node.name)}")
        return out

    def _value_source(self, value) -> str:
        if is_initializer(value):
            return initializer_source(value)
        if is_nested_layer(value):  # every argument by keyword, as the flat style writes them
            op = OPS[value["kind"]]
            args = ", ".join(f"{k}={self._value_source(v)}" for k, v in value["args"].items())
            return f"{self.needs.stock(op.keras_class)}({args})"
        return literal(value)


def _listed(variables: str) -> str:
    return f"[{variables}]" if ", " in variables else variables


def module_path(spec: str | Path, out_dir: str | Path) -> Path:
    """Where a spec's module goes: ``specs/keras/resnet50.yaml`` → ``OUT/keras/resnet50.py``."""
    spec = Path(spec)
    parts = spec.with_suffix(".py").parts
    if "specs" in parts:
        parts = parts[len(parts) - parts[::-1].index("specs") :]
    else:
        parts = parts[-1:]
    return Path(out_dir, *parts)
