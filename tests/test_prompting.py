"""gptlib.prompting: the instruction, dialogue and few-shot formats the chapters share."""
import pytest

from gptlib import prompting as P
from gptlib.data import collate_causal_lm

EX = {"instruction": "Name a mammal that lays eggs.", "input": "", "output": "The platypus."}
EX_IN = {"instruction": "Translate to French.", "input": "Good morning.", "output": "Bonjour."}


def test_alpaca_layout_without_input():
    text = P.format_instruction(EX)
    assert text == (P.ALPACA_PREAMBLE + "\n\n### Instruction:\nName a mammal that lays eggs.\n\n"
                    "### Response:\n")
    assert "### Input:" not in text and text.endswith(P.RESPONSE_MARKER)


def test_alpaca_layout_with_input():
    text = P.format_instruction(EX_IN)
    assert text.startswith(P.ALPACA_PREAMBLE_WITH_INPUT + "\n\n### Instruction:\nTranslate to French.")
    assert "\n\n### Input:\nGood morning.\n\n### Response:\n" in text


@pytest.mark.parametrize("ex", [EX, EX_IN, {"instruction": "Say hi.", "output": "Hi."},
                                {"instruction": "Say hi.", "input": None, "output": "Hi."}])
def test_prompt_plus_output_is_the_training_text(ex):
    assert P.format_instruction(ex, with_response=True) == P.format_instruction(ex) + ex["output"]


def test_a_whitespace_input_counts_as_no_input():
    assert P.format_instruction({**EX, "input": "  "}) == P.format_instruction(EX)


@pytest.mark.parametrize("bad, exc, words", [
    ("text", TypeError, "dict"),
    ({"input": "x"}, ValueError, "instruction"),
    ({"instruction": "  "}, ValueError, "empty"),
    ({"instruction": 3}, TypeError, "string"),
])
def test_bad_examples_are_named(bad, exc, words):
    with pytest.raises(exc, match=words):
        P.format_instruction(bad)


def test_with_response_needs_output_and_a_bool():
    with pytest.raises(ValueError, match="output"):
        P.format_instruction({"instruction": "x"}, with_response=True)
    with pytest.raises(TypeError, match="with_response"):
        P.format_instruction(EX, with_response="yes")


def test_stop_strings_catch_a_new_section():
    run_on = "The platypus.\n\n### Instruction:\nName"
    assert any(s in run_on for s in P.INSTRUCTION_STOP)
    assert min(run_on.find(s) for s in P.INSTRUCTION_STOP if s in run_on) == len("The platypus.")


TURNS = [("system", "Be brief."), ("user", "Hi!"), ("assistant", "Hello."),
         ("user", "Capital of France?"), ("assistant", "Paris.")]


def test_dialogue_layout_and_generation_prompt():
    text = P.format_dialogue(TURNS[:2])
    assert text == "### System:\nBe brief.\n\n### User:\nHi!\n\n### Assistant:\n"
    assert P.format_dialogue(TURNS[:3], add_generation_prompt=False).endswith("### Assistant:\nHello.")
    dicts = [{"role": r, "content": c} for r, c in TURNS]
    assert P.format_dialogue(dicts) == P.format_dialogue(TURNS)
    assert P.format_dialogue([]) == "### Assistant:\n"


def test_dialogue_pairs_rebuild_the_dialogue():
    pairs = P.dialogue_pairs(TURNS)
    assert [r for _, r in pairs] == ["Hello.", "Paris."]
    full = P.format_dialogue(TURNS, add_generation_prompt=False)
    for prompt, response in pairs:
        assert full.startswith(prompt + response) and prompt.endswith("### Assistant:\n")
    assert pairs[1][0] == P.format_dialogue(TURNS[:4])


def test_dialogue_pairs_feed_the_masked_collate():
    enc = lambda s: [ord(c) for c in s]    # a character "tokenizer" is enough here
    batch = collate_causal_lm([(enc(p), enc(r)) for p, r in P.dialogue_pairs(TURNS)], pad_id=0)
    for row, (_, response) in zip(batch["targets"], P.dialogue_pairs(TURNS)):
        assert [t for t in row.tolist() if t != -100] == enc(response)


@pytest.mark.parametrize("bad, exc, words", [
    ("hi", TypeError, "list"),
    ([("bot", "x")], ValueError, "role"),
    ([("user", "x"), ("system", "y")], ValueError, "first"),
    ([{"role": "user"}], ValueError, "content"),
    ([("user", 5)], TypeError, "string"),
    ([("user",)], TypeError, "pair"),
])
def test_bad_dialogues_are_named(bad, exc, words):
    with pytest.raises(exc, match=words):
        P.format_dialogue(bad)


def test_dialogue_pairs_need_an_assistant_turn():
    with pytest.raises(ValueError, match="assistant"):
        P.dialogue_pairs([("user", "hi")])


def test_few_shot_layout():
    shots = [("great film", "positive"), {"input": "dull", "output": "negative"}]
    text = P.few_shot_prompt(shots, "loved it", template="Review: {input}\nSentiment: {output}",
                             instructions="Classify the sentiment.")
    assert text == ("Classify the sentiment.\n\nReview: great film\nSentiment: positive\n\n"
                    "Review: dull\nSentiment: negative\n\nReview: loved it\nSentiment:")


def test_zero_shot_is_the_query_alone_and_the_answer_keeps_its_space():
    assert P.few_shot_prompt([], "2 + 2") == "Input: 2 + 2\nOutput:"
    one = P.few_shot_prompt([("1 + 1", "2")], "2 + 2")
    assert one == "Input: 1 + 1\nOutput: 2\n\nInput: 2 + 2\nOutput:"


def test_few_shot_other_fields_and_separator():
    t = "Q: {question} ({topic})\nA: {output}"
    text = P.few_shot_prompt([{"question": "1+1?", "topic": "maths", "output": "2"}],
                             {"question": "2+2?", "topic": "maths"}, template=t, separator="\n")
    assert text == "Q: 1+1? (maths)\nA: 2\nQ: 2+2? (maths)\nA:"


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(template="Input: {input}"), ValueError, "output"),
    (dict(template="{output} {input}"), ValueError, "last"),
    (dict(template="{output} {output}"), ValueError, "once"),
    (dict(template="Input: {input\nOutput: {output}"), ValueError, "format string"),
    (dict(examples="shots"), TypeError, "zero-shot"),
    (dict(examples=[{"input": "x"}]), ValueError, "output"),
    (dict(examples=[3]), TypeError, "pair"),
    (dict(query={"text": "x"}), ValueError, "input"),
])
def test_bad_few_shot_inputs_are_named(kwargs, exc, words):
    args = dict(examples=[("a", "b")], query="c") | kwargs
    with pytest.raises(exc, match=words):
        P.few_shot_prompt(**args)
