"""What a statement leaves for the next one, and how the next one gets it from the right session.

Each statement leaves per-statement state on the session that ran it: ``LAST_INSERT_ID()``,
``ROW_COUNT()``, ``FOUND_ROWS()``, the warning and error counts, the diagnostics area (``SHOW
WARNINGS``, ``GET DIAGNOSTICS``). With a lease per statement the next statement of the same
Django connection usually runs on another session, or on the same one after other users. So this
module keeps, per Django connection, what its previous statement left, and the connection
(connection.py) serves readers of it (session_state.py finds them in the text):

- ``LAST_INSERT_ID()`` (also ``@@IDENTITY``, ``@@LAST_INSERT_ID``): the session's value is first
  set to this Django connection's own, with ``SELECT LAST_INSERT_ID(own)``; the own value follows
  ``LAST_INSERT_ID()`` semantics (generated ids only, ``INSERT ... RETURNING`` included), see
  ``InsertIdTracker``;
- ``ROW_COUNT()``, ``FOUND_ROWS()``, ``@@warning_count``, ``@@error_count`` in the first statement
  of a text: replaced by the captured value, unless the statement runs on the very session that
  ran the previous statement with nothing else run there since;
- the diagnostics area: after a statement lease's statement that had warnings or failed, its
  diagnostics are read (``SHOW WARNINGS``, one round trip, only then) before the connection goes
  back, so that nobody keeps a connection idle for them; ``SHOW WARNINGS``/``SHOW ERRORS`` (with
  ``LIMIT`` or ``COUNT(*)``) of the next statement are answered with those rows, in the
  description the server gives them (answer_from_capture()); the reader first clears the
  session it lands on. ``GET DIAGNOSTICS`` reads the session it runs on: inside the same
  transaction as the statement it reads that statement's.
"""

from __future__ import annotations

from typing import Any

from ..driver.execute import LASTROWID, StatementResult
from ..sql import WORD, InsertShape, Verdict, describe_insert, lex

# A statement that uses a table (a derived one), so that the server clears the diagnostics area
# (a table-less SELECT does not, measured on MariaDB 10.11), and sets LAST_INSERT_ID().
RESTORE_SESSION = "SELECT LAST_INSERT_ID(%s) FROM (SELECT 1) AS restore_previous_statement"
PROBE_INSERT_ID = "SELECT LAST_INSERT_ID()"

# Readers answered from the session itself (the diagnostics area, kept by holding the session).
DIAGNOSTICS_READERS = frozenset({"SHOW WARNINGS", "SHOW ERRORS", "GET DIAGNOSTICS"})
# Readers of LAST_INSERT_ID(): the session is given this Django connection's own value first.
INSERT_ID_READERS = frozenset({"LAST_INSERT_ID()", "@@IDENTITY", "@@LAST_INSERT_ID"})

# Texts classified once, remembered: an ORM INSERT's shape is the same every time.
_shapes: dict[str, InsertShape | None] = {}
_SHAPES_MAX = 1024
_SHAPE_TEXT_MAX = 2000


# Statements that do not use tables leave the diagnostics area as it is (measured on MariaDB
# 10.11: SELECT 1, SELECT ... FROM DUAL, SET, DO, SHOW WARNINGS keep the previous statement's
# warnings; SELECT ... FROM t and SHOW TABLES clear them).
_TABLE_LESS_COMMANDS = frozenset({"SELECT", "SET", "DO", "SHOW", "GET", "VALUES"})
_TABLE_WORDS = frozenset({"FROM", "JOIN", "TABLE", "TABLES", "COLUMNS", "INDEX", "KEYS"})
_keeps: dict[str, bool] = {}


def keeps_diagnostics(query: Any) -> bool:
    """Whether the server leaves the previous statement's diagnostics area after this text."""
    if type(query) is not str:
        return False
    known = _keeps.get(query)
    if known is not None:
        return known
    words = [token.value for token in lex(query) if token.kind == WORD]
    keeps = bool(words) and words[0] in _TABLE_LESS_COMMANDS
    if keeps:
        for index, word in enumerate(words):
            following = words[index + 1] if index + 1 < len(words) else ""
            if word in _TABLE_WORDS and not (word == "FROM" and following == "DUAL"):
                keeps = False
                break
    if len(query) <= _SHAPE_TEXT_MAX:
        if len(_keeps) >= _SHAPES_MAX:
            _keeps.clear()
        _keeps[query] = keeps
    return keeps


