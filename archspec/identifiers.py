"""Names as a spec writes them: what to say of one with a non-ASCII character in it.

Every identifier archspec matches (layer and block kinds, keys, params, tensor names) is
ASCII. A name pasted from a web page or typed on another keyboard layout can hold a
letter that looks like an ASCII one and is not (a Cyrillic ``і`` in ``іdentity``) or an
invisible one (a zero-width space): a lookup fails and the name on screen looks right.
The hint then says which character it is, where, and what the name is in ASCII:
``diagnostics.did_you_mean`` and ``close_match`` give it for every lookup that fails.
"""

from __future__ import annotations

import unicodedata

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
