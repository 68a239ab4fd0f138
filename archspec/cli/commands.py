"""The commands: one ``cmd_NAME(args) -> exit code`` per subcommand, each a thin call of
the public API; ``main`` turns what they raise into messages and exit codes.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

from archspec.cli.parser import build_parser, parse_sets
from archspec.diagnostics import SpecError, UsageError
from archspec.files import check_output, note_input


def use_color(stream=None) -> bool:
    """Colour and bold on a terminal; ``NO_COLOR`` (no-color.org) turns them off and
    ``FORCE_COLOR`` (force-color.org) on, each when set to anything but the empty
    string; NO_COLOR wins when both are."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return (stream or sys.stdout).isatty()


def _lower(args):
    from archspec.frontend.resolve import load

    return _lower_resolved(load(args.spec, parse_sets(args.sets)))


def _lower_resolved(resolved):
    from archspec.core.lowering import lower

    return lower(resolved)


def cmd_check(args) -> int:
    """``archspec check``: validate and lower a spec and print its summary."""
    from archspec.analysis.summary import as_json

    graph = _lower(args)
    if args.format == "json":
        print(json.dumps(as_json(graph, dtype=args.dtype, depth=args.depth), indent=2))
    else:
        print(_summary(graph, args), end="")
    return 0


def _summary(graph, args) -> str:
    from archspec.analysis.summary import render

    return render(graph, layers=args.layers, depth=args.depth, dtype=args.dtype, color=use_color())


def cmd_build(args) -> int:
    """``archspec build``: build the Keras model, print its summary, save it with ``-o``."""
    from archspec.backends.keras.build import build_model

    graph = _lower(args)
    if args.output:
        check_output(args.output)  # before the build: never an input, nor a folder
    model = build_model(graph)
    if args.output:
        from archspec.files import save_model

        save_model(model, args.output)
    print(_summary(graph, args), end="")
    if args.output:
        print(f"Saved {args.output}")
    return 0


def cmd_codegen(args) -> int:
    """``archspec codegen``: write the generated modules, or check them (``--check``)."""
    from archspec.backends.python import codegen as codegen

    if "-" in args.specs:
        raise UsageError("codegen names each module after its spec file; give a file, not -")
    from archspec.project import PROJECT

    specs = args.specs or codegen.discover(PROJECT.specs)
    if not specs:
        raise UsageError(f"no specs given and none found under {PROJECT.specs}/")
    output = args.output or PROJECT.generated
    modules = codegen.plan(specs, output, args.style)
    if args.check:
        drift = codegen.check(modules, output, extras=not args.specs)
        for item in drift:
            print(f"{item.path.as_posix()}: {item.why}", file=sys.stderr)
        if drift:
            print(
                f"{len(drift)} generated module(s) out of date; run: archspec codegen",
                file=sys.stderr,
            )
            return 1
        print(f"{len(modules)} generated module(s) up to date")
        return 0
    written = codegen.write(modules)
    for path in written:
        print(f"wrote {path.as_posix()}")
    print(f"{len(modules)} module(s), {len(written)} changed")
    return 0


def cmd_graph(args) -> int:
    """``archspec graph``: draw the model's diagram."""
    from archspec.analysis.draw import write

    path = write(_lower(args), args.output, layers=args.layers)
    print(f"wrote {path}")
    return 0


def cmd_render(args) -> int:
    """``archspec render``: print the resolved spec as YAML."""
    from archspec.analysis.render import render_yaml
    from archspec.core.elaborate import elaborate_file
    from archspec.core.lowering import lower

    program = elaborate_file(args.spec, parse_sets(args.sets))
    lower(program)  # a spec that does not lower is not rendered
    print(render_yaml(program), end="")
    return 0


def cmd_completion(args) -> int:
    """``archspec completion``: print the shell's completion script."""
    from archspec.cli.completion import script

    print(script(build_parser(), args.shell), end="")
    return 0


def cmd_schema(args) -> int:
    """``archspec schema``: write the JSON Schemas, or check them (``--check``)."""
    from pathlib import Path

    from archspec.analysis.json_schema import schemas
    from archspec.files import write_text

    stale = []
    for name, text in schemas(plugins=args.plugins).items():
        path = Path(args.output, name)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if args.check:
            if current != text:
                stale.append(path)
                print(f"{path.as_posix()}: {'stale' if current else 'missing'}", file=sys.stderr)
        elif current != text:
            write_text(path, text, make_folders=True)
            print(f"wrote {path.as_posix()}")
    return 1 if stale else 0


