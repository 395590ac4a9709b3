"""Dataset records -> the exact messages serving would build, through assistant.prompt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.prompt import PromptSource, TokenizerCounter, build_messages
from assistant.settings import Settings


def prompt_sources(sources: Sequence[Mapping[str, Any]] | None) -> list[PromptSource]:
    """Sources for the prompt, headed as serving heads them.

    Dataset records ({n, title, text}) carry any section in their title already; retrieved
    sources (a SourceRef's dict, as ``deskloop eval --retrieve`` passes) carry it apart.
    """
    return [
        PromptSource(
            n=i,
            title=str(s.get("title") or s.get("source") or ""),
            text=str(s["text"]),
            section=str(s.get("section") or ""),
        )
        for i, s in enumerate(sources or [], start=1)
    ]


def serving_messages(
    prompt: Sequence[Mapping[str, str]],
    sources: Sequence[Mapping[str, Any]] | None,
    counter: TokenizerCounter,
    settings: Settings,
    context_tokens: int | None = None,
) -> list[dict]:
    """The prompt as serving builds it: deskloop's system policy, history, sources, question.

    ``prompt`` ends with the user's question; any system message in it is replaced by the
    serving policy, as serving would.
    """
    turns = [dict(m) for m in prompt if m["role"] != "system"]
    if not turns or turns[-1]["role"] != "user":
        raise ValueError("a prompt must end with the user's question")
    return build_messages(
        turns[-1]["content"],
        turns[:-1],
        prompt_sources(sources),
        counter,
        context_tokens=context_tokens or settings.prompt.context_tokens,
        source_tokens=settings.prompt.source_tokens,
    )
