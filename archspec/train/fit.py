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

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from archspec.backends.keras.quiet import before_keras
from archspec.backends.keras.read import check_saved, short_message
from archspec.core.ir import Graph
from archspec.diagnostics import UsageError, did_you_mean
from archspec.files import STDIN, check_output
from archspec.frontend.loader import Document
from archspec.frontend.resolve import ResolvedSpec
from archspec.frontend.schema import LOSSES, METRICS, OPTIMIZERS, Training, split_named
from archspec.train import datasets as datamod
from archspec.train.distribute import (
    STRATEGIES,
    describe_strategy,
    make_strategy,
    save_on_chief,
    tf_config,
)
from archspec.train.objects import keras_object


@dataclass
class Result:
    """What a run measured: test loss and metrics, seconds per epoch, where it saved."""

    loss: float
    metrics: dict[str, float]
    epoch_seconds: list[float] = field(default_factory=list)
    saved: str | None = None
    model: object = None


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
            keras, "optimizer", training.optimizer, OPTIMIZERS, doc, ("training", "optimizer")
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


def _epoch_timer(keras, seconds: list):
    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


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


def train(
    resolved: ResolvedSpec,
    data_paths: list,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    strategy: str = "default",
    output: str | None = None,
    verbose: int = 1,
    out=print,
) -> Result:
    """Compile, fit and evaluate the spec's model on SIGNS-layout data, then save it."""
    from archspec.core.lowering import lower

    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy '{strategy}'" + did_you_mean(strategy, STRATEGIES))
    if output is not None and not str(output).endswith(".keras"):
        raise UsageError(f"{output}: the output must be a .keras file")
    graph = lower(resolved)
    input_shape, classes = model_io(graph)
    training = resolved.spec.training or Training()
    epochs = epochs or training.epochs
    batch_size = batch_size or training.batch_size
    data = datamod.load(data_paths)
    datamod.check_fits(data, input_shape, classes, hint=_input_hint(resolved, data))
    stem = graph.model_name if resolved.path == STDIN else Path(resolved.path).stem
    target = output or f"{stem}.keras"
    check_output(target)  # before training, not after it: never an input, nor a folder
    config = tf_config() if strategy == "multi-worker" else None

    _, keras = _keras()
    dist = make_strategy(strategy)  # first: a multi-worker strategy must precede other TF work
    if training.seed is not None:
        keras.utils.set_random_seed(training.seed)

    with dist.scope():
        model, policy = build(graph, training)
        compile_model(model, training, resolved.doc)
    sparse = training.sparse_labels
    # workers shard each batch by position, so they must shuffle alike
    shuffle_seed = training.seed if training.seed is not None or config is None else 0
    train_ds = make_dataset(
        data.train, classes, batch_size=batch_size, sparse=sparse, shuffle=True, seed=shuffle_seed
    )
    test_ds = make_dataset(data.test, classes, batch_size=batch_size, sparse=sparse, shuffle=False)
    shape = "×".join(map(str, data.train.x.shape[1:]))
    out(
        f"Training {graph.model_name} on {', '.join(data.files)}: {len(data.train)} train and "
        f"{len(data.test)} test images of {shape}, {classes} classes"
    )
    out(
        f"  optimizer {split_named(training.optimizer)[0]}, loss {split_named(training.loss)[0]}, "
        f"batch size {batch_size}, {epochs} epoch(s); strategy {describe_strategy(dist)}"
        + (f"; precision {policy}" if policy else "")
    )
    seconds: list[float] = []
    # shuffle=False: the dataset reshuffles itself every epoch
    model.fit(
        train_ds,
        epochs=epochs,
        verbose=verbose,
        shuffle=False,
        callbacks=[_epoch_timer(keras, seconds)],
    )
    out(
        f"Trained {epochs} epoch(s) in {sum(seconds):.1f} s ({sum(seconds) / len(seconds):.1f} s per epoch)"
    )
    loss, metrics = _evaluate(model, test_ds, verbose)
    report(loss, metrics, out)
    saved = save_on_chief(model, target, config)
    if saved:
        out(f"Saved {saved}")
    return Result(loss, metrics, seconds, saved, model)


def evaluate(
    target: str,
    data_paths: list,
    *,
    params: dict | None = None,
    batch_size: int | None = None,
    verbose: int = 1,
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
    loss, metrics = _evaluate(model, test_ds, verbose)
    report(loss, metrics, out)
    return Result(loss, metrics, model=model)