def cmd_train(args) -> int:
    """``archspec train``: fit the model of a spec to an HDF5 data set."""
    import signal

    from archspec.frontend.resolve import load
    from archspec.train.callbacks import Interrupted
    from archspec.train.fit import train

    try:
        train(
            load(args.spec, parse_sets(args.sets)),
            args.data,
            epochs=args.epochs,
            batch_size=args.batch_size,
            strategy=args.strategy,
            output=args.output,
            run_dir=args.run_dir,
            resume=args.resume,
            tensorboard=args.tensorboard,
        )
    except Interrupted as exc:
        if exc.signum == signal.SIGTERM:  # main's exit code for SIGTERM, 143
            from archspec.cli.main import Terminated  # main imports this module

            raise Terminated() from None
        raise
    return 0


def cmd_evaluate(args) -> int:
    """``archspec evaluate``: evaluate a saved model or a spec's on an HDF5 data set."""
    from archspec.train.fit import evaluate

    evaluate(args.model, args.data, params=parse_sets(args.sets), batch_size=args.batch_size)
    return 0


def cmd_data(args) -> int:
    """``archspec data``: write a data set in the seed's HDF5 layout (synthetic SIGNS, or
    scikit-learn's handwritten digits)."""
    if args.data_command == "digits":
        return _data_digits(args)
    from archspec.train.synthetic import write_synth_signs

    paths = write_synth_signs(
        args.output,
        train=args.train,
        test=args.test,
        size=args.size,
        seed=args.seed,
        pair=args.pair,
    )
    for path in paths:
        print(f"wrote {path.as_posix()}")
    print(
        f"{args.train} train and {args.test} test images of {args.size}x{args.size}x3, "
        "6 classes (hands raising 0 to 5 fingers)"
    )
    return 0


def _data_digits(args) -> int:
    from archspec.train.digits import write_digits

    path, (train, test) = write_digits(
        args.output, size=args.size, channels=args.channels, test=args.test, seed=args.seed
    )
    print(f"wrote {path.as_posix()}")
    print(
        f"{train} train and {test} test images of {args.size}x{args.size}x{args.channels}, "
        "10 classes (handwritten digits 0 to 9)"
    )
    return 0


def cmd_export(args) -> int:
    """``archspec export``: write a saved model or a spec's model as a SavedModel, TFLite
    or ONNX file."""
    from archspec.backends.keras.export import check_target, export, load_source
    from archspec.frontend.resolve import load

    # the output is checked before the model is built or loaded (as build does), the
    # input noted first so that it cannot be the output; export checks again after
    note_input(args.model)
    check_target(args.output, args.format, args.quantize)
    model = load_source(
        args.model, parse_sets(args.sets), lambda spec, params: _lower_resolved(load(spec, params))
    )
    path = export(model, args.format, args.output, quantize=args.quantize, source=args.model)
    how = {"float16": ", float16 weights", "dynamic": ", int8 weights (dynamic range)"}.get(
        args.quantize, ""
    )
    print(f"wrote {path.as_posix()} ({args.format}{how})")
    return 0


def cmd_diff(args) -> int:
    """``archspec diff``: compare two models; exit 0 identical, 1 different, 2 an error."""
    from archspec.analysis.diff.sources import diff

    if (args.b is None) == (args.against is None):
        raise UsageError("diff needs two models A and B, or one spec and --against REV")
    try:
        result = diff(
            args.a,
            args.b,
            against=args.against,
            params=parse_sets(args.sets),
            params_a=parse_sets(args.sets_a),
            params_b=parse_sets(args.sets_b),
            execute=args.execute,
        )
    except SpecError as exc:  # for diff an invalid spec is an error (2); 1 means "different"
        # main imports this module, so report (main's, as for every other command) is
        # imported on use, keeping the import graph one way
        from archspec.cli.main import report

        if args.traceback:
            traceback.print_exc()
        report(exc.problems, args.format)
        return 2
    if args.format == "json":
        print(json.dumps(result.as_json(), indent=2))
    else:
        print(result.render(layers=args.layers, color=use_color()), end="")
    return result.exit_code


def cmd_lsp(args) -> int:
    """``archspec lsp``: serve the Language Server Protocol on stdin and stdout."""
    try:
        from archspec.lsp.server import main
    except ImportError as exc:
        raise UsageError(f"archspec lsp needs pygls: pip install 'archspec[lsp]' ({exc})") from None
    return main()


COMMANDS = {
    "check": cmd_check,
    "build": cmd_build,
    "codegen": cmd_codegen,
    "diff": cmd_diff,
    "graph": cmd_graph,
    "schema": cmd_schema,
    "render": cmd_render,
    "completion": cmd_completion,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "data": cmd_data,
    "export": cmd_export,
    "lsp": cmd_lsp,
}
