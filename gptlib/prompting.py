"""Prompt formats the book's chapters share: instructions, dialogues and few-shot prompts.

A prompt format is only a convention for laying text out, but a model tuned on one format answers
best when it is prompted in the same one, so every chapter builds its prompts here:

* :func:`format_instruction`: the **Alpaca** layout (Taori et al., 2023) used to train and evaluate
  instruction-following models. A fixed preamble, then ``### Instruction:``, an optional
  ``### Input:`` and ``### Response:``. The prompt ends with ``"### Response:\\n"``, so
  ``format_instruction(ex, with_response=True) == format_instruction(ex) + ex["output"]`` and
  the response tokens can be told apart from the prompt tokens (what the loss mask needs).
* :func:`format_dialogue` and :func:`dialogue_pairs`: several turns, each opened by a role marker
  (``### User:``, ``### Assistant:``, ``### System:``) and separated by a blank line. A chat model
  is trained on the assistant turns only: :func:`dialogue_pairs` gives one (prompt, response)
  pair per assistant turn, the prompt being every turn before it.
* :func:`few_shot_prompt`: solved examples followed by the query, each laid out by one template
  such as ``"Review: {input}\\nSentiment: {output}"``; the query stops where ``{output}`` would be,
  so the model's next tokens are the answer (GPT-3's zero-, one- and few-shot prompts).

Examples are dicts (``{"instruction", "input", "output"}`` for instructions). Every bad input
raises ``TypeError``/``ValueError`` naming the argument and what to pass.
"""
from __future__ import annotations

import string
from typing import Mapping, Sequence

__all__ = ["ALPACA_PREAMBLE", "ALPACA_PREAMBLE_WITH_INPUT", "RESPONSE_MARKER", "INSTRUCTION_STOP",
           "format_instruction", "DIALOGUE_ROLES", "format_dialogue", "dialogue_pairs",
           "FEW_SHOT_TEMPLATE", "few_shot_prompt"]

# ------------------------------------------------------------------------------ instructions
ALPACA_PREAMBLE = ("Below is an instruction that describes a task. "
                   "Write a response that appropriately completes the request.")
ALPACA_PREAMBLE_WITH_INPUT = ("Below is an instruction that describes a task, paired with an input that "
                              "provides further context. Write a response that appropriately completes "
                              "the request.")
RESPONSE_MARKER = "### Response:\n"
# A model that goes on past its answer usually starts the next section: stop generating there.
INSTRUCTION_STOP = ("\n\n###", "\n###")


def _text_field(example: Mapping, key: str, required: bool, what: str) -> str:
    if key not in example:
        if required:
            raise ValueError(f"{what} has no {key!r} field; it needs 'instruction' (and optionally "
                             f"'input' and 'output'), got keys {sorted(example)}")
        return ""
    value = example[key]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{what}[{key!r}] must be a string, got {type(value).__name__}")
    return value


def format_instruction(example: Mapping, with_response: bool = False) -> str:
    """The Alpaca prompt for ``example`` ({"instruction", "input" (may be empty), "output"}).

    Without an input::

        Below is an instruction that describes a task. Write a response that appropriately
        completes the request.

        ### Instruction:
        {instruction}

        ### Response:

    With a non-empty ``input`` the preamble mentions it and an ``### Input:`` section follows the
    instruction. The prompt ends with ``"### Response:\\n"``; ``with_response=True`` appends
    ``example["output"]`` (the training text).
    """
    if not isinstance(example, Mapping):
        raise TypeError(f"example must be a dict with 'instruction', 'input', 'output', "
                        f"got {type(example).__name__}")
    if not isinstance(with_response, bool):
        raise TypeError(f"with_response must be True or False, got {with_response!r}")
    instruction = _text_field(example, "instruction", True, "example")
    if not instruction.strip():
        raise ValueError("example['instruction'] is empty; an instruction prompt needs an instruction")
    extra = _text_field(example, "input", False, "example")
    if extra.strip():
        text = (f"{ALPACA_PREAMBLE_WITH_INPUT}\n\n### Instruction:\n{instruction}\n\n"
                f"### Input:\n{extra}\n\n{RESPONSE_MARKER}")
    else:
        text = f"{ALPACA_PREAMBLE}\n\n### Instruction:\n{instruction}\n\n{RESPONSE_MARKER}"
    if with_response:
        if "output" not in example:
            raise ValueError("with_response=True needs example['output'] (the reference response)")
        text += _text_field(example, "output", True, "example")
    return text


# -------------------------------------------------------------------------------- dialogues
DIALOGUE_ROLES = {"system": "### System:", "user": "### User:", "assistant": "### Assistant:"}


