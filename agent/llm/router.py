"""The constrained next-step router: how a small local model drives the investigation.

A 1.5B model cannot run a free tool-calling loop (docs/backends.md: automatic tool
choice never fired, tool results were dropped). It can fill one tiny, flat schema when
the server forces the call. So at each step the model picks ONE of a few narrow,
parameterised options through `with_structured_output(NextStep, method="function_calling")`;
the caller runs the chosen tool in code and feeds its result back as plain text in the
next `context_text`.

`NextStep` is built per call: `tool` is a `Literal` of the option names, then the union of
the options' argument fields (all optional, so one flat object fits every option), then a
short `reason`. After the schema parses, the chosen option's own argument model validates
the arguments (e.g. `profile` needs an `account_id`). An invalid answer is retried once
with the error appended as user text (a pick with bad arguments is retried with just
that option's own strict schema); a second failure returns `done` with `valid=False`
and the error, so a bounded investigation loop ends cleanly and the trace says why.

Every key is marked required in the JSON schema (values may be null) and `reason` is
capped, because llama.cpp compiles the schema into a grammar: with optional keys the
1.5B model left `account_id` out; uncapped, it could ramble until max_tokens. Measured
with the bundled model on an AML alert (5 evidence states, 4 options): 5/5 valid, 3/5
sensible; it tends to repeat `profile` and rarely picks `done` on its own, so the
caller must stop repeats and enforce the step budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from agent.llm.call import invoke

DONE = "done"
REASON_MAX_CHARS = 160  # a small model rambles; every constrained token costs ~0.1-1 s on 2 cores
_DONE_DESCRIPTION = "Stop: the evidence so far is enough to assess the alert."


class NoArgs(BaseModel):
    """Arguments of an option that takes none (such as `done`)."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class StepOption:
    """One thing the model may do next: a name, what it does, and its (small) argument model."""

    name: str
    description: str
    args: type[BaseModel] = NoArgs


@dataclass
class StepChoice:
    """The model's pick: tool name and validated arguments, plus what it cost."""

    tool: str
    args: dict[str, Any]
    reason: str = ""
    raw: AIMessage | None = None  # the last raw model reply (for the trace)
    tokens: int = 0  # summed over all attempts
    attempts: int = 1
    valid: bool = True
    error: str | None = None
    errors: list[str] = field(default_factory=list)


def with_done(options: list[StepOption]) -> list[StepOption]:
    """The options with a `done` option added at the end if the caller did not give one."""
    if any(o.name == DONE for o in options):
        return list(options)
    return [*options, StepOption(DONE, _DONE_DESCRIPTION)]


def build_step_schema(options: list[StepOption]) -> type[BaseModel]:
    """One flat pydantic model the model fills: tool, the union of argument fields, reason.

    Argument fields shared by several options must have the same type; all become
    optional here and are checked against the chosen option's own model afterwards.
    """
    names = tuple(o.name for o in options)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate step option names: {names}")
    fields: dict[str, Any] = {
        "tool": (Literal[names], Field(description="The one option to do next.")),  # type: ignore[valid-type]
    }
    seen: dict[str, Any] = {}
    for option in options:
        for fname, finfo in option.args.model_fields.items():
            if fname in ("tool", "reason"):
                raise ValueError(f"option {option.name!r}: argument name {fname!r} is reserved")
            if fname in seen:
                if seen[fname] != finfo.annotation:
                    raise ValueError(
                        f"argument {fname!r} has type {finfo.annotation} in {option.name!r} but {seen[fname]} elsewhere"
                    )
                continue
            seen[fname] = finfo.annotation
            fields[fname] = (finfo.annotation | None, Field(None, description=finfo.description))
    fields["reason"] = (
        str,
        Field(
            description="One short sentence: why this option.",
            json_schema_extra={"maxLength": REASON_MAX_CHARS},  # caps the grammar, not validation
        ),
    )
    config = ConfigDict(json_schema_extra=_all_keys_required)
    return create_model("NextStep", __doc__="Choose the next investigation step.", __config__=config, **fields)


def _all_keys_required(schema: dict[str, Any]) -> None:
    """Mark every key required in the JSON schema (values may still be null).

    llama.cpp turns the schema into a grammar; with optional keys a small model simply
    leaves `account_id` out. Required-but-nullable keys make it write each one, while
    the pydantic model itself stays lenient (missing keys default to None).
    """
    schema["required"] = list(schema.get("properties", {}))


def render_options(options: list[StepOption]) -> str:
    """The option menu shown to the model: name(arguments): description."""
    lines = []
    for o in options:
        args = ", ".join(o.args.model_fields)
        lines.append(f"- {o.name}({args}): {o.description}")
    return "\n".join(lines)


