from fakes import ScriptedModel

from assistant.engine import ChatEngine
from assistant.settings import load_settings
from assistant.store import SourceRef, Store
from tuning.prompts import serving_messages


def test_eval_prompt_with_retrieved_sources_matches_serving(tmp_path):
    """`deskloop eval --retrieve` passes retrieved sources as SourceRef dicts, section included."""
    settings, model = load_settings(), ScriptedModel()
    engine = ChatEngine(model, Store(tmp_path / "d.db"), settings)
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    retrieved = [
        SourceRef(1, "c1", "hub.md", title="Hub", section="LEDs", text="Blue blinks."),
        SourceRef(2, "c2", "faq.md", title="", section="", text="Reset it."),
    ]

    evaluated = serving_messages(
        [*history, {"role": "user", "content": "Why blue?"}],
        [s.to_dict() for s in retrieved],
        model,
        settings,
    )
    served = engine.build_messages("Why blue?", history, retrieved)

    assert "[1] Hub > LEDs\n" in served[-1]["content"]
    assert evaluated == served
