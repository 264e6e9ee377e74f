"""The condition language: parse once, evaluate safely (see docs/conditions.md)."""

from sentinai.core.conditions.ast import Node, to_source
from sentinai.core.conditions.compiler import Env, compile_predicate
from sentinai.core.conditions.condition import Condition, compile_condition
from sentinai.core.conditions.errors import ConditionSyntaxError
from sentinai.core.conditions.parser import parse

__all__ = [
    "Condition",
    "ConditionSyntaxError",
    "Env",
    "Node",
    "compile_condition",
    "compile_predicate",
    "parse",
    "to_source",
]