def choose_next(
    model: BaseChatModel, system: str, context_text: str, options: list[StepOption], *, retries: int = 1,
    defaults: dict[str, Any] | None = None,
) -> StepChoice:
    """Ask the model to pick exactly one option; retry `retries` times on invalid output.

    A retry after a well-formed pick whose arguments fail (e.g. `account_id: null`) asks
    only for that option's arguments, with its own strict schema: the grammar then
    forces a string where the flat schema allowed null. Any other failure re-asks the
    whole question. Either way the error is appended as plain user text.

    `defaults` fill an argument the pick leaves out, for the options that take it (the case's own
    account): measured on 2 cores, a pick without its account cost a second call of about 2,000
    prompt tokens (35-40 s) only to be told the account it was investigating.
    """
    options = with_done(options)
    by_name = {o.name: o for o in options}
    step_schema = build_step_schema(options)
    prompt = (
        f"{system}\n\nOptions:\n{render_options(options)}\n\n"
        "Call NextStep with exactly one option and its arguments. Copy ids exactly from the context."
    )
    base: list[BaseMessage] = [SystemMessage(prompt), HumanMessage(context_text)]
    messages, schema = base, step_schema
    repair: _Pick | None = None
    tokens, errors = 0, []
    raw: AIMessage | None = None
    for attempt in range(1, retries + 2):
        runnable = model.with_structured_output(schema, method="function_calling", include_raw=True)
        out = invoke(runnable, messages, "the router", tokens=tokens)
        raw = out["raw"]
        tokens += _tokens(raw)
        pick, error = _parse_args(out, repair) if repair else _parse_step(out, by_name, defaults or {})
        if not error:
            choice = StepChoice(tool=pick.option.name, args=pick.args, reason=pick.reason)
            choice.raw, choice.tokens, choice.attempts, choice.errors = raw, tokens, attempt, errors
            return choice
        errors.append(error)
        if pick is not None:  # right shape, wrong arguments: ask for just this option's arguments
            repair = pick
            schema = _args_schema(pick.option)
            messages = [*base, HumanMessage(_repair_text(pick.option, error))]
        else:
            repair, schema = None, step_schema
            messages = [*base, HumanMessage(_retry_text(raw, error, options))]
    return StepChoice(
        tool=DONE, args={}, raw=raw, tokens=tokens, attempts=retries + 1, valid=False, error=errors[-1], errors=errors
    )


@dataclass
class _Pick:
    option: StepOption
    args: dict[str, Any]
    reason: str


def _parse_step(out: dict[str, Any], by_name: dict[str, StepOption],
                defaults: dict[str, Any]) -> tuple[_Pick | None, str]:
    """Parsed NextStep -> a pick and "" if valid; (pick, error) if only the arguments fail;
    (None, error) if there is no usable pick at all."""
    error = out.get("parsing_error")
    parsed = out.get("parsed")
    if error is not None:
        return None, _short_error(error)
    if parsed is None:
        return None, "no NextStep call was made; you must call NextStep"
    option = by_name[parsed.tool]
    given = {k: v for k, v in parsed.model_dump(exclude={"tool", "reason"}).items() if v is not None}
    # the flat schema offers every option's arguments: the ones this option does not take are dropped
    # (measured: the 1.5B model filled exposure's `max_hops` on a trace pick, and the repair call that
    # followed cost a second ~2,000-token prompt)
    fields = option.args.model_fields
    given = {k: v for k, v in defaults.items() if k in fields} | {k: v for k, v in given.items() if k in fields}
    pick = _Pick(option, given, parsed.reason.strip())
    return _check(pick)


def _parse_args(out: dict[str, Any], repair: _Pick) -> tuple[_Pick | None, str]:
    """Parsed arguments of the repair call -> the original pick with these arguments."""
    error = out.get("parsing_error")
    parsed = out.get("parsed")
    if error is not None:
        return repair, f"option {repair.option.name!r}: " + _short_error(error)
    if parsed is None:
        return repair, f"no arguments were given for {repair.option.name!r}"
    return _check(_Pick(repair.option, parsed.model_dump(), repair.reason))


def _check(pick: _Pick) -> tuple[_Pick, str]:
    """Validate the arguments against the option's own model; keep only its fields."""
    try:
        args = pick.option.args.model_validate(pick.args).model_dump()
    except ValidationError as exc:
        return pick, f"option {pick.option.name!r}: " + _short_error(exc)
    pick.args = {k: v for k, v in args.items() if k in pick.option.args.model_fields}
    return pick, ""


def _args_schema(option: StepOption) -> type[BaseModel]:
    """The option's argument model under a self-explaining tool name, e.g. `profile_arguments`."""
    return create_model(
        f"{option.name}_arguments", __base__=option.args, __doc__=f"Arguments for {option.name}: {option.description}"
    )


def _short_error(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        parts = [f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in error.errors()[:4]]
        return "; ".join(parts)
    if isinstance(error, OutputParserException | ValueError | json.JSONDecodeError):
        return str(error).splitlines()[0][:300]
    return f"{type(error).__name__}: {str(error)[:300]}"


def _retry_text(raw: AIMessage | None, error: str, options: list[StepOption]) -> str:
    """The retry turn as plain user text: the small server drops assistant tool-call turns."""
    previous = json.dumps(raw.tool_calls[0]["args"]) if raw is not None and raw.tool_calls else (raw.text if raw else "")
    names = ", ".join(o.name for o in options)
    return (
        f"Your previous answer was invalid.\nAnswer: {previous[:500]}\nProblem: {error}\n"
        f"Call NextStep again with tool one of: {names}, and the arguments that option needs."
    )


def _repair_text(option: StepOption, error: str) -> str:
    fields = ", ".join(option.args.model_fields)
    return (
        f"You chose {option.name}, but its arguments were invalid: {error}\n"
        f"Call {option.name}_arguments with {fields}. Copy ids exactly from the context."
    )


def _tokens(raw: AIMessage | None) -> int:
    usage = getattr(raw, "usage_metadata", None)
    return int(usage["total_tokens"]) if usage else 0
