"""The one way the agent calls a chat model: endpoint failures become `ModelCallFailed`, naming the step.

Every model call (router steps, the decision, the narrative and its revision, native tool calling, the
chat plan and chat replies) goes through `invoke`, so a timeout, a refused connection or an HTTP error
reads the same everywhere and is turned into one line only at the CLI. What a failed call means for the
case is the caller's: the investigation's optional steps (investigate, narrative, revise) record it in
the trace and go on with what they have; a model that decides fails the case.
"""

from __future__ import annotations

from typing import Any

from tools.errors import SleuthError


class ModelCallFailed(SleuthError):
    """The model endpoint did not answer (timeout, connection refused, HTTP error)."""

    def __init__(self, message: str, tokens: int = 0) -> None:
        super().__init__(message)
        self.tokens = tokens


def invoke(runnable: Any, messages: list[Any], where: str, *, tokens: int = 0) -> Any:
    """`runnable.invoke(messages)`; an endpoint failure raises ModelCallFailed("model call failed in
    <where>: ..."), carrying the `tokens` already spent by the caller's earlier attempts."""
    import httpx
    import openai

    try:
        return runnable.invoke(messages)
    except (openai.APIError, httpx.HTTPError) as e:
        raise ModelCallFailed(f"model call failed in {where}: {type(e).__name__}: {e}", tokens) from e
