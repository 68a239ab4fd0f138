"""The Keras callbacks of ``archspec train``: the run's record, interrupts, the spec's own.

- ``Interrupts``: while ``fit`` runs, SIGINT and SIGTERM only set a flag; the watcher
  callback stops training at the end of the current batch by raising ``StopRequest``
  (no callback then sees a half epoch as a finished one), and ``fit`` saves where it
  stopped. A second signal stops at once.
- The recorder appends each finished epoch to the run's history, saves ``last.keras``,
  and prints one plain line per epoch where stdout is not a terminal.
- ``from_spec``: checkpoints, early stopping, learning rate on plateau, TensorBoard.

TensorFlow is imported by the caller; ``keras`` comes in as an argument.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time

from archspec.train.run import RunFolder


class StopRequest(Exception):
    """Raised inside ``fit`` at the end of a batch after SIGINT or SIGTERM."""


class Interrupted(KeyboardInterrupt):
    """Training stopped by a signal (``signum``); the command exits 130 (143 for SIGTERM)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Interrupts:
    """A context in which SIGINT and SIGTERM ask training to stop (``self.signum``)."""

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def _handler(self, signum, frame):
        if self.signum is not None:  # asked twice: stop now, saving nothing more
            self._restore()
            raise Interrupted(signum)
        self.signum = signum

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # only it can set handlers
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc):
        self._restore()
        return False


def watcher(keras, interrupts: Interrupts, position: dict):
    """Raise ``StopRequest`` after the batch during which a signal came; keep
    ``position`` (epoch, batches done in it) for the summary."""

    class Watch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            position.update(epoch=epoch, batches=0)

        def on_train_batch_end(self, batch, logs=None):
            position["batches"] = batch + 1
            if interrupts.signum is not None:
                raise StopRequest()

        def on_test_batch_end(self, batch, logs=None):  # validation counts too
            if interrupts.signum is not None:
                raise StopRequest()

    return Watch()


def _scalar(value) -> float:
    import numpy as np

    return float(np.asarray(value))


def epoch_line(row: dict, epochs: int) -> str:
    """``Epoch 2/5 - 1.3 s - loss: 0.5123 - accuracy: 0.81 - val_loss: ...``: one line,
    no terminal codes, for logs and files."""
    values = [f"{k}: {v:.4g}" for k, v in row.items() if k not in ("epoch", "seconds")]
    return " - ".join([f"Epoch {row['epoch']}/{epochs}", f"{row['seconds']:.1f} s", *values])


def recorder(keras, run: RunFolder, rows: list, *, epochs: int, save, out=None):
    """After every epoch: a history row (Keras's logs, the learning rate the epoch ended
    with, its seconds), history files rewritten, ``last.keras`` saved, and with ``out``
    the epoch's line. Goes first among the callbacks: it sees the logs before others
    add to them."""

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1}
            # loss first, then the metrics, then their validation values, as fit's
            # summary line reads
            for key in sorted(logs or {}, key=lambda k: (k.startswith("val_"), "loss" not in k)):
                row[key] = _scalar(logs[key])
            row["learning_rate"] = _scalar(self.model.optimizer.learning_rate)
            row["seconds"] = round(time.perf_counter() - self.start, 3)
            rows.append(row)
            run.write_history(rows)
            save(self.model, run.last_keras)
            if out is not None:
                out(epoch_line(row, epochs))

    return Record()


def monitor_of(written: str | None, validating: bool) -> str:
    """What a callback watches: as written, else ``val_loss`` (``loss`` without
    validation data)."""
    return written or ("val_loss" if validating else "loss")


def from_spec(keras, training, run: RunFolder, *, validating: bool, best_so_far=None) -> dict:
    """The spec's callbacks by key: ``best`` and ``every_epoch`` (``ModelCheckpoint``),
    ``early_stopping``, ``reduce_lr_on_plateau``, ``tensorboard``."""
    out = {}
    checkpoint = training.checkpoint
    if checkpoint.best:
        out["best"] = keras.callbacks.ModelCheckpoint(
            str(run.best_keras),
            monitor=monitor_of(checkpoint.monitor, validating),
            mode=checkpoint.mode,
            save_best_only=True,
            initial_value_threshold=best_so_far,  # a resumed run keeps its best
        )
    if checkpoint.every_epoch:
        run.checkpoints.mkdir(exist_ok=True)
        out["every_epoch"] = keras.callbacks.ModelCheckpoint(
            str(run.checkpoints / "epoch-{epoch:03d}.keras")
        )
    for key, class_name in (
        ("early_stopping", "EarlyStopping"),
        ("reduce_lr_on_plateau", "ReduceLROnPlateau"),
    ):
        config = getattr(training, key)
        if config is not None:
            args = config.model_dump()
            args["monitor"] = monitor_of(config.monitor, validating)
            out[key] = getattr(keras.callbacks, class_name)(**args)
    if training.tensorboard:
        out["tensorboard"] = keras.callbacks.TensorBoard(log_dir=str(run.tensorboard))
    return out


@contextlib.contextmanager
def closing(callbacks: dict):
    """TensorBoard's writers are closed at the end of training, even a stopped one."""
    try:
        yield
    finally:
        board = callbacks.get("tensorboard")
        if board is not None:
            with contextlib.suppress(Exception):
                board.on_train_end()
