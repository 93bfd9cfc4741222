"""SQL text in, verdict out: the MySQL/MariaDB lexer and the session-state rules (stdlib only)."""

from __future__ import annotations

from .inserts import InsertShape, describe_insert
from .lexer import lex
from .statements import split
from .tokens import (
    IDENT,
    NUMBER,
    OP,
    PARAM,
    SEMICOLON,
    STRING,
    SYS_VAR,
    UNTERMINATED,
    USER_VAR,
    WORD,
    Token,
)
from .verdicts import NO_EFFECT, Verdict, classify, remembered_verdicts

__all__ = [
    "IDENT",
    "NO_EFFECT",
    "NUMBER",
    "OP",
    "PARAM",
    "SEMICOLON",
    "STRING",
    "SYS_VAR",
    "UNTERMINATED",
    "USER_VAR",
    "WORD",
    "InsertShape",
    "Token",
    "Verdict",
    "classify",
    "describe_insert",
    "lex",
    "remembered_verdicts",
    "split",
]
