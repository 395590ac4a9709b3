"""The backend the `serving` setting names."""

from __future__ import annotations

from collections.abc import Callable

from assistant.backends.seam import Backend
from assistant.model_prep import BaseModelRef
from assistant.settings import Settings

OPENAI = "openai"


def open_backend(
    settings: Settings, base: BaseModelRef | None, progress: Callable[[str], None] = lambda _: None
) -> Backend:
    """``serving = "openai"``: the server at openai.base_url, counting tokens with the local
    tokenizer of ``base`` when there is one; any other value: the model loaded here with
    transformers, in that serving form."""
    if settings.serving == OPENAI:
        from assistant.backends.counting import counter_for
        from assistant.backends.openai_backend import OpenAIBackend

        progress(f"Connecting to the model server at {settings.openai.base_url}")
        counter = counter_for(base.location if base is not None else None)
        return OpenAIBackend(settings.openai, counter, settings.paths.adapters)
    from assistant.hf_model import HFChatModel

    if base is None:
        raise ValueError("the transformers backend needs a base model")
    progress(f"Loading {base.model_id}")
    return HFChatModel.load(settings, base)
