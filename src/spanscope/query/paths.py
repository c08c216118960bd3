"""Key and JSON-path syntax shared by filters, order-by entries and extract fields.

A path is a sequence of segments: ``str`` keys, ``int`` indexes (negative ones count from the end),
``[*]`` (every element of a list: :data:`EVERY`) and ``[?key = value]`` / ``[?key != value]`` (the elements
whose ``key`` has that value: a :class:`Where`). A path with ``[*]`` or ``[?…]`` selects many values; a filter
comparison on it matches when *any* of them satisfies it, an index after a filter picks among the matches
(``messages[?role='user'][-1]`` is the last user message).

    messages[-1].content          -> ("messages", -1, "content")
    messages[*].content           -> ("messages", EVERY, "content")
    messages[?role='user'][-1]    -> ("messages", Where("role", "=", "user"), -1)
    choices[0].message.content    -> ("choices", 0, "message", "content")
    `gen_ai.request.model`        -> ("gen_ai.request.model",)
    ["key with spaces"].x         -> ("key with spaces", "x")

Inside backticks a doubled backtick stands for one; inside a bracketed string the quote is escaped by
doubling it or with a backslash.
"""

from __future__ import annotations

from typing import Any

from spanscope.query.errors import FilterSyntaxError


class _Every:
    __slots__ = ()

    def __repr__(self) -> str:
        return "EVERY"


EVERY: Any = _Every()


class Where(tuple):  # noqa: SLOT001 - a plain immutable value
    """``[?key = value]``: keep the list elements whose ``key`` equals (``=``) or differs from (``!=``) value."""

    __slots__ = ()

    def __new__(cls, key: str, op: str, value: Any) -> Where:
        return super().__new__(cls, (key, op, value))

    @property
    def key(self) -> str:
        return self[0]

    @property
    def op(self) -> str:
        return self[1]

    @property
    def value(self) -> Any:
        return self[2]

    def accepts(self, element: Any) -> bool:
        if not isinstance(element, dict) or self.key not in element:
            return False
        equal = (
            element[self.key] == self.value
            and type(element[self.key]) is not bool
            or (isinstance(element[self.key], bool) and element[self.key] is self.value)
        )
        return equal if self.op == "=" else not equal


JsonPath = tuple[Any, ...]


def is_multi(path: JsonPath) -> bool:
    """True when ``path`` selects many values (it has ``[*]`` or ``[?…]``)."""
    return any(seg is EVERY or isinstance(seg, Where) for seg in path)


_MISSING: Any = object()


