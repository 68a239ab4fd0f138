"""TensorFlow, imported without its log lines.

On import and on first looking for devices, TensorFlow's native code writes a dozen
lines to the process's stderr (absl's "before InitializeLog", cuda drivers not found,
CPU instructions, cuInit failing on a machine without a GPU), below Python, where no
``logging`` setting reaches. The command line imports it here first, with file
descriptor 2 pointed at /dev/null for that moment, and asks its C++ logging for warnings
and errors only (``TF_CPP_MIN_LOG_LEVEL=2``, in archspec's own process only). It does
so at the moment archspec would import Keras anyway (``before_keras``, called where the
backends and training import it), so that a command failing before that imports
nothing. A library user's process is left alone: only the command line enables this.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys


@contextlib.contextmanager
def _stderr_discarded():
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


_enabled = False


@contextlib.contextmanager
def enabled():
    """While a command runs (unless --verbose), import TensorFlow quietly when it comes
    to it."""
    global _enabled
    _enabled = True
    try:
        yield
    finally:
        _enabled = False


def before_keras() -> None:
    """Import Keras, and TensorFlow when it is installed, and let it find its devices,
    without a line on stderr, if the command line enabled it. Nothing happens if the
    user set TF_CPP_MIN_LOG_LEVEL (they chose what to see) or if TensorFlow is already
    imported. An import that fails raises as usual, after stderr is restored."""
    if not _enabled or "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    with _stderr_discarded():
        if importlib.util.find_spec("tensorflow") is not None:
            import tensorflow as tf

            tf.config.list_physical_devices()  # where cuInit complains on a CPU machine
        if importlib.util.find_spec("keras") is not None:
            import keras  # noqa: F401 - its backend, imported now
