"""Messages that used to mislead: each names what is really wrong, at the offending node.
(The corpus cases message_*.yaml check the codes and places through the command line.)"""

from __future__ import annotations

import pytest

from archspec.diagnostics import SpecError, did_you_mean
from archspec.frontend.loader import load_document
from archspec.identifiers import ascii_form, non_ascii_note


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_document("spec.yaml", text)
    return info.value


def test_a_python_tag_on_a_key_is_an_unsupported_tag():
    err = _error("name: M\nlayers:\n  ? !!python/module:os\n  : flatten\n")
    assert "unsupported YAML tag '!!python/module:os'" in str(err)
    assert "reads as a YAML" not in str(err)
    assert ":3:5:" in str(err)


@pytest.mark.parametrize("length", [1025, 1100, 5000])
def test_a_key_past_yamls_limit_is_a_limit_at_the_key(length):
    err = _error("name: M\n" + "k" * length + ": 1\n")
    assert "limit max_string" in str(err) and f"a key of {length:,} characters" in str(err)
    assert "YAML syntax" not in str(err) and ":2:1:" in str(err)


def test_a_key_within_yamls_limit_loads():
    assert load_document("spec.yaml", "k" * 1000 + ": 1\n").data == {"k" * 1000: 1}


def test_look_alikes():
    assert ascii_form("іdentity") == "identity"  # Cyrillic і
    assert ascii_form("ｒｅｌｕ") == "relu"  # fullwidth, by NFKC
    assert ascii_form("re\u200blu") == "relu"  # zero-width space
    assert ascii_form("relu") is None and ascii_form("re☃lu") is None
    note = non_ascii_note("іdentity")
    assert "U+0456" in note and "position 1" in note and "looks like 'i'" in note
    assert did_you_mean("іdentity", ["identity", "convolutional"]).endswith(
        "did you mean 'identity'?"
    )
    assert "names are ASCII" in did_you_mean("снег", ["identity"])
    assert did_you_mean("identiy", ["identity"]) == "; did you mean 'identity'?"  # as before
