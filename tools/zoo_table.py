"""The README's table of the keras.applications specs: each spec's parameters and
multiply-accumulates as `archspec check` computes them, beside the parameter count and
depth that keras.io publishes (docs/keras_io_applications.csv, quoted as published).

    python tools/zoo_table.py          # rewrite the table in README.md
    python tools/zoo_table.py --check  # exit 1 if it is stale (tests/test_docs.py too)
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import archspec
from archspec.core.cost import total_macs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PUBLISHED = ROOT / "docs" / "keras_io_applications.csv"
BEGIN = "<!-- the zoo's table: written by tools/zoo_table.py -->"
END = "<!-- end of the zoo's table -->"
# Sizes are any for these by default (Keras's input_shape=None); MACs are at 224x224.
ANY_SIZE_MACS_AT = [224, 224, 3]


def published() -> dict[str, dict]:
    lines = [line for line in PUBLISHED.read_text().splitlines() if not line.startswith("#")]
    return {row["model"]: row for row in csv.DictReader(lines)}


def _order(name: str, names: list[str]) -> tuple:
    # keras.io's order; a model it does not list goes after the listed one whose name
    # begins most like its own (MobileNetV3Small after MobileNetV2)
    if name in names:
        return (names.index(name), 0)
    common = [len(os.path.commonprefix([name, n])) for n in names]
    return (max(range(len(names)), key=lambda i: (common[i], i)), 1)


def table() -> str:
    quoted = published()
    names = list(quoted)
    graphs = [archspec.lower(p) for p in sorted((ROOT / "specs" / "keras").glob("*.yaml"))]
    graphs.sort(key=lambda g: _order(g.name, names))
    lines = [
        BEGIN,
        "| spec | `keras.applications` | input | parameters | MACs | keras.io: parameters, depth |",
        "|---|---|---|---:|---:|---|",
    ]
    for graph in graphs:
        shape = graph.node(graph.inputs[0]).shape
        if None in shape:
            sized = archspec.lower(_spec(graph), input_shape=ANY_SIZE_MACS_AT)
            macs = f"{total_macs(sized) / 1e9:.2f} G at 224×224"
            size = "any"
        else:
            macs = f"{total_macs(graph) / 1e9:.2f} G"
            size = "×".join(str(d) for d in shape[:2])
        row = quoted.get(graph.name)
        keras_io = f"{row['parameters']}, {row['depth']}" if row else "not listed"
        lines.append(
            f"| [`{_spec(graph)}`]({_spec(graph)}) | `{graph.name}` | {size} | "
            f"{graph.total:,} | {macs} | {keras_io} |"
        )
    return "\n".join([*lines, END])


def _spec(graph) -> str:
    return Path(graph.source).resolve().relative_to(ROOT).as_posix()


def main(argv: list[str]) -> int:
    text = README.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    fresh = text[:start] + table() + text[end:]
    if "--check" in argv:
        if fresh != text:
            print("README.md: the zoo's table is stale; run: python tools/zoo_table.py")
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
