"""The engine's answer path with the answer layer: quoted evidence, checked citations, declines,
and the model choosing among evidence spans."""

import pytest
from fakes import ScriptedModel

from assistant.answering.grounder import Grounder
from assistant.engine import ChatEngine
from assistant.prompt import DECLINE_ANSWER
from assistant.settings import load_settings
from assistant.store import SourceRef, Store

RECOVERY = (
    "If you have no backup codes left, tap Can't get a code? and choose Request account "
    "recovery. Korvo Support will contact you by email to verify your identity."
)
PAYMENTS = "You can pay with Visa, Mastercard, PayPal and SEPA Direct Debit."
KNOWN_WORDS = "pay visa paypal code backup account recoveri phone korvo"
VOCABULARY = frozenset(KNOWN_WORDS.split())


class ListRetriever:
    def __init__(self, *texts: str):
        self.texts = texts

    def retrieve(self, messages, k):
        return [
            SourceRef(
                n=i, chunk_id=f"c{i}", source=f"m{i}.md", title=f"Page {i}", similarity=0.7, text=t
            )
            for i, t in enumerate(self.texts, start=1)
        ][:k]


def engine_for(model, tmp_path, embed, *texts: str, **answers) -> ChatEngine:
    settings = load_settings()
    for key, value in answers.items():
        setattr(settings.answers, key, value)
    grounder = Grounder(embed, settings.answers, lambda: VOCABULARY)
    return ChatEngine(
        model, Store(tmp_path / "d.db"), settings, ListRetriever(*texts), None, grounder
    )


def test_a_quoted_answer_is_cited_and_its_grounding_stored(tmp_path, embed):
    engine = engine_for(ScriptedModel(), tmp_path, embed, RECOVERY, PAYMENTS, model_choices=1)
    stream = engine.ask("I have no backup codes, how do I get back into my account?")
    answer = stream.text()
    assert "Request account recovery [1]." in answer
    stored = engine.store.turn(stream.result.turn_id)
    assert stored.grounding["cited"] == [1]
    assert all(s["supported"] for s in stored.grounding["sentences"])
    assert stream.result.to_dict()["status"] == "answered"


def test_the_models_invalid_marker_is_removed_and_its_invention_marked(tmp_path, embed):
    model = ScriptedModel(
        ["Choose Request account recovery [5]. Then reinstall the app and reboot twice [1]."]
    )
    engine = engine_for(model, tmp_path, embed, RECOVERY, compose="model", model_choices=1)
    stream = engine.ask("I have no backup codes, how do I get back into my account?")
    answer = stream.text()
    assert "[5]" not in answer and "Choose Request account recovery [1]." in answer
    grounding = stream.result.grounding
    assert grounding["removed_markers"] == [5, 1]
    invented = [s for s in grounding["sentences"] if not s["supported"]]
    assert [s["text"] for s in invented] == ["Then reinstall the app and reboot twice."]
    assert "Then reinstall the app and reboot twice." in answer


def test_a_question_the_sources_do_not_answer_is_declined(tmp_path, embed):
    engine = engine_for(ScriptedModel(), tmp_path, embed, PAYMENTS)
    stream = engine.ask("Can I pay with Bitcoin or another cryptocurrency?")
    assert stream.text() == DECLINE_ANSWER
    assert stream.result.status == "declined"
    assert stream.result.grounding["declined"]["unknown"] == ["bitcoin", "cryptocurr"]


class PreferringModel(ScriptedModel):
    """Prefers to say whatever mentions ``word``: stands for an adapter's learned preference."""

    def __init__(self, word: str):
        super().__init__()
        self.word = word

    def score(self, messages, completions, adapter):
        self.scored_with = adapter.version if adapter else None
        return [0.0 if self.word in text else -10.0 for text in completions]


@pytest.mark.parametrize("word", ["Korvo Support", "PayPal"])
def test_the_model_chooses_among_evidence_spans(tmp_path, embed, word):
    model = PreferringModel(word)
    engine = engine_for(model, tmp_path, embed, RECOVERY, PAYMENTS)
    engine.adapter_choice = lambda: ("v0001", None)
    answer = engine.ask("How do I pay or get back into my account?").text()
    assert word in answer and model.scored_with == "v0001"


def test_the_base_model_does_not_choose(tmp_path, embed):
    model = PreferringModel("PayPal")
    engine = engine_for(model, tmp_path, embed, RECOVERY, PAYMENTS)
    answer = engine.ask("I have no backup codes, how do I get back into my account?").text()
    assert "PayPal" not in answer and "Request account recovery" in answer
