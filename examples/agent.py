"""A tiny deterministic "agent" so the example runs anywhere, offline.

Swap it for your real agent (an LLM call, a LangGraph graph, a tool-using loop...).
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field
from typing import Any

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError("unsupported expression")


@dataclass
class Reply:
    text: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0


class CalculatorAgent:
    """Answers arithmetic questions by calling a calculator tool."""

    model = "toy-calculator-1"

    def ask(self, question: str) -> Reply:
        expression = question.rstrip("?").split("is", 1)[-1].strip()
        call = {
            "type": "tool_use",
            "id": "call_1",
            "name": "calculator",
            "input": {"expression": expression},
        }
        try:
            value = _evaluate(ast.parse(expression, mode="eval"))
            result = {"type": "tool_result", "tool_use_id": "call_1", "content": f"{value:g}"}
            text = f"The answer is {value:g}."
        except (ValueError, SyntaxError, ZeroDivisionError) as exc:
            result = {
                "type": "tool_result",
                "tool_use_id": "call_1",
                "content": str(exc),
                "is_error": True,
            }
            text = "I could not work that out."
        return Reply(
            text=text,
            steps=[call, result],
            input_tokens=len(question.split()) * 4,
            output_tokens=len(text.split()) * 4,
        )
