"""Keras optimizers, losses and metrics from a spec's ``training`` section."""

from __future__ import annotations

import inspect

from archspec.diagnostics import did_you_mean
from archspec.frontend.schema import split_named


def keras_object(keras, kind: str, value, classes: dict, doc, path: tuple):
    """A Keras optimizer, loss or metric from its spec entry; bad arguments are spec errors
    at their line and column (a spec without ``training`` has no arguments to get wrong)."""
    name, args = split_named(value)
    class_name = classes[name]
    if class_name is None:  # "accuracy": Keras picks the accuracy that fits the labels
        return name
    module = {"optimizer": keras.optimizers, "loss": keras.losses, "metric": keras.metrics}[kind]
    cls = getattr(module, class_name)
    accepted = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    for key in args:
        if key not in accepted:
            raise doc.error(
                path + (name, key),
                f"unknown argument '{key}' of {kind} '{name}'" + did_you_mean(key, accepted),
                key=True,
            )
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        message = str(exc).rstrip(".")
        raise doc.error(path + (name,), f"{kind} '{name}': {message}. Received: {args}") from None
