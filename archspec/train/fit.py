"""``archspec train`` and ``archspec evaluate``: the seed's compile, fit and evaluate.

The seed tutorial compiles its ResNet-50 with ``adam``, ``categorical_crossentropy`` and
``accuracy``, fits two epochs of batch 32 on SIGNS scaled by 1/255 with one-hot labels,
and prints ``Loss = ...`` and ``Test Accuracy = ...``. Here the spec's ``training``
section says how to compile and fit; everything that can be wrong with the spec or the
data is checked before TensorFlow is imported, so a bad file never costs a TF start.

Strategies (``--strategy``) are in ``distribute``; ``batch_size`` is the global batch,
as in ``model.fit``, and each replica gets its share. The optimizer, loss and metrics
come from ``objects``. This module imports TensorFlow only inside functions.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from archspec.backends.keras.quiet import before_keras
from archspec.backends.keras.read import check_saved, short_message
from archspec.core.ir import Graph
from archspec.diagnostics import UsageError, did_you_mean
from archspec.files import STDIN, check_output, save_model, write_text
from archspec.frontend.loader import Document
from archspec.frontend.resolve import ResolvedSpec
from archspec.frontend.schema import LOSSES, METRICS, OPTIMIZERS, Training, split_named
from archspec.frontend.training import SCHEDULES
from archspec.train import curves
from archspec.train import datasets as datamod
from archspec.train.callbacks import (
    Interrupted,
    Interrupts,
    StopRequest,
    from_spec,
    recorder,
    watcher,
)
from archspec.train.distribute import (
    STRATEGIES,
    describe_strategy,
    is_chief,
    make_strategy,
    save_on_chief,
    tf_config,
)
from archspec.train.objects import keras_object
from archspec.train.run import RunFolder, default_run_dir


@dataclass
class Result:
    """What a run measured: test loss and metrics, seconds per epoch, where it saved."""

    loss: float
    metrics: dict[str, float]
    epoch_seconds: list[float] = field(default_factory=list)
    saved: str | None = None
    model: object = None
    run: Path | None = None  # the run folder
    history: list[dict] = field(default_factory=list)  # its history rows


def _keras():
    before_keras()
    import keras
    import tensorflow as tf

    return tf, keras


# ---- checks before TensorFlow --------------------------------------------------------------


def model_io(graph: Graph) -> tuple[tuple, int]:
    """The input shape (without the batch axis) and the number of classes of a graph."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UsageError(
            f"archspec train needs a model with one input and one output; '{graph.model_name}' "
            f"has {len(graph.inputs)} and {len(graph.outputs)}"
        )
    nodes = {node.name: node for node in graph.nodes}
    out = nodes[graph.outputs[0]].output_shape
    if len(out) != 2 or not out[1]:
        raise UsageError(
            f"archspec train needs an output of shape (None, classes); '{graph.model_name}' "
            f"gives {out}"
        )
    return tuple(nodes[graph.inputs[0]].attrs["shape"]), int(out[1])


def _input_hint(resolved: ResolvedSpec, data: datamod.Dataset) -> str:
    if "input_shape" not in resolved.params:
        return ""
    shape = list(data.test.x.shape[1:])
    return f" (the spec's param input_shape; try --set input_shape={json.dumps(shape).replace(' ', '')})"


# ---- the model -----------------------------------------------------------------------------------


def compile_model(model, training: Training, doc: Document) -> None:
    """``model.compile`` with the training section's optimizer, loss and metrics."""
    _, keras = _keras()
    model.compile(
        optimizer=keras_object(
            keras,
            "optimizer",
            _schedule(keras, training),
            OPTIMIZERS,
            doc,
            ("training", "optimizer"),
        ),
        loss=keras_object(keras, "loss", training.loss, LOSSES, doc, ("training", "loss")),
        metrics=[
            keras_object(keras, "metric", m, METRICS, doc, ("training", "metrics", i))
            for i, m in enumerate(training.metrics)
        ],
    )


