"""Bounds that keep hostile or runaway specs from hanging archspec or exhausting memory.

Every limit is named in the error it raises ("limit max_layers"), and each can be
raised for one run with ``ARCHSPEC_LIMIT_<NAME>=value`` in the environment or
``--limit name=value`` on the command line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields

from archspec.diagnostics import quoted


@dataclass
class Limits:
    """The bounds on what archspec reads and computes; each can be raised by ``--limit``."""

    max_file_bytes: int = 2_000_000  # size of one spec or library file
    max_yaml_nodes: int = 50_000  # nodes after alias expansion ("billion laughs")
    max_nesting: int = 64  # depth of YAML nesting
    max_string: int = 10_000  # characters in one YAML string
    max_layers: int = 250_000  # layers and block calls expanded (kept or left out by when)
    max_repeat: int = 100_000  # repeat count of one stage entry ("identity x N")
    max_block_depth: int = 16  # blocks nested inside blocks
    max_expression: int = 2_000  # characters in one expression
    max_int: int = 10**12  # magnitude of any integer an expression computes
    max_imports: int = 64  # files pulled in by imports and extends
    max_model_bytes: int = 4_000_000_000  # a saved model file, and its members inflated
    max_model_config_bytes: int = 16_000_000  # a saved model's config.json (NASNetLarge: 1.07 MB)
    max_zip_directory_bytes: int = 1_000_000  # a .keras archive's list of members
    max_data_bytes: int = 4_000_000_000  # the arrays read from HDF5 training data

    def set(self, name: str, value: int | str) -> None:
        """Set a limit from a number or its text: ASCII digits (``_`` between them
        allowed), positive, at most MAX_LIMIT_DIGITS digits."""
        if name not in {f.name for f in fields(self)}:
            known = ", ".join(f.name for f in fields(self))
            raise ValueError(f"unknown limit {quoted(name)}; expected one of: {known}")
        text = str(value).strip()
        digits = text.replace("_", "")
        if not _NUMBER.fullmatch(text) or len(digits) > MAX_LIMIT_DIGITS or int(digits) <= 0:
            raise ValueError(
                f"limit {name} must be a positive integer of at most {MAX_LIMIT_DIGITS} "
                f"digits (0-9). Received: {quoted(text)}"
            )
        setattr(self, name, int(digits))


MAX_LIMIT_DIGITS = 18
# ASCII digits only: int() would also take Arabic-Indic or full-width digits
_NUMBER = re.compile(r"[0-9]+(?:_[0-9]+)*")
PREFIX = "ARCHSPEC_LIMIT_"


def _from_environment() -> tuple[Limits, list[str]]:
    """The limits, with ``ARCHSPEC_LIMIT_*`` applied; bad values and unknown names are
    kept as messages for the command line to report (raising here would fail ``import
    archspec``)."""
    limits, problems = Limits(), []
    for variable, value in sorted(os.environ.items()):
        if not variable.startswith(PREFIX) or not value:
            continue
        try:
            limits.set(variable[len(PREFIX) :].lower(), value)
        except ValueError as exc:
            shown = variable if len(variable) <= 60 else quoted(variable)
            problems.append(f"{shown}: {exc}")
    return limits, problems


LIMITS, ENVIRONMENT_PROBLEMS = _from_environment()
