"""Names as a spec writes them: the hint for one that matches nothing.

Every identifier archspec matches (layer and block kinds, keys, params, tensor names) is
ASCII. A name pasted from a web page or typed on another keyboard layout can hold a
letter that looks like an ASCII one and is not (a Cyrillic ``і`` in ``іdentity``) or an
invisible one (a zero-width space): a lookup fails and the name on screen looks right.
The hint then says which character it is, where, and what the name is in ASCII.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from archspec.diagnostics import close_match, did_you_mean

# Letters that look like ASCII ones and that NFKC leaves alone (it already maps fullwidth
# and compatibility forms: 'ｉ' → 'i', 'ﬁ' → 'fi'): Cyrillic and Greek, the usual ones.
_LOOKALIKES = {
    **dict(zip("аеорсухіјѕԁһӏԛԝ", "aeopcyxijsdhlqw", strict=True)),
    **dict(zip("АВЕКМНОРСТХІЈЅ", "ABEKMHOPCTXIJS", strict=True)),
    **dict(zip("οαινκρτυχ", "oaivkptux", strict=True)),
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
}
# Characters that show as nothing
_INVISIBLE = dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", "")


def _ascii_of(char: str) -> str | None:
    """The ASCII a character is taken for, or None if it looks like none."""
    if char in _INVISIBLE:
        return ""
    if char in _LOOKALIKES:
        return _LOOKALIKES[char]
    folded = unicodedata.normalize("NFKC", char)
    if folded.isascii() and folded.isprintable():
        return folded
    return None


def ascii_form(word: str) -> str | None:
    """``word`` with each look-alike character replaced by the ASCII it looks like, or None
    when a non-ASCII character in it looks like no ASCII one (or it is ASCII already)."""
    if word.isascii():
        return None
    out = []
    for char in word:
        if char.isascii():
            out.append(char)
            continue
        replacement = _ascii_of(char)
        if replacement is None:
            return None
        out.append(replacement)
    return "".join(out)


def non_ascii_note(word: str) -> str:
    """ "'і' (U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I) at position 1, which
    looks like 'i'" for the first non-ASCII character of ``word`` (positions 1-based), or
    nothing for an ASCII word."""
    for position, char in enumerate(word, 1):
        if char.isascii():
            continue
        name = unicodedata.name(char, "")
        described = f"U+{ord(char):04X}" + (f" {name}" if name else "")
        shown = repr(char) if char.isprintable() and char not in _INVISIBLE else "an invisible"
        looks = _ascii_of(char)
        like = (
            f", which looks like '{looks}'"
            if looks
            else (", which shows as nothing" if looks == "" else "")
        )
        others = sum(1 for c in word if not c.isascii()) - 1
        more = f" (and {others} more)" if others else ""
        return f"a non-ASCII character, {shown} ({described}) at position {position}{like}{more}"
    return ""


def name_hint(word, choices: Iterable[str], *, loose: bool = True) -> str:
    """The hint for a name that matches none of ``choices``: its non-ASCII character and
    the ASCII name it would be (when that is one of them, or close to one), else what
    diagnostics' did_you_mean (``loose``) or close_match says."""
    choices = list(choices)
    suggest = did_you_mean if loose else close_match
    if not isinstance(word, str) or word.isascii():
        return suggest(word, choices) if choices or loose else ""
    note = non_ascii_note(word)
    plain = ascii_form(word)
    if plain is not None and plain in choices:
        return f": it has {note}; did you mean '{plain}'?"
    if plain is not None:
        close = close_match(plain, choices)
        if close:
            return f": it has {note}{close}"
    return f": it has {note}; archspec's names are ASCII"