def answer_from_capture(rows: Any, query: Any, result: StatementResult) -> StatementResult:
    """result of a diagnostics reader run on a session with an empty diagnostics area, with the
    rows the previous statement's own session would have shown (its SHOW WARNINGS rows, read
    before its connection went back). ``SHOW WARNINGS|ERRORS [LIMIT [offset,] count]`` and
    ``SHOW COUNT(*) WARNINGS|ERRORS`` alone in their text; anything else is left as it ran."""
    form = _reader_form(query)
    if form is None or not result[0] or result[0][0][0] is None:
        return result
    which, count_only, offset, limit = form
    if which == "ERRORS":
        rows = [row for row in rows if str(row[0]) == "Error"]
    if count_only:
        answer: Any = ((len(rows),),)
    else:
        answer = tuple(rows[offset : None if limit is None else offset + limit])
    description = result[0][0][0]
    return ([(description, answer, len(answer)), *result[0][1:]], *result[1:])


# GET DIAGNOSTICS items answered from the captured rows (Level, Code, Message).
_CONDITION_ITEMS = {"MESSAGE_TEXT": 2, "MYSQL_ERRNO": 1}


def get_diagnostics_from_capture(query: Any, rows: Any, row_count: int) -> str | None:
    """``GET [CURRENT] DIAGNOSTICS @a = NUMBER, @b = ROW_COUNT`` or ``... CONDITION n @a =
    MESSAGE_TEXT, @b = MYSQL_ERRNO`` as the SET that assigns what the previous statement's
    session would have; None for any other form or item (it then reads the session it runs on)."""
    if type(query) is not str:
        return None
    tokens = [token for token in lex(query) if token.kind != "SEMICOLON"]
    values = [token.value for token in tokens]
    position = 2 if values[1:2] == ["CURRENT"] else 1
    if values[:1] != ["GET"] or values[position : position + 1] != ["DIAGNOSTICS"]:
        return None
    position += 1
    condition = None
    if values[position : position + 1] == ["CONDITION"]:
        if position + 1 >= len(values) or not values[position + 1].isdigit():
            return None
        condition = int(values[position + 1])
        if not 1 <= condition <= len(rows):
            return None  # the server's own error for a condition number out of range
        position += 2
    assignments = []
    items = tokens[position:]
    for start in range(0, len(items), 4):
        item = items[start : start + 4]
        if len(item) < 3 or item[0].kind != "USER_VAR" or item[1].value != "=":
            return None
        if len(item) == 4 and item[3].value != ",":
            return None
        name = item[2].value
        if condition is None:
            value: Any = {"NUMBER": len(rows), "ROW_COUNT": row_count}.get(name)
        else:
            column = _CONDITION_ITEMS.get(name)
            value = None if column is None else rows[condition - 1][column]
        if value is None:
            return None
        if isinstance(value, (bytes, str)):
            raw = value.encode() if isinstance(value, str) else value
            # A hex literal reads the same whatever the server's sql_mode (backslashes, quotes).
            value = "CONVERT(X'%s' USING utf8mb4)" % raw.hex() if raw else "''"
        assignments.append("%s = %s" % (query[item[0].start : item[0].end], value))
    return "SET " + ", ".join(assignments) if assignments else None


_forms: dict[str, Any] = {}


def _reader_form(query: Any) -> tuple[str, bool, int, int | None] | None:
    # (WARNINGS or ERRORS, COUNT(*), offset, limit) of a SHOW reader text, else None.
    if type(query) is not str:
        return None
    if query in _forms:
        return _forms[query]
    tokens = [token for token in lex(query) if token.kind != "SEMICOLON"]
    values = [token.value for token in tokens]
    form: tuple[str, bool, int, int | None] | None = None
    if values[:1] == ["SHOW"]:
        count_only = values[1:5] == ["COUNT", "(", "*", ")"]
        rest = values[5:] if count_only else values[1:]
        if rest[:1] in (["WARNINGS"], ["ERRORS"]):
            which, limit_part = rest[0], rest[1:]
            if not limit_part:
                form = (which, count_only, 0, None)
            elif not count_only and limit_part[0] == "LIMIT":
                numbers = [value for value in limit_part[1:] if value != ","]
                if all(value.isdigit() for value in numbers) and 1 <= len(numbers) <= 2:
                    offset = int(numbers[0]) if len(numbers) == 2 else 0
                    form = (which, False, offset, int(numbers[-1]))
    if len(query) <= _SHAPE_TEXT_MAX:
        if len(_forms) >= _SHAPES_MAX:
            _forms.clear()
        _forms[query] = form
    return form


def row_count(result: StatementResult | None, failed: bool) -> int:
    """ROW_COUNT() after result's statement: -1 after a result set or an error, else the
    affected rows (0 for DDL and SET)."""
    if result is None:
        return -1
    description, _, affected = result[0][-1]
    return -1 if failed or description is not None else int(affected)


def substitute(query: str, spans: tuple[tuple[int, int, str], ...], values: dict[str, int]) -> str:
    """query with each reader span of names in values replaced by its value."""
    pieces = []
    position = 0
    for start, end, name in spans:
        if name in values:
            pieces.append(query[position:start])
            pieces.append("(%d)" % values[name])
            position = end
    pieces.append(query[position:])
    return "".join(pieces)


