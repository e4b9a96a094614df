"""A small, safe expression language for playbook checks, scores and disposition rules.

Playbook authors write checks such as `near_threshold_deposits >= 5 and over_threshold_deposits == 0`.
They are parsed with `ast` and only these nodes are accepted: names, int/float/bool constants,
comparisons, `and`/`or`, `not`, unary minus, and `+ - * /`. Anything else (calls, attributes,
subscripts, strings, lambdas, `**`, ...) is rejected when the playbook is checked, so a check can
never run code: `__import__('os')` is a parse-time error, not a runtime one.

Missing facts: a tool may fail or not run, so evaluation uses three-valued (Kleene) logic. A name
without a value is *unknown*; `True or unknown` is True and `False and unknown` is False (the
missing fact could not change the answer), every other use of an unknown propagates. A check whose
final value is unknown counts as False and the missing names are reported, so the engine can say
"flag not evaluated: exposure did not run" instead of silently clearing a case.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_EXPR_CHARS = 600
MAX_NODES = 120


class ExprError(ValueError):
    """An expression that is not valid in the check language (reported at check time)."""


class _Unknown:
    """Sentinel for a value that depends on a missing fact."""

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN = _Unknown()

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_BINOP: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass
class EvalResult:
    """The value of an expression over a set of facts, with what kept it from being exact.

    `value` is a bool or a number; when the expression could not be decided it is False (for a
    check) and `missing` names the facts that were absent; `error` holds a runtime problem such
    as a division by zero or a fact of the wrong type.
    """

    value: bool | float
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    unknown: bool = False

    @property
    def decided(self) -> bool:
        """True when the value did not depend on a missing fact (or a runtime error)."""
        return not self.unknown and self.error is None


@dataclass(frozen=True)
class Expr:
    """A validated, compiled expression. Build with `compile_expr`."""

    source: str
    tree: ast.Expression
    names: frozenset[str]

    def evaluate(self, facts: Mapping[str, Any]) -> EvalResult:
        """Evaluate over `facts` (name -> number/bool/None); never raises for missing or bad facts."""
        missing: set[str] = set()
        try:
            value = _eval(self.tree.body, facts, missing)
        except (ZeroDivisionError, TypeError, OverflowError) as e:
            return EvalResult(False, sorted(missing), f"{type(e).__name__}: {e}")
        if value is UNKNOWN:
            return EvalResult(False, sorted(missing), unknown=True)
        return EvalResult(value, sorted(missing))

    def check(self, facts: Mapping[str, Any]) -> EvalResult:
        """Evaluate as a boolean check: any non-zero number counts as True."""
        res = self.evaluate(facts)
        return EvalResult(bool(res.value), res.missing, res.error, res.unknown)


def _validate(node: ast.AST) -> None:
    """Reject every node outside the whitelist, with a message naming what was found."""
    if isinstance(node, ast.Expression):
        _validate(node.body)
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExprError(f"name {node.id!r} is not allowed")
        if not isinstance(node.ctx, ast.Load):
            raise ExprError("assignment is not allowed")
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or (isinstance(node.value, int | float) and not isinstance(node.value, complex)):
            return
        raise ExprError(f"constant {node.value!r} is not allowed (only numbers and True/False)")
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ExprError(f"comparison {type(op).__name__} is not allowed (use == != < <= > >=)")
        _validate(node.left)
        for c in node.comparators:
            _validate(c)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _validate(v)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub):
            raise ExprError(f"operator {type(node.op).__name__} is not allowed (use not or -)")
        _validate(node.operand)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOP:
            raise ExprError(f"operator {type(node.op).__name__} is not allowed (use + - * /)")
        _validate(node.left)
        _validate(node.right)
    else:
        raise ExprError(f"{type(node).__name__} is not allowed in a check expression")


@functools.lru_cache(maxsize=2048)
def compile_expr(source: str) -> Expr:
    """Parse and validate an expression; raise `ExprError` with a readable reason if it is not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise ExprError("empty expression")
    if len(source) > MAX_EXPR_CHARS:
        raise ExprError(f"expression longer than {MAX_EXPR_CHARS} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        raise ExprError(f"cannot parse: {e.msg}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExprError(f"expression has more than {MAX_NODES} parts")
    _validate(tree)
    names = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    return Expr(source=source, tree=tree, names=names)


def _fact(name: str, facts: Mapping[str, Any], missing: set[str]) -> Any:
    value = facts.get(name)
    if value is None:
        missing.add(name)
        return UNKNOWN
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, int | float):
        raise TypeError(f"fact {name} is {type(value).__name__}, not a number")
    return value


def _eval(node: ast.AST, facts: Mapping[str, Any], missing: set[str]) -> Any:
    """Kleene-logic evaluation of a validated tree."""
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):  # pragma: no cover - parsed as Constant in 3.8+
            return node.id == "True"
        return _fact(node.id, facts, missing)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, facts, missing)
        if v is UNKNOWN:
            return UNKNOWN
        return (not v) if isinstance(node.op, ast.Not) else -v
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, facts, missing)
        right = _eval(node.right, facts, missing)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        return _BINOP[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, facts, missing)
        result: Any = True
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, facts, missing)
            if left is UNKNOWN or right is UNKNOWN:
                result = UNKNOWN if result is not False else False
            elif not _COMPARE[type(op)](left, right):
                result = False
            left = right
        return result
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        saw_unknown = False
        for sub in node.values:
            v = _eval(sub, facts, missing)
            if v is UNKNOWN:
                saw_unknown = True
            elif is_and and not v:
                return False
            elif not is_and and v:
                return True
        return UNKNOWN if saw_unknown else is_and
    raise TypeError(f"unexpected node {type(node).__name__}")  # unreachable after _validate


def names_in(source: str) -> frozenset[str]:
    """The fact names an expression reads (validates it first)."""
    return compile_expr(source).names


def evaluate(source: str, facts: Mapping[str, Any]) -> bool | float:
    """The plain value of an expression over facts; False when undecidable (see `explain` for why)."""
    return compile_expr(source).evaluate(facts).value


def explain(source: str, facts: Mapping[str, Any]) -> EvalResult:
    """The value with the missing facts and any runtime error, for reports and debugging."""
    return compile_expr(source).evaluate(facts)
