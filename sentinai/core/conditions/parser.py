"""Recursive-descent parser: text -> syntax tree, with positions in every error.

Grammar (lowest precedence first)::

    condition  := or
    or         := and ('||' and)*
    and        := unary ('&&' unary)*
    unary      := '!' unary | comparison
    comparison := operand (compare_op operand | 'matches' STRING)?
    compare_op := '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in' | 'contains'
    operand    := literal | PATH | '(' or ')'
    literal    := NUMBER | STRING | 'true' | 'false' | 'null' | '[' (literal (',' literal)*)? ']'
"""

from __future__ import annotations

from collections.abc import Callable

from sentinai.core.conditions.ast import (
    BoolOp,
    Compare,
    Literal,
    LiteralValue,
    Matches,
    Node,
    Not,
    Path,
)
from sentinai.core.conditions.errors import ConditionSyntaxError
from sentinai.core.conditions.lexer import Token, tokenize
from sentinai.core.conditions.regex import PatternError, compile_regex

ROOTS = frozenset(
    {
        "tenantId",
        "exceptionId",
        "sourceSystem",
        "exceptionType",
        "severity",
        "occurredAt",
        "payload",
        "context",
        "sla",
    }
)
MAX_CONDITION_LENGTH = 4096
MAX_PATTERN_LENGTH = 256
MAX_DEPTH = 64
_COMPARE_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_CONSTANTS: dict[str, LiteralValue] = {"true": True, "false": False, "null": None}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def fail(self, reason: str, token: Token | None = None) -> ConditionSyntaxError:
        return ConditionSyntaxError(reason, (token or self.token).position, self.source)

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def at(self, kind: str, value: object) -> bool:
        return self.token.kind == kind and self.token.value == value

    def expect(self, kind: str, value: object, what: str) -> None:
        if not self.at(kind, value):
            raise self.fail(f"expected {what}, got {self.token.text!r}")
        self.advance()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH}")

    def parse(self) -> Node:
        if not self.source.strip():
            raise self.fail("empty condition")
        node = self.disjunction()
        if self.token.kind != "end":
            raise self.fail(f"unexpected {self.token.text!r}")
        return node

    def disjunction(self) -> Node:
        return self.boolean("||", self.conjunction)

    def conjunction(self) -> Node:
        return self.boolean("&&", self.unary)

    def boolean(self, op: str, operand: Callable[[], Node]) -> Node:
        operands = [operand()]
        while self.at("op", op):
            self.advance()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else BoolOp(op, tuple(operands))

    def unary(self) -> Node:
        if self.at("op", "!"):
            self.advance()
            self.nest()
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        token = self.token
        if token.kind == "op" and token.value in _COMPARE_OPS:
            self.advance()
            return Compare(str(token.value), left, self.operand())
        if token.kind != "keyword" or token.value in _CONSTANTS:
            return left
        self.advance()
        if token.value == "matches":
            return self.matches(left)
        if token.value == "not":
            self.expect("keyword", "in", "'in' after 'not'")
            return Compare("not in", left, self.operand())
        return Compare(str(token.value), left, self.operand())

    def matches(self, left: Node) -> Node:
        token = self.token
        if token.kind != "string":
            raise self.fail("'matches' needs a string literal pattern")
        self.advance()
        pattern = str(token.value)
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise self.fail(f"pattern longer than {MAX_PATTERN_LENGTH} characters", token)
        try:
            regex = compile_regex(pattern)
        except PatternError as error:
            raise self.fail(f"invalid regular expression: {error}", token) from None
        return Matches(left, pattern, regex)

    def operand(self) -> Node:
        token = self.token
        if token.kind == "path":
            self.advance()
            segments = tuple(str(token.value).split("."))
            if segments[0] not in ROOTS:
                roots = ", ".join(sorted(ROOTS))
                raise self.fail(f"unknown field {segments[0]!r} (expected one of {roots})", token)
            return Path(segments)
        if self.at("op", "("):
            self.advance()
            self.nest()
            node = self.disjunction()
            self.depth -= 1
            self.expect("op", ")", "')'")
            return node
        return Literal(self.literal())

    def literal(self) -> LiteralValue:
        token = self.token
        if token.kind == "number" and isinstance(token.value, int | float):
            self.advance()
            return token.value
        if token.kind == "string" and isinstance(token.value, str):
            self.advance()
            return token.value
        if token.kind == "keyword" and token.value in _CONSTANTS:
            self.advance()
            return _CONSTANTS[str(token.value)]
        if self.at("op", "["):
            self.advance()
            self.nest()
            items: list[LiteralValue] = []
            if not self.at("op", "]"):
                items.append(self.literal())
                while self.at("op", ","):
                    self.advance()
                    items.append(self.literal())
            self.expect("op", "]", "',' or ']'")
            self.depth -= 1
            return tuple(items)
        raise self.fail(f"expected a value, got {token.text!r}")


def parse(source: str) -> Node:
    """Parse a condition; raises only `ConditionSyntaxError`."""
    if not isinstance(source, str):
        raise ConditionSyntaxError("a condition must be a string", 0, str(source))
    if len(source) > MAX_CONDITION_LENGTH:
        raise ConditionSyntaxError(
            f"condition longer than {MAX_CONDITION_LENGTH} characters", MAX_CONDITION_LENGTH, source
        )
    return _Parser(source).parse()
