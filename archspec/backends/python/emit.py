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
    ModuleNeeds,
    Namespace,
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
from archspec.core.ops.args import is_initializer
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
        for node in self.g.nodes:
            var = names[node.name] = ns.claim(node.name)
            if node.op == "input":
                body.append(
                    f"{INDENT}{var} = keras.Input(shape={literal(node.attrs['shape'])}, name={string(node.name)})"
                )
                continue
            inputs = [names[i] for i in node.inputs]
            tail = f"([{', '.join(inputs)}])" if OPS[node.op].merge else f"({inputs[0]})"
            body += call_lines(var, needs.callee(OPS[node.op]), self._args(node), tail, 1)
            origins.append(node.name)
        outputs = ", ".join(names[n] for n in self.g.outputs)
        inputs = ", ".join(names[n] for n in self.g.inputs)
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
