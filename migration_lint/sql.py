"""SQL statements split and classified with sqlparse into facts the rules can read.

Only what the rules need is recognised (index builds, constraint additions and drops,
``SET lock_timeout``, transaction control); every other statement is kept with kind ``other``,
and text sqlparse cannot make sense of with kind ``unknown``. Quoting (``"x"``, backticks) and
schema-qualified names are handled; comments are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"\s+")


@dataclass(frozen=True)
class SqlStatement:
    text: str
    kind: str = "other"
    table: str | None = None
    name: str | None = None
    unique: bool = False
    concurrently: bool = False
    if_not_exists: bool = False
    if_exists: bool = False
    using_index: str | None = None
    not_valid: bool = False
    partial: bool = False
    expression: bool = False
    columns: tuple[str, ...] = ()
    setting: tuple[str, str] | None = None
    constraint_type: str | None = None

    @property
    def builds_index(self) -> bool:
        """True when the statement builds an index by scanning the table."""
        if self.kind == "create_index":
            return True
        return (
            self.kind == "add_constraint"
            and self.constraint_type in ("unique", "primary_key")
            and not self.using_index
        )


def unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in '"`[':
        return name[1:-1]
    if name.startswith("[") and name.endswith("]"):
        return name[1:-1]
    return name


@dataclass(frozen=True)
class _Tok:
    value: str
    word: str  # upper-cased for keywords, unquoted for names
    kind: str  # "word", "name", "punct", "literal", "op"


def _tokens(statement: object) -> list[_Tok]:
    from sqlparse import tokens as T

    out: list[_Tok] = []
    for token in statement.flatten():  # type: ignore[attr-defined]
        if (
            token.is_whitespace
            or token.ttype in T.Comment
            or (token.ttype and token.ttype in T.Comment)
        ):
            continue
        value = token.value
        ttype = token.ttype
        if ttype in T.Punctuation:
            out.append(_Tok(value, value, "punct"))
        elif ttype in T.Keyword:
            for part in _WORD.split(value.strip()):
                out.append(_Tok(part, part.upper(), "word"))
        elif ttype in T.Literal.String.Symbol or ttype in T.Name:
            out.append(_Tok(value, unquote(value), "name"))
        elif ttype in T.Literal:
            out.append(_Tok(value, value, "literal"))
        else:
            out.append(_Tok(value, value.upper(), "op"))
    return out


class _Cursor:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def accept(self, *words: str) -> bool:
        """Consume ``words`` if they come next (case-insensitive keywords)."""
        for offset, word in enumerate(words):
            tok = self.peek(offset)
            if tok is None or tok.word.upper() != word:
                return False
        self.i += len(words)
        return True

    def name(self) -> str | None:
        """A possibly schema-qualified identifier; the last part is returned."""
        tok = self.peek()
        if tok is None or tok.kind == "punct" or tok.word in ("ON", "(", "USING"):
            return None
        self.i += 1
        name = tok.word
        while self.peek() is not None and self.peek().value == "." and self.peek(1) is not None:  # type: ignore[union-attr]
            self.i += 1
            name = self.peek().word  # type: ignore[union-attr]
            self.i += 1
        return name

    def group(self) -> list[_Tok]:
        """The tokens inside the parenthesised group that starts here (consumed)."""
        if self.peek() is None or self.peek().value != "(":  # type: ignore[union-attr]
            return []
        depth = 0
        start = self.i
        while self.peek() is not None:
            value = self.peek().value  # type: ignore[union-attr]
            depth += value == "("
            depth -= value == ")"
            self.i += 1
            if depth == 0:
                break
        return self.toks[start + 1 : self.i - 1]

    def rest(self) -> list[_Tok]:
        return self.toks[self.i :]


def _columns(group: list[_Tok]) -> tuple[tuple[str, ...], bool]:
    """Column names of an index column list, and whether any entry is an expression."""
    columns: list[str] = []
    expression = False
    entry: list[_Tok] = []
    for tok in [*group, _Tok(",", ",", "punct")]:
        if tok.value == "," and not _open(entry):
            if entry:
                first = entry[0]
                extra = [
                    t for t in entry[1:] if t.word not in ("ASC", "DESC", "NULLS", "FIRST", "LAST")
                ]
                if (
                    first.kind == "name"
                    and not any(t.value == "(" for t in entry)
                    and len(extra) <= 1
                ):
                    columns.append(first.word)  # a column, maybe with an opclass or order
                elif first.kind == "word" and not any(t.value in "()" for t in entry) and not extra:
                    columns.append(first.value)  # a column named like a keyword
                else:
                    expression = True
            entry = []
        else:
            entry.append(tok)
    return tuple(columns), expression


def _open(entry: list[_Tok]) -> bool:
    return sum(t.value == "(" for t in entry) > sum(t.value == ")" for t in entry)


def _create_index(text: str, c: _Cursor) -> SqlStatement:
    unique = c.accept("UNIQUE")
    if not c.accept("INDEX"):
        return SqlStatement(text)
    concurrently = c.accept("CONCURRENTLY")
    if_not_exists = c.accept("IF", "NOT", "EXISTS")
    name = None if c.peek() is not None and c.peek().word == "ON" else c.name()  # type: ignore[union-attr]
    if not c.accept("ON"):
        return SqlStatement(text, kind="unknown")
    c.accept("ONLY")
    table = c.name()
    if c.accept("USING"):
        c.name()
    columns, expression = _columns(c.group())
    rest = c.rest()
    return SqlStatement(
        text,
        kind="create_index",
        table=table,
        name=name,
        unique=unique,
        concurrently=concurrently,
        if_not_exists=if_not_exists,
        partial=any(t.word == "WHERE" for t in rest),
        expression=expression,
        columns=columns,
    )


def _alter_table(text: str, c: _Cursor) -> SqlStatement:
    c.accept("IF", "EXISTS")
    c.accept("ONLY")
    table = c.name()
    if c.accept("DROP", "CONSTRAINT"):
        if_exists = c.accept("IF", "EXISTS")
        return SqlStatement(
            text, kind="drop_constraint", table=table, name=c.name(), if_exists=if_exists
        )
    if not c.accept("ADD"):
        return SqlStatement(text, kind="alter_table", table=table)
    name = c.name() if c.accept("CONSTRAINT") else None
    words = [t.word for t in c.rest()]
    if c.accept("UNIQUE") or c.accept("PRIMARY", "KEY"):
        constraint_type = "unique" if c.toks[c.i - 1].word == "UNIQUE" else "primary_key"
        c.accept("NULLS", "NOT", "DISTINCT") or c.accept("NULLS", "DISTINCT")
        c.accept("INDEX") or c.accept("KEY")  # MySQL: ADD UNIQUE INDEX name (cols)
        if c.accept("USING", "INDEX"):
            return SqlStatement(
                text,
                kind="add_constraint",
                table=table,
                name=name,
                unique=True,
                using_index=c.name(),
                not_valid="VALID" in words,
                constraint_type=constraint_type,
            )
        if name is None and c.peek() is not None and c.peek().value != "(":  # type: ignore[union-attr]
            name = c.name()
        columns, expression = _columns(c.group())
        return SqlStatement(
            text,
            kind="add_constraint",
            table=table,
            name=name,
            unique=True,
            not_valid=_not_valid(c.rest()),
            columns=columns,
            expression=expression,
            constraint_type=constraint_type,
        )
    kind = next(
        (
            k
            for k, w in (("check", "CHECK"), ("foreign_key", "FOREIGN"), ("exclude", "EXCLUDE"))
            if words[:1] == [w]
        ),
        None,
    )
    if kind is not None:
        return SqlStatement(
            text,
            kind="add_constraint",
            table=table,
            name=name,
            not_valid=_not_valid(c.rest()),
            constraint_type=kind,
        )
    # ADD [COLUMN] c type ... UNIQUE: the column's own constraint builds an index too.
    return SqlStatement(
        text,
        kind="add_column",
        table=table,
        unique="UNIQUE" in words,
        columns=tuple(unquote(t.value) for t in c.rest()[int(words[:1] == ["COLUMN"]) :][:1]),
    )


def _not_valid(rest: list[_Tok]) -> bool:
    words = [t.word for t in rest]
    return any(words[i : i + 2] == ["NOT", "VALID"] for i in range(len(words)))


def _drop_index(text: str, c: _Cursor) -> SqlStatement:
    concurrently = c.accept("CONCURRENTLY")
    if_exists = c.accept("IF", "EXISTS")
    name = c.name()
    table = c.name() if c.accept("ON") else None  # MySQL: DROP INDEX name ON table
    return SqlStatement(
        text,
        kind="drop_index",
        name=name,
        table=table,
        concurrently=concurrently,
        if_exists=if_exists,
    )


def _set(text: str, c: _Cursor) -> SqlStatement:
    c.accept("SESSION") or c.accept("LOCAL")
    tok = c.peek()
    if tok is None:
        return SqlStatement(text, kind="unknown")
    c.i += 1
    name = tok.value.lower()
    c.accept("=") or c.accept("TO")
    value = " ".join(t.value for t in c.rest() if t.value != ";").strip("'\"")
    return SqlStatement(text, kind="set", setting=(name, value))


def _classify(text: str, statement: object) -> SqlStatement:
    c = _Cursor(_tokens(statement))
    if c.accept("CREATE"):
        return _create_index(text, c)
    if c.accept("ALTER", "TABLE"):
        return _alter_table(text, c)
    if c.accept("DROP", "INDEX"):
        return _drop_index(text, c)
    if c.accept("SET"):
        return _set(text, c)
    for words, kind in (
        (("BEGIN",), "begin"),
        (("START", "TRANSACTION"), "begin"),
        (("COMMIT",), "commit"),
    ):
        if c.accept(*words):
            return SqlStatement(text, kind=kind)
    if not c.toks:
        return SqlStatement(text, kind="empty")
    return SqlStatement(text, kind="other" if c.toks[0].kind == "word" else "unknown")


@lru_cache(maxsize=4096)
def parse_sql(sql: str) -> tuple[SqlStatement, ...]:
    """Every statement of ``sql``, classified. Never raises."""
    from sqlparse.engine import FilterStack

    statements: list[SqlStatement] = []
    try:
        # Split and lexed, not grouped: the rules read the flat token stream, which grouping
        # leaves as it is, and grouping is two thirds of sqlparse's time.
        parsed = list(FilterStack().run(sql))
    except Exception:  # noqa: BLE001 - sqlparse raises on pathological input; keep it as unknown
        return (SqlStatement(sql.strip(), kind="unknown"),)
    for statement in parsed:
        text = str(statement).strip()
        if not text or text == ";":
            continue
        try:
            classified = _classify(text, statement)
        except Exception:  # noqa: BLE001
            classified = SqlStatement(text, kind="unknown")
        if classified.kind != "empty":
            statements.append(classified)
    return tuple(statements)


def parse_many(sqls: Iterable[str]) -> tuple[SqlStatement, ...]:
    return tuple(s for sql in sqls for s in parse_sql(sql))