def build(graph: Graph, training: Training):
    """The graph's Keras model, under mixed precision if the training section asks:
    float16 on GPUs, bfloat16 elsewhere (CPUs compute float16 slowly). The output layer
    stays float32, for a stable softmax and loss. Returns the model and its policy."""
    import tensorflow as tf
    from keras import config

    from archspec.backends.keras.build import build_model

    if not training.mixed_precision:
        return build_model(graph), None
    policy = "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"
    previous = config.dtype_policy()
    config.set_dtype_policy(policy)
    try:
        model = build_model(graph)
    finally:
        config.set_dtype_policy(previous)
    for name in graph.outputs:
        model.get_layer(name).dtype_policy = "float32"
    return model, policy


# ---- data pipeline --------------------------------------------------------------------------------


def make_dataset(
    split: datamod.Split, classes: int, *, batch_size: int, sparse: bool, shuffle: bool, seed=None
):
    """Batches of pixels scaled by 1/255 and labels one-hot encoded (or class indices, for
    a sparse loss), sharded by batch across workers."""
    tf, _ = _keras()
    ds = tf.data.Dataset.from_tensor_slices((split.x, split.y))
    if shuffle:  # as model.fit shuffles arrays: a new order every epoch
        ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)

    def prepare(x, y):
        x = tf.cast(x, tf.float32) / 255.0
        return x, (y if sparse else tf.one_hot(y, classes))

    ds = (
        ds.batch(batch_size)
        .map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def report(loss: float, metrics: dict, out=print) -> None:
    """The seed's last lines: ``Loss = ...``, ``Test Accuracy = ...``."""
    out(f"Loss = {loss}")
    for name, value in metrics.items():
        out(f"Test {name.replace('_', ' ').title()} = {value}")


def _evaluate(model, ds, verbose) -> tuple[float, dict]:
    results = model.evaluate(ds, return_dict=True, verbose=verbose)
    results = {k: float(v) for k, v in results.items()}
    return results.pop("loss"), results


# ---- the commands -------------------------------------------------------------------------------


def progress(verbose: int | None, stream=None) -> tuple[int, bool]:
    """Keras's ``verbose`` and whether archspec prints its own line per epoch: the
    progress bar on a terminal; elsewhere (a file, a pipe, CI logs) one plain line per
    epoch, as the bar's carriage returns and colours make one huge line of a file."""
    if verbose is not None:
        return verbose, False
    stream = stream or sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    return (1, False) if tty else (0, True)


def _schedule(keras, training: Training):
    """The training section's optimizer, with its learning-rate schedule if it has one:
    the schedule starts from the optimizer's learning_rate unless it gives its own."""
    if training.learning_rate_schedule is None:
        return training.optimizer
    name, args = split_named(training.optimizer)
    key, schedule = training.learning_rate_schedule.named
    kwargs = schedule.model_dump()
    if "initial_learning_rate" in kwargs and kwargs["initial_learning_rate"] is None:
        default = inspect.signature(getattr(keras.optimizers, OPTIMIZERS[name])).parameters
        kwargs["initial_learning_rate"] = args.pop(
            "learning_rate", default["learning_rate"].default
        )
    schedule_class = getattr(keras.optimizers.schedules, SCHEDULES[key])
    return {name: {**args, "learning_rate": schedule_class(**kwargs)}}


def _same_model(run: RunFolder, spec_text: str, spec_path: str) -> None:
    """``--resume`` continues the run's model: the resolved spec must be the one in the
    run folder, but for ``training.epochs``."""

    def comparable(text: str) -> dict:
        data = yaml.safe_load(text) or {}
        data.get("training", {}).pop("epochs", None)
        return data

    saved = comparable(run.spec_yaml.read_text(encoding="utf-8"))
    now = comparable(spec_text)
    if saved != now:
        keys = sorted(k for k in {*saved, *now} if saved.get(k) != now.get(k))
        raise UsageError(
            f"{spec_path}: cannot resume {run.path}: the spec differs from {run.spec_yaml} "
            f"in {', '.join(keys)} (only training.epochs and --epochs may change)"
        )


def _best(callback, rows: list[dict]) -> dict | None:
    """The best epoch by the checkpoint's monitor, by Keras's own rule (its ``best``)."""
    if callback is None or callback.best is None:
        return None
    value = float(callback.best)
    epochs = [r["epoch"] for r in rows if math.isclose(r.get(callback.monitor, math.nan), value)]
    return {"monitor": callback.monitor, "value": value, "epoch": epochs[0] if epochs else None}


def train(
    resolved: ResolvedSpec,
    data_paths: list,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    strategy: str = "default",
    output: str | None = None,
    run_dir: str | None = None,
    resume: str | None = None,
    tensorboard: bool = False,
    verbose: int | None = None,
    out=print,
) -> Result:
    """Compile, fit and evaluate the spec's model on SIGNS-layout data, save it, and keep
    the run's record in its run folder (``run``); ``resume`` continues a run folder."""
    from archspec.analysis.render import render_yaml
    from archspec.core.elaborate import elaborate
    from archspec.core.lowering import lower

    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy '{strategy}'" + did_you_mean(strategy, STRATEGIES))
    if output is not None and not str(output).endswith(".keras"):
        raise UsageError(f"{output}: the output must be a .keras file")
    if resume is not None and run_dir is not None and Path(resume) != Path(run_dir):
        raise UsageError("--resume continues its own run folder; give --run-dir only without it")
    program = elaborate(resolved)
    graph = lower(program)
    input_shape, classes = model_io(graph)
    training = resolved.spec.training or Training()
    if tensorboard:
        training = training.model_copy(update={"tensorboard": True})
    if training.tensorboard and importlib.util.find_spec("tensorboard") is None:
        # TensorFlow writes summaries only through it, and no longer always installs it
        raise UsageError(
            "TensorBoard logs (--tensorboard, training.tensorboard) need the tensorboard "
            "package: pip install 'archspec[tensorboard]'"
        )
    epochs = epochs or training.epochs
    batch_size = batch_size or training.batch_size
    data = datamod.load(data_paths)
    if training.validation_split is not None:
        if data.val is not None:
            raise resolved.doc.error(
                ("training", "validation_split"),
                f"the data has a validation set (val_set_x, val_set_y in {data.val.file}); "
                "give validation_split or the set, not both",
            )
        data = datamod.split_validation(data, training.validation_split)
    datamod.check_fits(data, input_shape, classes, hint=_input_hint(resolved, data))
    validating = data.val is not None
    for key, monitor in training.monitors().items():
        if monitor and monitor.startswith("val_") and not validating:
            raise resolved.doc.error(
                ("training", key, "monitor"),
                f"{key} monitors '{monitor}', but there is no validation data: set "
                "training.validation_split, or put val_set_x and val_set_y in the data",
            )
    stem = graph.model_name if resolved.path == STDIN else Path(resolved.path).stem
    target = output or f"{stem}.keras"
    check_output(target)  # before training, not after it: never an input, nor a folder
    spec_text = render_yaml(program)
    run = RunFolder(Path(resume or run_dir or default_run_dir(target)))
    done: list[dict] = []
    best_so_far = None
    if resume is not None:
        done, previous = run.previous()
        _same_model(run, spec_text, str(resolved.path))
        if len(done) >= epochs:
            raise UsageError(
                f"{run.path} has trained {len(done)} of {epochs} epoch(s); give --epochs "
                f"above {len(done)} to train on"
            )
        best_so_far = (previous.get("best") or {}).get("value")
    config = tf_config() if strategy == "multi-worker" else None
    chief = is_chief(config)
    if not chief:  # every worker takes part in saving; only the chief keeps a run folder
        run = RunFolder(Path(tempfile.mkdtemp(prefix="archspec-worker-run-")))
    elif resume is None:
        run.start()
    write_text(run.spec_yaml, spec_text)

    _, keras = _keras()
    dist = make_strategy(strategy)  # first: a multi-worker strategy must precede other TF work
    if training.seed is not None:
        keras.utils.set_random_seed(training.seed)

    policy = None
    with dist.scope():
        if resume is not None:  # the full checkpoint: weights, optimizer state, compile
            try:
                model = keras.models.load_model(run.last_keras)
            except Exception as exc:  # noqa: BLE001 - any failure to load is an unreadable file
                raise UsageError(
                    f"{run.last_keras}: cannot load the checkpoint: {short_message(exc)}"
                ) from None
        else:
            model, policy = build(graph, training)
            compile_model(model, training, resolved.doc)
    sparse = training.sparse_labels
    # workers shard each batch by position, so they must shuffle alike
    shuffle_seed = training.seed if training.seed is not None or config is None else 0
    train_ds = make_dataset(
        data.train, classes, batch_size=batch_size, sparse=sparse, shuffle=True, seed=shuffle_seed
    )
    test_ds = make_dataset(data.test, classes, batch_size=batch_size, sparse=sparse, shuffle=False)
    val_ds = None
    if validating:
        val_ds = make_dataset(
            data.val, classes, batch_size=batch_size, sparse=sparse, shuffle=False
        )
    shape = "×".join(map(str, data.train.x.shape[1:]))
    validation = f", {len(data.val)} validation" if validating else ""
    out(
        f"Training {graph.model_name} on {', '.join(data.files)}: {len(data.train)} train"
        f"{validation} and {len(data.test)} test images of {shape}, {classes} classes"
    )
    out(
        f"  optimizer {split_named(training.optimizer)[0]}, loss {split_named(training.loss)[0]}, "
        f"batch size {batch_size}, {epochs} epoch(s); strategy {describe_strategy(dist)}"
        + (f"; precision {policy}" if policy else "")
    )
    out(f"  run folder {run.path}" + (f", from epoch {len(done) + 1}" if resume else ""))
    keras_verbose, lines = progress(verbose)
    rows = list(done)
    position: dict = {}
    spec_callbacks = from_spec(keras, training, run, validating=validating, best_so_far=best_so_far)

    def line(text: str) -> None:
        out(text)
        sys.stdout.flush()  # a pipe reads each epoch as it ends

    callbacks = [
        recorder(keras, run, rows, epochs=epochs, save=save_model, out=line if lines else None),
        *spec_callbacks.values(),
        watcher(keras, interrupts := Interrupts(), position),
    ]
    summary = {
        "model": graph.model_name,
        "spec": str(resolved.path),
        "data": list(data.files),
        "status": "running",
        "epochs": epochs,
        "batch_size": batch_size,
        "validation": (
            None
            if not validating
            else {
                "images": len(data.val),
                "from": "validation_split" if training.validation_split else "val_set",
            }
        ),
    }
    if resume is not None:
        summary["resumed_at_epoch"] = len(done) + 1

    def finish(status: str, **more) -> None:
        summary.update(status=status, epochs_completed=len(rows), **more)
        summary["best"] = _best(spec_callbacks.get("best"), rows)
        summary["seconds"] = round(sum(r.get("seconds", 0) for r in rows), 3)
        if rows and chief:
            curves.draw(rows, run.curves_png, title=graph.model_name)
        run.write_summary(summary)

    if chief:  # a run killed outright (SIGKILL, power) still says what it was
        run.write_summary({**summary, "epochs_completed": len(done)})
    try:
        with interrupts:
            try:
                # shuffle=False: the dataset reshuffles itself every epoch
                model.fit(
                    train_ds,
                    validation_data=val_ds,
                    epochs=epochs,
                    initial_epoch=len(done),
                    verbose=keras_verbose,
                    shuffle=False,
                    callbacks=callbacks,
                )
            except StopRequest:
                if "tensorboard" in spec_callbacks:
                    spec_callbacks["tensorboard"].on_train_end()  # close its writers
                save_model(model, run.last_keras)
                name = signal.Signals(interrupts.signum).name
                finish(
                    "interrupted",
                    interrupted={
                        "signal": name,
                        "epoch": position.get("epoch", len(rows)) + 1,
                        "batches": position.get("batches", 0),
                    },
                )
                print(
                    f"archspec: {name}: stopped in epoch {position.get('epoch', 0) + 1} after "
                    f"batch {position.get('batches', 0)}; saved the checkpoint "
                    f"{run.last_keras} and the run so far in {run.path}; continue with "
                    f"--resume {run.path}",
                    file=sys.stderr,
                )
                raise Interrupted(interrupts.signum) from None
    except Interrupted:
        if summary["status"] == "running":  # a second signal: no checkpoint of this batch
            finish("interrupted", interrupted={"signal": "repeated", "saved": str(run.last_keras)})
        raise
    new = rows[len(done) :]
    seconds = [r["seconds"] for r in new]
    stopper = spec_callbacks.get("early_stopping")
    stopped_early = stopper is not None and stopper.stopped_epoch > 0 and len(rows) < epochs
    out(
        f"Trained {len(new)} epoch(s) in {sum(seconds):.1f} s "
        f"({sum(seconds) / max(len(seconds), 1):.1f} s per epoch)"
        + (f"; early stopping after epoch {len(rows)}" if stopped_early else "")
    )
    loss, metrics = _evaluate(model, test_ds, keras_verbose)
    report(loss, metrics, out)
    saved = save_on_chief(model, target, config)
    if saved:
        _keep_final(saved, run.model_keras)
    finish("stopped early" if stopped_early else "completed", test={"loss": loss, **metrics})
    if not chief:
        shutil.rmtree(run.path, ignore_errors=True)
    if saved:
        out(f"Saved {saved} (run folder {run.path})")
    return Result(loss, metrics, seconds, saved, model, run.path if chief else None, rows)


def _keep_final(saved: str, final: Path) -> None:
    """The run folder's final model is the saved one: a hard link where the two share a
    file system (a ResNet-50 with Adam's state is 280 MB), else a copy."""
    final.unlink(missing_ok=True)
    try:
        os.link(saved, final)
    except OSError:
        shutil.copyfile(saved, final)


def evaluate(
    target: str,
    data_paths: list,
    *,
    params: dict | None = None,
    batch_size: int | None = None,
    verbose: int | None = None,
    out=print,
) -> Result:
    """Evaluate a saved ``.keras`` model, or a spec's freshly built one, on the test split."""
    is_model = str(target).endswith(".keras")
    if is_model:
        if params:
            raise UsageError("--set applies to specs; a saved model's params are fixed")
        check_saved(target)  # before the data is read and TensorFlow started
    data = datamod.load(data_paths, train=False)
    if is_model:
        training, resolved = None, None
    else:
        from archspec.core.lowering import lower
        from archspec.frontend.resolve import load

        resolved = load(target, params or {})
        graph = lower(resolved)
        input_shape, classes = model_io(graph)
        datamod.check_fits(data, input_shape, classes, hint=_input_hint(resolved, data))
        training = resolved.spec.training or Training()

    _, keras = _keras()
    if is_model:
        try:
            model = keras.models.load_model(target)
        except Exception as exc:  # noqa: BLE001 - any failure to load is an unreadable file
            raise UsageError(f"{target}: cannot load the model: {short_message(exc)}") from None
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise UsageError(
                f"{target}: archspec evaluate needs a model with one input and one output"
            )
        classes = int(model.output_shape[-1])
        datamod.check_fits(data, tuple(model.input_shape[1:]), classes)
        if not model.compiled:
            print(
                f"archspec: note: {target} was saved without a loss; evaluating with "
                "categorical_crossentropy and accuracy",
                file=sys.stderr,
            )
            model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
        sparse = "sparse" in str(getattr(model.loss, "name", model.loss))
        batch_size = batch_size or 32
    else:
        if training.seed is not None:
            keras.utils.set_random_seed(training.seed)
        model, _ = build(graph, training)
        compile_model(model, training, resolved.doc)
        sparse = training.sparse_labels
        batch_size = batch_size or training.batch_size
    test_ds = make_dataset(data.test, classes, batch_size=batch_size, sparse=sparse, shuffle=False)
    loss, metrics = _evaluate(model, test_ds, progress(verbose)[0])
    report(loss, metrics, out)
    return Result(loss, metrics, model=model)
