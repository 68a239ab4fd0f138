"""Scaling ``archspec train`` out with TensorFlow's own ``tf.distribute``.

``--strategy mirrored`` builds and compiles the model under ``MirroredStrategy`` (every
GPU, else every logical CPU), and ``multi-worker`` under ``MultiWorkerMirroredStrategy``
configured by ``TF_CONFIG``, which is checked before TensorFlow is imported. Only the
chief keeps the saved model. This module imports TensorFlow only inside functions.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from archspec.backends.keras.quiet import before_keras
from archspec.diagnostics import UsageError

STRATEGIES = ("default", "mirrored", "multi-worker")


def tf_config() -> dict:
    """``TF_CONFIG``, checked: a cluster of task lists and this process's task in it."""
    text = os.environ.get("TF_CONFIG")
    example = '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
    if not text:
        raise UsageError(
            f"--strategy multi-worker reads the cluster from TF_CONFIG, which is not set; e.g. TF_CONFIG='{example}'"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"TF_CONFIG is not JSON: {exc}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not all(
        isinstance(v, list) and v for v in cluster.values()
    ):
        raise UsageError(
            f"TF_CONFIG needs a 'cluster' mapping task types to lists of host:port, e.g. {example}"
        )
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise UsageError(
            f"TF_CONFIG needs a 'task' with a 'type' from its cluster ({', '.join(cluster)}). "
            f"Received: task={task!r}"
        )
    index = task.get("index", 0)
    if not isinstance(index, int) or not 0 <= index < len(cluster[task["type"]]):
        raise UsageError(
            f"TF_CONFIG task index must be 0 to {len(cluster[task['type']]) - 1} for "
            f"'{task['type']}'. Received: index={index!r}"
        )
    return config


def is_chief(config: dict | None) -> bool:
    """Whether this process keeps the saved model: the only one, the chief, or else worker 0."""
    if config is None:
        return True
    task = config["task"]
    if task["type"] == "chief":
        return True
    return (
        task["type"] == "worker" and task.get("index", 0) == 0 and "chief" not in config["cluster"]
    )


def make_strategy(name: str):
    """The ``tf.distribute`` strategy of ``--strategy``."""
    before_keras()
    import tensorflow as tf

    if name == "multi-worker":
        return _keras_multi_worker(tf, tf.distribute.MultiWorkerMirroredStrategy())
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    return tf.distribute.get_strategy()


def _keras_multi_worker(tf, strategy):
    """Keras 3's ``fit`` trips twice over MultiWorkerMirroredStrategy (keras-team/keras#20585):
    it reduces a whole ``(x, y)`` batch, which this strategy reduces only value by value
    (MirroredStrategy maps over the structure), and it averages scalar metrics with
    ``axis=0``. Patch this one strategy object to do both as MirroredStrategy does."""
    extended = strategy.extended
    reduce_to, reduce = extended._reduce_to, strategy.reduce

    def nested_reduce_to(reduce_op, value, destinations, options):
        return tf.nest.map_structure(
            lambda v: reduce_to(reduce_op, v, destinations, options), value
        )

    def scalar_reduce(reduce_op, value, axis=None):
        if axis is not None and all(
            v.shape.rank == 0 for v in strategy.experimental_local_results(value)
        ):
            axis = None  # a mean over replicas of per-replica scalars
        return reduce(reduce_op, value, axis=axis)

    extended._reduce_to = nested_reduce_to
    strategy.reduce = scalar_reduce
    return strategy


def describe_strategy(strategy) -> str:
    """``MirroredStrategy, 2 replicas (CPU:0, CPU:1)``."""
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"
    elif isinstance(strategy, tf.distribute.MirroredStrategy):
        name = "MirroredStrategy"
    else:
        return "default (one device)"
    devices = ", ".join(d.rsplit("device:", 1)[-1] for d in strategy.extended.worker_devices)
    return f"{name}, {strategy.num_replicas_in_sync} replica(s) ({devices})"


def save_on_chief(model, target: str, config: dict | None) -> str | None:
    """Save on the chief; other workers save to a scratch folder (every worker must take
    part in saving a distributed model) and delete it."""
    from archspec.files import save_model

    if is_chief(config):
        save_model(model, target)
        return target
    scratch = tempfile.mkdtemp(prefix="archspec-worker-")
    try:
        save_model(model, os.path.join(scratch, Path(target).name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return None
