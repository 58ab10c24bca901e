"""Just enough SQL lexing to route a ClickHouse HTTP request without a parser.

The server must decide, before chDB sees a statement, whether an INSERT carries inline data
(to stream it into ``send_insert``), which output format a result uses (for the
``X-ClickHouse-Format`` header), and whether the statement returns a result at all (``command()``
in clickhouse-connect depends on it). Only top-level tokens matter, so strings, quoted
identifiers, comments and heredocs are skipped and parentheses are counted.

The text is scanned as ``str``; callers decode bytes as latin-1 so offsets equal byte offsets
and binary insert data after the header is never decoded as UTF-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*|[0-9][A-Za-z0-9_.]*")
_SPACE = re.compile(r"\s+")
_HEREDOC_OPEN = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


class Tok(Enum):
    WORD = "word"
    QUOTED = "quoted"  # string literal or quoted identifier
    LPAREN = "("
    RPAREN = ")"
    SEMICOLON = ";"
    OTHER = "other"
    INCOMPLETE = "incomplete"  # the text ends inside a string, quoted name or comment


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    start: int
    end: int


def tokens(text: str, start: int = 0):
    """Yield the significant tokens of ``text`` from ``start``; whitespace and comments are dropped."""
    pos, n = start, len(text)
    while pos < n:
        ch = text[pos]
        if ch.isspace():
            pos = _SPACE.match(text, pos).end()
            continue
        if text.startswith("--", pos) or ch == "#":
            eol = text.find("\n", pos)
            pos = n if eol < 0 else eol + 1
            continue
        if text.startswith("/*", pos):
            end = _block_comment_end(text, pos)
            if end < 0:
                yield Token(Tok.INCOMPLETE, pos, n)
                return
            pos = end
            continue
        if ch in "'\"`":
            end = _quoted_end(text, pos, ch)
            if end < 0:
                yield Token(Tok.INCOMPLETE, pos, n)
                return
            yield Token(Tok.QUOTED, pos, end)
            pos = end
            continue
        if ch == "$":
            heredoc = _HEREDOC_OPEN.match(text, pos)
            if heredoc:
                close = text.find(heredoc.group(0), heredoc.end())
                if close < 0:
                    yield Token(Tok.INCOMPLETE, pos, n)
                    return
                end = close + len(heredoc.group(0))
                yield Token(Tok.QUOTED, pos, end)
                pos = end
                continue
        word = _WORD.match(text, pos)
        if word:
            yield Token(Tok.WORD, pos, word.end())
            pos = word.end()
            continue
        kind = {"(": Tok.LPAREN, ")": Tok.RPAREN, ";": Tok.SEMICOLON}.get(ch, Tok.OTHER)
        yield Token(kind, pos, pos + 1)
        pos += 1


def _block_comment_end(text: str, pos: int) -> int:
    """ClickHouse block comments nest."""
    depth, i = 0, pos
    while i < len(text):
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return -1


def _quoted_end(text: str, pos: int, quote: str) -> int:
    i = pos + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
        elif ch == quote:
            if text.startswith(quote, i + 1):  # doubled quote escapes itself
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return -1


# Statements whose pipeline produces a result set, so ClickHouse reports X-ClickHouse-Format.
RESULT_KEYWORDS = frozenset(
    {"SELECT", "WITH", "(", "FROM", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN", "CHECK", "KILL", "WATCH", "BACKUP", "RESTORE"}
)
# Statements allowed when the request is read-only (GET, or readonly=1/2).
READ_ONLY_KEYWORDS = frozenset({"SELECT", "WITH", "(", "FROM", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN", "CHECK", "SET", "USE"})
# Statements whose result chDB can stream chunk by chunk (send_query rejects everything else).
STREAM_KEYWORDS = frozenset({"SELECT", "WITH", "(", "FROM"})


@dataclass(frozen=True, slots=True)
class InlineInsert:
    """An INSERT whose data follows the statement: ``header`` goes to send_insert, data starts at ``data_start``."""

    header: str
    format: str
    data_start: int


@dataclass(frozen=True, slots=True)
class Statement:
    keyword: str  # upper-cased first word, or "(" for a parenthesised SELECT
    format: str | None  # the top-level FORMAT clause, if any
    multi: bool  # more than one statement
    creates_temporary: bool = False

    @property
    def returns_result(self) -> bool:
        return self.keyword in RESULT_KEYWORDS

    @property
    def read_only(self) -> bool:
        return self.keyword in READ_ONLY_KEYWORDS

    @property
    def streamable(self) -> bool:
        return self.keyword in STREAM_KEYWORDS

    @property
    def changes_session(self) -> bool:
        """SET, USE and temporary tables change the state of the chDB handle that runs them."""
        return self.keyword in ("SET", "USE") or self.creates_temporary


class NeedMore(Exception):
    """The text ends before the INSERT's FORMAT clause; read more of the body."""


