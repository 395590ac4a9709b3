"""Token counters for prompt budgets when the model's weights live elsewhere (a server)."""

from __future__ import annotations

import math
from pathlib import Path

from assistant.prompt import TokenCounter, TokenizerCounter

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 8  # role markers and separators a chat template adds per message


class CharEstimateCounter:
    """A TokenCounter without a tokenizer: a token per 4 characters, rounded up."""

    def count_messages(self, messages: list[dict]) -> int:
        return sum(self.count_text(m["content"]) + MESSAGE_OVERHEAD for m in messages) + 4

    def count_text(self, text: str) -> int:
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def truncate(self, text: str, max_tokens: int) -> str:
        limit = max_tokens * CHARS_PER_TOKEN
        if len(text) <= limit:
            return text
        cut = text[:limit]
        if " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        return cut.rstrip() + " ..."


def counter_for(location: str | None) -> TokenCounter:
    """The tokenizer of the local model folder at ``location`` when it has one, else the
    character estimate (nothing is fetched from a hub)."""
    if location and (Path(location) / "tokenizer_config.json").is_file():
        from assistant.hf_model import load_tokenizer

        try:
            return TokenizerCounter(load_tokenizer(location))
        except Exception:  # an unreadable tokenizer only costs the budget's precision
            pass
    return CharEstimateCounter()
