"""The deskloop terminal app: chat, knowledge base, training and adapters, one screen each."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from assistant.app import open_store
from assistant.engine import ChatEngine
from assistant.settings import Settings
from assistant.store import Store
from tui.screens.adapters import AdaptersScreen
from tui.screens.chat import ChatScreen
from tui.screens.help import HelpScreen
from tui.screens.knowledge import KnowledgeScreen
from tui.screens.training import TrainingScreen
from tui.services import EngineFactory, default_engine_factory, describe_error, open_registry

if TYPE_CHECKING:
    from assistant.client import Client
    from tui.remote_services import TeamServices


LASTING = {"severity": "error", "timeout": 30}


class DeskloopApp(App[None]):
    CSS_PATH = "deskloop.tcss"
    TITLE = "deskloop"
    MODES: ClassVar[dict[str, type[Screen]]] = {
        "chat": ChatScreen,
        "knowledge": KnowledgeScreen,
        "training": TrainingScreen,
        "adapters": AdaptersScreen,
    }
    DEFAULT_MODE = "chat"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("f2", "switch_mode('chat')", "Chat"),
        Binding("f3", "switch_mode('knowledge')", "Knowledge"),
        Binding("f4", "switch_mode('training')", "Training"),
        Binding("f5", "switch_mode('adapters')", "Adapters"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    # What the status bar shows; set from the engine loader and after each answer.
    engine_status: reactive[str] = reactive("loading model…")
    model_label: reactive[str] = reactive("")
    adapter_label: reactive[str] = reactive("")
    last_answer_label: reactive[str] = reactive("")
    engine_ready: reactive[bool] = reactive(False)
    engine_failed: reactive[bool] = reactive(False)

    def __init__(
        self,
        settings: Settings,
        engine_factory: EngineFactory | None = None,
        team: TeamServices | None = None,
    ):
        """``team``: a deskloop server keeps the conversations, knowledge and adapters."""
        super().__init__()
        self.settings = settings
        self.team = team
        self.engine: ChatEngine | None = None
        self.chat_screen: ChatScreen | None = None  # set by the chat screen when it mounts
        if team is None:
            self.engine_factory = engine_factory or default_engine_factory
            self.store: Store = open_store(settings)
            self.registry = open_registry(settings)
            self.knowledge_base = None  # opened by the knowledge screen on first use
        else:
            self.engine_factory = engine_factory or team.engine_factory
            self.store = team.store  # type: ignore[assignment]
            self.registry = team.registry
            self.knowledge_base = team.knowledge_base
            self.engine_status = "connecting…"
        self.server_lost = False
        self.theme = "textual-dark"

    def on_mount(self) -> None:
        if self.team is None:
            self.refresh_adapter_label()
        else:
            self.poll_adapter()
            self.set_interval(self.team.adapter_poll_s, self.poll_adapter)
        self.load_engine()

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def load_engine(self) -> None:
        def progress(text: str) -> None:
            self.call_from_thread(setattr, self, "engine_status", f"{text}…")

        try:
            engine = self.engine_factory(self.settings, progress)
        except Exception as exc:
            self.call_from_thread(self._engine_failed, exc)
            return
        self.call_from_thread(self._engine_loaded, engine)

    def _engine_loaded(self, engine: ChatEngine) -> None:
        self.engine = engine
        self.model_label = engine.model.model_id
        self.engine_status = "ready" if engine.retriever is not None else "ready (not grounded)"
        self.engine_ready = True
        if engine.retriever is None:
            self.notify(
                "The knowledge base is empty, so answers are not grounded: "
                "ingest manuals and tickets on the Knowledge screen (F3).",
                severity="warning",
                timeout=10,
            )

    def _engine_failed(self, exc: BaseException) -> None:
        self.engine_failed = True
        if self.team is not None:
            self.engine_status = "no server"
            self.notify(describe_error(exc), title="Cannot use the deskloop server", **LASTING)
            return
        self.engine_status = "model failed to load"
        self.notify(
            f"{describe_error(exc)}\nCheck the model with 'deskloop model info', then restart.",
            title="Cannot load the model",
            severity="error",
            timeout=30,
        )

    def refresh_adapter_label(self) -> None:
        """The adapter the next answer will use: the registry's active one."""
        try:
            active = self.registry.active() if self.registry is not None else None
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return
        self.adapter_label = active or "base"

    # team mode: the server's adapter, polled so a promotion shows without a restart

    @work(thread=True, exclusive=True, group="adapter-poll", exit_on_error=False)
    def poll_adapter(self) -> None:
        try:
            active, changed_by = self.registry.pointer()  # type: ignore[union-attr]
        except Exception as exc:
            self.call_from_thread(self._adapter_poll_failed, exc)
            return
        self.call_from_thread(self._server_adapter, active, changed_by)

    def _server_adapter(self, active: str | None, changed_by: str | None) -> None:
        if self.server_lost:
            self.server_lost = False
            self.engine_status = "ready" if self.engine_ready else self.engine_status
            self.notify("The deskloop server answers again.")
        label = active or "base"
        if self.adapter_label and label != self.adapter_label:
            who = f" (changed by {changed_by})" if changed_by else ""
            self.notify(f"{label} is in service now{who}: the next answer uses it.")
        self.adapter_label = label

    def _adapter_poll_failed(self, exc: BaseException) -> None:
        from tui.remote_services import unreachable

        if self.server_lost or not self.engine_ready:
            return  # said once; before start-up the engine loader says it
        self.server_lost = True
        title = "Cannot tell which adapter the server uses"
        if unreachable(exc):
            self.engine_status = "server unreachable"
            title = "Lost the deskloop server"
        self.notify(describe_error(exc), title=title, **LASTING)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.chat_screen is not None:
            self.chat_screen.cancel_generation()
        self.exit()


def run_app(settings: Settings, server: Client | None = None) -> None:
    """The app on this machine's state, or on a deskloop server's (team mode)."""
    team = None
    if server is not None:
        from tui.remote_services import TeamServices

        team = TeamServices(server)
    DeskloopApp(settings, team=team).run()
