"""The Python backend's entry: a spec's Program and graph become a module's source.

``structured`` (the default, ``structured.py``) writes one function per block kind and
a model function, from the Program; ``flat`` (here) writes one statement per IR node,
for line-by-line diffs, every value from the graph. Both are rendered by the templates
in ``templates/`` through the code writer (``writer.py``).
"""

from __future__ import annotations

from pathlib import Path

from archspec.backends.python import structured
from archspec.backends.python.writer import (
    INDENT,
    NAMED,
    ModuleNeeds,
    Namespace,
    arithmetic,
    call_lines,
    comment_lines,
    initializer_source,
    module_namespace,
    render_module,
    same_except_version,
    tuples,
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
    return structured.generate(program, source)


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
        names: dict[str, str] = {}
        body: list[str] = []
        origins: list[str] = []
        shared = {n.shares for n in self.g.nodes if n.shares}
        layer_vars: dict[str, str] = {}  # layers called more than once → their variables
        for node in self.g.nodes:
            var = names[node.name] = ns.claim(node.name)
            if node.op == "input":
                dtype = node.attrs.get("dtype")
                dtype = "" if dtype is None else f", dtype={string(dtype)}"
                body.append(
                    f"{INDENT}{var} = keras.Input(shape={literal(node.attrs['shape'])}, name={string(node.name)}{dtype})"
                )
                continue
            inputs = [names[i] for i in node.inputs]
            op = OPS[node.op]
            if op.operation is not None:  # x + 3.0, under the node's name
                needs.use(NAMED)
                value = _value_source(node.attrs[op.operation.operand])
                expression = arithmetic(inputs[0], op.operation.operator, value)
                body += call_lines(var, NAMED, [string(node.name), expression], "", 1)
                origins.append(node.name)
                continue
            tail = structured.call_tail(op, inputs)
            callee, args = needs.callee(op), self._args(node)
            if node.shares:
                callee, args = layer_vars[node.shares], []
                body += [f"{INDENT}{var} = {callee}{tail}"]
                origins.append(node.name)
                continue
            if node.name in shared:
                layer = layer_vars[node.name] = ns.claim(f"{node.name}_layer")
                body += call_lines(layer, callee, args, "", 1)
                body += [f"{INDENT}{var} = {layer}{tail}"]
                origins.append(node.name)
                continue
            body += call_lines(var, callee, args, tail, 1)
            origins.append(node.name)
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
        params = ", ".join(f"{k}={literal(tuples(v))}" for k, v in self.g.params.items())
        function = {
            "signature": f"def {function_name}():",
            "doc": comment_lines(
                f"{self.p.text or ''}\nFlat form: one statement per layer, built with {params or 'no params'}.",
                1,
            ),
            "body": body,
        }
        digest = self.p.resolved.digest()
        source = render_module(self.source, digest, self.p.text, [function], needs)
        return source, origins

    @staticmethod
    def _args(node: Node) -> list[str]:
        """Every argument that differs from what Keras does when it is left out."""
        op = OPS[node.op]
        always = {k for k, f in op.args.model_fields.items() if f.is_required()} | set(op.implied)
        omitted = op.args.model_validate({k: node.attrs[k] for k in always}).model_dump()
        out = []
        for key, value in node.attrs.items():
            if key in always or omitted[key] != value:
                out.append(f"{key}={_value_source(value)}")
        out.append(f"name={string(node.name)}")
        return out


def _value_source(value) -> str:
    if is_initializer(value):
        return initializer_source(value)
    if is_nested_layer(value):  # every argument by keyword, as the flat style writes them
        op = OPS[value["kind"]]
        args = ", ".join(f"{k}={_value_source(v)}" for k, v in value["args"].items())
        return f"layers.{op.keras_class}({args})"
    return literal(value)


def module_path(spec: str | Path, out_dir: str | Path) -> Path:
    """Where a spec's module goes: ``specs/keras/resnet50.yaml`` → ``OUT/keras/resnet50.py``."""
    spec = Path(spec)
    parts = spec.with_suffix(".py").parts
    if "specs" in parts:
        parts = parts[len(parts) - parts[::-1].index("specs") :]
    else:
        parts = parts[-1:]
    return Path(out_dir, *parts)