def _turns(turns, what: str = "turns") -> list[tuple[str, str]]:
    if isinstance(turns, (str, bytes)) or not isinstance(turns, Sequence):
        raise TypeError(f"{what} must be a list of (role, text) pairs or {{'role', 'content'}} dicts")
    out = []
    for i, turn in enumerate(turns):
        if isinstance(turn, Mapping):
            if "role" not in turn or "content" not in turn:
                raise ValueError(f"{what}[{i}] needs 'role' and 'content', got keys {sorted(turn)}")
            role, text = turn["role"], turn["content"]
        elif isinstance(turn, (tuple, list)) and len(turn) == 2:
            role, text = turn
        else:
            raise TypeError(f"{what}[{i}] must be a (role, text) pair or a {{'role', 'content'}} dict, "
                            f"got {type(turn).__name__}")
        if role not in DIALOGUE_ROLES:
            raise ValueError(f"{what}[{i}] has role {role!r}; roles are {', '.join(DIALOGUE_ROLES)}")
        if not isinstance(text, str):
            raise TypeError(f"{what}[{i}] text must be a string, got {type(text).__name__}")
        if role == "system" and i != 0:
            raise ValueError(f"{what}[{i}] is a system turn; a system message may only come first")
        out.append((role, text))
    return out


def format_dialogue(turns, add_generation_prompt: bool = True) -> str:
    """Turns laid out with role markers, one blank line between turns::

        ### User:
        Hi!

        ### Assistant:
        Hello.

    ``turns``: (role, text) pairs or ``{"role", "content"}`` dicts, roles ``system`` (first only),
    ``user``, ``assistant``. With ``add_generation_prompt`` the text ends with an open
    ``### Assistant:`` turn for the model to complete (generate until ``"\\n\\n###"``).
    """
    turns = _turns(turns)
    text = "\n\n".join(f"{DIALOGUE_ROLES[role]}\n{content}" for role, content in turns)
    if add_generation_prompt:
        text = (text + "\n\n" if text else "") + DIALOGUE_ROLES["assistant"] + "\n"
    return text


def dialogue_pairs(turns) -> list[tuple[str, str]]:
    """One ``(prompt, response)`` pair per assistant turn, for training on assistant replies only.

    The prompt is :func:`format_dialogue` of the turns before it with the generation prompt, so
    ``prompt + response`` is exactly the dialogue's text up to that reply; feed the pairs, encoded,
    to :func:`gptlib.data.collate_causal_lm` to mask everything but the replies out of the loss.
    """
    turns = _turns(turns)
    pairs = []
    for i, (role, content) in enumerate(turns):
        if role == "assistant":
            pairs.append((format_dialogue(turns[:i], add_generation_prompt=True), content))
    if not pairs:
        raise ValueError("turns has no assistant turn, so there is nothing to train on")
    return pairs


# --------------------------------------------------------------------------------- few-shot
FEW_SHOT_TEMPLATE = "Input: {input}\nOutput: {output}"


def _template_fields(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as e:
        raise ValueError(f"template {template!r} is not a valid format string: {e}") from None


def _as_fields(item, what: str) -> dict:
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return {"input": item[0], "output": item[1]}
    raise TypeError(f"{what} must be a dict of template fields or an (input, output) pair, "
                    f"got {type(item).__name__}")


def few_shot_prompt(examples, query, template: str = FEW_SHOT_TEMPLATE, separator: str = "\n\n",
                    instructions: str | None = None) -> str:
    """``instructions`` (optional), the solved ``examples``, then the unsolved ``query``.

    Each example is a dict of the template's fields or an ``(input, output)`` pair; ``query`` is a
    dict of the fields before ``{output}``, or a string (the ``input`` field). The
    query is the template cut just before ``{output}`` with trailing spaces removed, so that the
    answer's first BPE token carries its leading space (``"Sentiment:"`` → ``" positive"``). Zero-
    shot is ``examples=[]``. ``template`` must contain ``{output}`` once, as its last field.
    """
    if not isinstance(template, str):
        raise TypeError(f"template must be a string, got {type(template).__name__}")
    fields = _template_fields(template)
    if fields.count("output") != 1 or fields[-1] != "output":
        raise ValueError(f"template must contain '{{output}}' exactly once, as its last field "
                         f"(the answer the model writes), got {template!r}")
    if isinstance(examples, (str, bytes, Mapping)) or not isinstance(examples, Sequence):
        raise TypeError("examples must be a list of solved examples (dicts or (input, output) pairs); "
                        "pass [] for zero-shot")
    if not isinstance(separator, str):
        raise TypeError(f"separator must be a string, got {type(separator).__name__}")

    def render(fields_: dict, tmpl: str, what: str) -> str:
        missing = [f for f in _template_fields(tmpl) if f not in fields_]
        if missing:
            raise ValueError(f"{what} lacks the template field(s) {missing}; it has {sorted(fields_)}")
        return tmpl.format(**{k: str(v) for k, v in fields_.items()})

    parts = [] if instructions is None else [instructions]
    for i, ex in enumerate(examples):
        parts.append(render(_as_fields(ex, f"examples[{i}]"), template, f"examples[{i}]"))
    q = {"input": query} if isinstance(query, str) else _as_fields(query, "query")
    head = template[:template.rindex("{output}")]
    parts.append(render(q, head, "query").rstrip(" "))
    return separator.join(parts)
