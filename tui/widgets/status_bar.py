"""One line at the bottom of the chat: model, adapter, engine state and the last answer's speed."""

from __future__ import annotations

from textual.widgets import Static


class StatusBar(Static):
    def on_mount(self) -> None:
        app = self.app
        for name in ("engine_status", "model_label", "adapter_label", "last_answer_label"):
            self.watch(app, name, lambda _value: self.refresh_text(), init=False)
        self.refresh_text()

    def refresh_text(self) -> None:
        app = self.app
        parts = [
            app.engine_status,  # type: ignore[attr-defined]
            f"adapter {app.adapter_label or 'base'}",  # type: ignore[attr-defined]
            app.last_answer_label,  # type: ignore[attr-defined]
            short_model_name(app.model_label),  # type: ignore[attr-defined]
        ]
        self.update(" · ".join(part for part in parts if part))


def short_model_name(model_id: str) -> str:
    """'HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF ...)' -> 'SmolLM2-135M-Instruct'."""
    return model_id.split(" (", 1)[0].rsplit("/", 1)[-1]