def read_backticked(text: str, start: int) -> tuple[str, int]:
    """Read a backtick-quoted name whose opening backtick is at ``text[start]``.

    Returns the name and the index just past the closing backtick.
    """
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "`":
            if text.startswith("``", i):
                out.append("`")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise FilterSyntaxError("unterminated backtick-quoted name starting", start + 1, "close it with '`'")


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a '…' or "…" string whose opening quote is at ``text[start]``.

    The quote is escaped by doubling it or with a backslash; ``\\\\`` is one backslash; any other
    backslash is kept as written (so LIKE patterns keep theirs). Returns the value and the index just
    past the closing quote.
    """
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in ("\\", "'", '"'):
            out.append(text[i + 1])
            i += 2
        elif ch == quote:
            if text.startswith(quote * 2, i):
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise FilterSyntaxError("unterminated string starting", start + 1, f"close it with {quote}")


def _read_where(text: str, i: int) -> tuple[Where, int]:
    """``key = literal]`` / ``key != literal]`` after ``[?`` (the literal: a quoted string, number, true/false)."""

    def skip(k: int) -> int:
        while k < len(text) and text[k] == " ":
            k += 1
        return k

    i = skip(i)
    if i < len(text) and text[i] == "`":
        key, i = read_backticked(text, i)
    elif i < len(text) and text[i] in ("'", '"'):
        key, i = read_quoted(text, i)
    else:
        j = i
        while j < len(text) and (text[j].isalnum() or text[j] in "_-"):
            j += 1
        key, i = text[i:j], j
    if not key:
        raise FilterSyntaxError("expected a key after '[?'", i + 1, "for example [?role = 'user']")
    i = skip(i)
    if text.startswith("!=", i):
        op, i = "!=", i + 2
    elif text.startswith("=", i):
        op, i = "=", i + 1 + (1 if text.startswith("==", i) else 0)
    else:
        raise FilterSyntaxError("expected '=' or '!=' in '[?…]'", i + 1, "for example [?role = 'user']")
    i = skip(i)
    value: Any
    if i < len(text) and text[i] in ("'", '"'):
        value, i = read_quoted(text, i)
    else:
        j = i
        while j < len(text) and text[j] not in " ]":
            j += 1
        word = text[i:j]
        if word.lower() in ("true", "false"):
            value = word.lower() == "true"
        else:
            try:
                value = int(word)
            except ValueError:
                try:
                    value = float(word)
                except ValueError:
                    raise FilterSyntaxError(
                        "expected a quoted string, a number, true or false in '[?…]'", i + 1
                    ) from None
        i = j
    i = skip(i)
    if i >= len(text) or text[i] != "]":
        raise FilterSyntaxError("expected ']'", i + 1)
    return Where(key, op, value), i + 1


def _read_bracket(text: str, start: int) -> tuple[Any, int]:
    """Read ``[<int>]`` or ``["key"]`` starting at the '[' at ``text[start]``."""
    i = start + 1
    if i < len(text) and text[i] == "*":
        i += 1
        if i >= len(text) or text[i] != "]":
            raise FilterSyntaxError("expected ']' after '[*'", i + 1)
        return EVERY, i + 1
    if i < len(text) and text[i] == "?":
        return _read_where(text, i + 1)
    if i < len(text) and text[i] in ("'", '"'):
        key, i = read_quoted(text, i)
        segment: str | int = key
    else:
        j = i
        if j < len(text) and text[j] == "-":
            j += 1
        while j < len(text) and text[j].isdigit():
            j += 1
        digits = text[i:j]
        if digits in ("", "-"):
            raise FilterSyntaxError(
                "expected an index or a quoted key after '['", i + 1, 'for example [0], [-1] or ["key"]'
            )
        segment, i = int(digits), j
    if i >= len(text) or text[i] != "]":
        raise FilterSyntaxError("expected ']'", i + 1)
    return segment, i + 1


def parse_path(text: str) -> JsonPath:
    """Parse a path such as ``messages[-1].content`` into its segments (empty text -> ``()``).

    Columns in errors are 1-based positions in ``text``.

    Example:
        >>> parse_path('a.`b c`[0]["d"]')
        ('a', 'b c', 0, 'd')
    """
    segments: list[str | int] = []
    i = 0
    expect_segment = True  # at the start and after a '.'
    while i < len(text):
        ch = text[i]
        if ch == "[":
            segment, i = _read_bracket(text, i)
            segments.append(segment)
            expect_segment = False
            continue
        if ch == "." and not expect_segment:
            i += 1
            expect_segment = True
            if i == len(text):
                raise FilterSyntaxError("expected a key after '.'", i + 1)
            continue
        if not expect_segment:
            raise FilterSyntaxError(f"expected '.' or '[' before {text[i:]!r}", i + 1)
        if ch == "`":
            key, i = read_backticked(text, i)
        else:
            j = i
            while j < len(text) and text[j] not in ".[":
                j += 1
            key, i = text[i:j], j
            if not key:
                raise FilterSyntaxError("expected a key", i + 1, "keys with '.' or spaces go in backticks")
        segments.append(key)
        expect_segment = False
    return tuple(segments)


def parse_single_key(text: str) -> str:
    """Parse the key after ``tag.``, ``metadata.``, ``finding.`` or ``span.attributes.``.

    The whole dotted rest is one key; backticks may quote all or part of it, so
    ``usage.total_tokens`` and `` `usage.total_tokens` `` are the same key.
    """
    if not text:
        raise FilterSyntaxError("expected a key", 1, "keys with '.' or spaces may be quoted in backticks")
    parts: list[str] = []
    for segment in parse_path(text):
        if isinstance(segment, int):
            position = text.index("[") + 1
            raise FilterSyntaxError(
                "expected a key without an index", position, "quote keys containing '[' in backticks"
            )
        parts.append(segment)
    return ".".join(parts)


def _step(obj: Any, segment: str | int) -> Any:
    # Like a JSON pointer (which the SQL side uses too): a digit key indexes a list, an index names a
    # dict key; a negative index counts from the end of a list.
    if isinstance(obj, dict):
        if isinstance(segment, int) and segment < 0:
            return _MISSING
        return obj.get(str(segment), _MISSING)
    if isinstance(obj, list | tuple):
        if isinstance(segment, str):
            if not (segment.isascii() and segment.isdigit()):
                return _MISSING
            segment = int(segment)
        if -len(obj) <= segment < len(obj):
            return obj[segment]
    return _MISSING


def walk(obj: Any, path: JsonPath) -> Any:
    """Follow ``path`` into decoded JSON; returns the module's ``_MISSING`` sentinel when absent.

    A path with ``[*]``/``[?…]`` gives the list of the values it selects (missing ones left out).
    """
    for n, segment in enumerate(path):
        if obj is None or obj is _MISSING:
            return _MISSING
        if segment is EVERY or isinstance(segment, Where):
            if not isinstance(obj, list | tuple):
                return _MISSING
            chosen = [e for e in obj if segment is EVERY or segment.accepts(e)]
            rest = path[n + 1 :]
            if rest and isinstance(rest[0], int):  # an index picks among the matches
                picked = _step(chosen, rest[0])
                return walk(picked, rest[1:]) if picked is not _MISSING else _MISSING
            values = [walk(e, rest) for e in chosen]
            return [v for v in values if v is not _MISSING]
        obj = _step(obj, segment)
    return obj


def is_missing(value: Any) -> bool:
    """True when ``walk`` found nothing (or a JSON null) at the path."""
    return value is _MISSING or value is None


def json_path_get(obj: Any, path: str) -> Any:
    """The value at ``path`` inside decoded JSON ``obj``, or None when any step is missing.

    Example:
        >>> json_path_get({"messages": [{"content": "hi"}, {"content": "bye"}]}, "messages[-1].content")
        'bye'
    """
    text = path.strip()
    if text == "$" or text.startswith(("$.", "$[")):  # an optional JSONPath-style root
        text = text[1:].removeprefix(".")
    value = walk(obj, parse_path(text))
    return None if value is _MISSING else value