def split_inline_insert(text: str, complete: bool) -> InlineInsert | None:
    """Find where the data of ``INSERT ... FORMAT f <data>`` or ``INSERT ... VALUES <data>`` starts.

    Returns None when the text is not an INSERT with inline data (including INSERT ... SELECT).
    Raises NeedMore when ``complete`` is False and the answer depends on text not yet read.
    """
    toks = tokens(text)
    first = next(toks, None)
    if first is None or first.kind is not Tok.WORD or text[first.start : first.end].upper() != "INSERT":
        if first is None or first.kind is Tok.INCOMPLETE:
            if not complete:
                raise NeedMore
        return None
    depth = 0
    for tok in toks:
        if tok.kind is Tok.INCOMPLETE:
            break
        if tok.kind is Tok.LPAREN:
            depth += 1
        elif tok.kind is Tok.RPAREN:
            depth -= 1
        elif tok.kind is Tok.WORD and depth == 0:
            word = text[tok.start : tok.end].upper()
            if word in ("SELECT", "WITH", "FROM", "WATCH"):  # INSERT ... SELECT / FROM INFILE
                return None
            if word == "VALUES":
                return InlineInsert(text[: tok.start].strip(), "Values", tok.end)
            if word == "FORMAT":
                name = next(toks, None)
                if name is None or name.end == len(text) and not complete:
                    break  # the format name may continue in the next chunk
                if name.kind is not Tok.WORD:
                    return None
                data_start = _data_start(text, name.end)
                if data_start == len(text) and not complete:
                    break  # the newline that ends the header may be in the next chunk
                return InlineInsert(text[: tok.start].strip(), text[name.start : name.end], data_start)
        elif tok.kind is Tok.SEMICOLON:
            return None
    if not complete:
        raise NeedMore
    return None


def _data_start(text: str, pos: int) -> int:
    """Data starts after the first newline following the format name, or after the blanks before it."""
    while pos < len(text) and text[pos] in " \t\f\v":
        pos += 1
    if text.startswith("\r\n", pos):
        return pos + 2
    if pos < len(text) and text[pos] == "\n":
        return pos + 1
    return pos


def analyze(text: str, known_formats: dict[str, str]) -> Statement:
    """Classify a complete statement. ``known_formats`` maps lower-case format names to their spelling."""
    keyword, fmt, multi, temporary = "", None, False, False
    depth, ended, words = 0, False, 0
    prev_format_kw = False
    for tok in tokens(text):
        if ended:
            multi = True
            break
        if tok.kind is Tok.SEMICOLON and depth == 0:
            ended = True
            continue
        if tok.kind is Tok.LPAREN:
            if not keyword:
                keyword = "("
            depth += 1
        elif tok.kind is Tok.RPAREN:
            depth -= 1
        word = text[tok.start : tok.end].upper() if tok.kind is Tok.WORD else ""
        if depth == 0 and word:
            words += 1
            if not keyword:
                keyword = word
            if keyword == "CREATE" and words <= 4 and word == "TEMPORARY":
                temporary = True
            if prev_format_kw and word.lower() in known_formats:
                fmt = known_formats[word.lower()]
        prev_format_kw = depth == 0 and word == "FORMAT"
    return Statement(keyword=keyword, format=fmt, multi=multi, creates_temporary=temporary)
