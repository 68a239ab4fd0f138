"""Where the cursor is in a YAML document's text, for hover and completion: the word under
it, the mapping key it is inside (``conv2d`` in ``- conv2d: {filters: 4, |``, or a block
mode mapping's parent key), whether it is inside ``{{ }}``, and the key its value is for.

Text only, no parse: the document being typed is often not valid YAML.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY_LINE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?:#.*)?$")


def word_at(text: str, col: int) -> tuple[str, int] | None:
    """The identifier the column is on (or just after), and where it starts."""
    for m in _WORD.finditer(text):
        if m.start() <= col <= m.end():
            return m[0], m.start()
    return None


def _open_brackets(text: str) -> list[tuple[str, int]]:
    """The brackets still open at the end of ``text``, outermost first, with positions."""
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch in "[{":
            stack.append((ch, i))
        elif ch in "]}" and stack:
            stack.pop()
    return stack


def in_list_item(text: str, start: int) -> bool:
    """Whether the word at ``start`` is a list item: after ``- ``, or in a flow list."""
    before = text[:start]
    if re.search(r"(^|\s)-\s*$", before):
        return True
    stack = _open_brackets(before.replace("{{", "  ").replace("}}", "  "))
    return bool(stack) and stack[-1][0] == "[" and re.search(r"[\[,]\s*$", before) is not None


def in_template(before: str) -> bool:
    """Whether the text before the cursor ends inside an unclosed ``{{``."""
    return before.rfind("{{") > before.rfind("}}")


def enclosing_key(lines: list[str], line: int, col: int) -> str | None:
    """The key whose mapping the cursor is in: ``conv2d`` inside ``conv2d: {...`` on this
    line, else the key of the nearest less indented line above that opens a mapping."""
    before = lines[line][:col] if line < len(lines) else ""
    stack = _open_brackets(before.replace("{{", "  ").replace("}}", "  "))
    if stack:
        ch, at = stack[-1]
        m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*:\s*$", before[:at])
        return m[1] if ch == "{" and m else None
    indent = len(before) - len(before.lstrip()) if before.strip() else col
    for text in reversed(lines[:line]):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        own = len(text) - len(text.lstrip())
        if own < indent:
            m = _KEY_LINE.match(text)
            return m[1] if m else None
    return None


def value_key(before: str) -> str | None:
    """The key whose value the cursor is in on this line: ``optimizer`` in
    ``optimizer: ad|``, ``metrics`` in ``metrics: [accuracy, |``."""
    m = re.match(r"^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$", before)
    if not m:
        return None
    rest = m[2]
    if re.fullmatch(r"[A-Za-z0-9_]*", rest) or re.fullmatch(r"\[[^\]]*", rest):
        return m[1]
    return None