def restore_column_names(
    description: Any, spans: tuple[tuple[int, int, str], ...], query: str, values: dict[str, int]
) -> Any:
    """The description the original text would have given: the server names an expression column
    after its text, which now shows the value ("5", "(5) + 1") instead of the reader."""
    if not description:
        return description
    replacements = [
        ("(%d)" % values[name], query[start:end]) for start, end, name in spans if name in values
    ]
    fixed = []
    for column in description:
        name = column[0]
        for literal, original in replacements:
            if name == literal[1:-1]:
                name = original
            else:
                name = name.replace(literal, original)
        fixed.append((name, *column[1:]))
    return tuple(fixed)


class InsertIdTracker:
    """A Django connection's own LAST_INSERT_ID(), as its own server session would have it.

    The OK packet's insert id is what ``LAST_INSERT_ID()`` becomes when the statement generated
    the value, but it is also reported for an AUTO_INCREMENT value given explicitly (which leaves
    ``LAST_INSERT_ID()`` unchanged), and ``INSERT ... RETURNING`` has no OK packet at all. So:

    - an INSERT whose AUTO_INCREMENT value cannot be among the values it gives (none of the first
      row's values equals the reported id) generated it: the reported id;
    - ``INSERT ... RETURNING`` whose first returned column is not among the columns it gives
      (Django returns the primary key first): the first row's value of that column;
    - anything else that may have changed it (an id equal to a given value, ``INSERT ...
      SELECT``, ``ON DUPLICATE KEY UPDATE``, a long bulk text, ``CALL``, ``LOAD DATA``): the
      caller asks the session (``SELECT LAST_INSERT_ID()``, needs_probe()) and records() it.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def after(self, verdict: Verdict, query: Any, args: Any, result: StatementResult) -> bool:
        """Update from a statement that may change LAST_INSERT_ID(); True if the caller must
        probe the session (then record_probe())."""
        sets = result[0]
        description, rows, _ = sets[0]
        shape = _shape(query) if verdict.statements == 1 else None
        if description is None:
            insert_id = result[LASTROWID]
            if not insert_id:
                return False  # nothing generated: LAST_INSERT_ID() unchanged
            if shape is None or shape.on_duplicate or shape.rows is None:
                return True
            if _gives(shape, args, insert_id):
                return True
            self.value = int(insert_id)
            return False
        # A result set: INSERT ... RETURNING (or CALL, EXECUTE: the caller probes those).
        if shape is None or not rows:
            return True
        given = shape.columns if shape.columns is not None else shape.set_columns
        first_column = description[0][0]
        first_value = rows[0][0] if not isinstance(rows[0], dict) else rows[0].get(first_column)
        if given is not None and first_column not in given and isinstance(first_value, int):
            if first_value > 0:
                self.value = first_value
            return False
        return True

    def record_probe(self, session_value: Any, reported: Any) -> None:
        """The session's LAST_INSERT_ID() after the statement: it is this connection's own if
        the statement generated it (it then equals what the statement reported)."""
        if session_value and (reported is None or session_value == reported):
            self.value = int(session_value)


def _shape(query: Any) -> InsertShape | None:
    if type(query) is not str or len(query) > _SHAPE_TEXT_MAX:
        return None
    shape = _shapes.get(query, _UNKNOWN)
    if shape is _UNKNOWN:
        shape = describe_insert(query)
        if len(_shapes) >= _SHAPES_MAX:
            _shapes.clear()
        _shapes[query] = shape
    return shape


_UNKNOWN: Any = object()


def _gives(shape: InsertShape, args: Any, insert_id: int) -> bool:
    """Whether the first row gives a value equal to insert_id (it may be the AUTO_INCREMENT
    column's, given explicitly)."""
    assert shape.rows is not None
    if not shape.rows:
        return True
    positional = list(args) if isinstance(args, (list, tuple)) else []
    for value in shape.rows[0]:
        if len(value) != 1:
            continue  # an expression: not a plain given value
        token = value[0]
        if token.kind == "NUMBER":
            try:
                if float(token.value) == insert_id:
                    return True
            except ValueError:
                continue
        elif token.kind == "PARAM":
            given = _param(token.value, positional, args)
            if isinstance(given, (int, str)) and str(given).strip() == str(insert_id):
                return True
        elif token.kind == "STRING" and token.value.strip("'\"") == str(insert_id):
            return True
    return False


def _param(placeholder: str, positional: list[Any], args: Any) -> Any:
    if placeholder == "%s":
        # The first row's placeholders come first in an INSERT ... VALUES text.
        return positional.pop(0) if positional else None
    if isinstance(args, dict):
        return args.get(placeholder[2:-2])
    return None
