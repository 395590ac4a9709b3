"""Training: feedback counts, start a round, follow it live (loss plot), see the decision."""

from __future__ import annotations

import subprocess
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, Select, Static
from textual_plotext import PlotextPlot

from tui.formatting import duration, number
from tui.services import describe_error
from tui.training_runs import (
    CANDIDATE,
    Launch,
    RoundProgress,
    fold,
    is_running,
    last_launch,
    last_log_line,
    newest_events,
    read_events,
    start_round,
)

POLL_SECONDS = 1.0
TEAM_TRAINING = (
    "In team mode the server trains on the whole team's flags: an admin starts a round "
    "with 'deskloop train' (DESKLOOP_SERVER and an admin's DESKLOOP_TOKEN set) and "
    "promotes it; the chat switches to it without a restart."
)


class TrainingScreen(Screen[None]):
    SUB_TITLE = "Training"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+t", "start_round", "Start round")]

    def __init__(self) -> None:
        super().__init__()
        self.launch: Launch | None = None
        self.process: subprocess.Popen | None = None
        self.progress = RoundProgress()
        self._plotted: list[tuple[int, float]] = []

    def compose(self) -> ComposeResult:
        training = self.app.settings.training  # type: ignore[attr-defined]
        yield Header()
        with Vertical(id="training-body"):
            yield Static("", markup=False, id="feedback-counts")
            with Horizontal(id="round-form"):
                yield Label("method", classes="form-label")
                yield Select(
                    [("QLoRA (4-bit base)", "qlora"), ("LoRA", "lora")],
                    value=training.method,
                    allow_blank=False,
                    id="round-method",
                )
                yield Label("steps", classes="form-label")
                yield Input(str(training.max_steps), type="integer", id="round-steps")
                yield Button("Start round", variant="primary", id="round-start")
            yield Static("No round yet.", markup=False, id="round-status")
            yield ProgressBar(id="round-progress", show_eta=False)
            yield PlotextPlot(id="loss-plot")
            yield Static("", markup=False, id="round-evaluation")
        yield Footer()

    @property
    def team_mode(self) -> bool:
        return self.app.team is not None  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        self.refresh_counts()
        if self.team_mode:
            self.query_one("#round-form").disabled = True
            self.query_one("#round-status", Static).update(TEAM_TRAINING)
            return
        self.launch = last_launch(self.app.settings)  # type: ignore[attr-defined]
        plot = self.query_one("#loss-plot", PlotextPlot).plt
        plot.title("training loss")
        plot.xlabel("step")
        self.poll()
        self.set_interval(POLL_SECONDS, self.poll)

    def on_screen_resume(self) -> None:
        self.refresh_counts()
        if not self.team_mode:
            self.poll()

    def refresh_counts(self) -> None:
        try:
            counts = self.app.store.feedback_counts()  # type: ignore[attr-defined]
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return
        whose = "The team's feedback" if self.team_mode else "Feedback"
        self.query_one("#feedback-counts", Static).update(
            f"{whose}: {counts['good']} good · {counts['corrected']} corrected · "
            f"{counts['bad']} bad without a correction"
        )

    # starting

    @property
    def running(self) -> bool:
        return self.launch is not None and is_running(self.launch.pid, self.process)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "round-start":
            self.action_start_round()

    def action_start_round(self) -> None:
        if self.team_mode:
            self.notify(TEAM_TRAINING, severity="warning")
            return
        if self.running:
            self.notify("A round is already running; it is shown here.")
            return
        method = self.query_one("#round-method", Select).value
        steps_text = self.query_one("#round-steps", Input).value.strip()
        if not steps_text.isdigit() or int(steps_text) < 1:
            self.notify("Steps must be a whole number of at least 1.", severity="warning")
            return
        try:
            self.launch, self.process = start_round(
                self.app.settings,  # type: ignore[attr-defined]
                str(method),
                int(steps_text),
            )
        except Exception as exc:
            self.notify(f"Could not start the round: {describe_error(exc)}", severity="error")
            return
        self.progress = RoundProgress()
        self.notify(
            f"Round started (pid {self.launch.pid}). It runs on its own: you can leave this "
            "screen or quit deskloop."
        )
        self.poll()

    # following

    def poll(self) -> None:
        settings = self.app.settings  # type: ignore[attr-defined]
        try:
            events_file = newest_events(settings.paths.runs)
            events = read_events(events_file) if events_file else []
            # A run older than our launch is the previous round, not this one.
            if (
                self.launch is not None
                and events_file is not None
                and events_file.stat().st_mtime < self.launch.started_at - 1
            ):
                events = []
            self.progress = fold(events)
        except Exception as exc:
            self.query_one("#round-status", Static).update(f"cannot read progress: {exc}")
            return
        self.show_status()
        self.show_plot()
        self.show_evaluation()
        if self.progress.finished:
            self.app.refresh_adapter_label()  # type: ignore[attr-defined]

    def show_status(self) -> None:
        p = self.progress
        running = self.running
        parts: list[str] = []
        if p.run_id:
            parts.append(f"run {p.run_id}")
        if running:
            parts.append(f"running (pid {self.launch.pid})")  # type: ignore[union-attr]
        if p.stage:
            parts.append(p.stage)
        elif running and self.launch is not None:
            parts.append(last_log_line(self.launch.log) or "starting")
        if p.max_steps:
            parts.append(f"step {p.step}/{p.max_steps}")
            parts.append(f"loss {number(p.loss)}")
            if p.tokens_per_s:
                parts.append(f"{p.tokens_per_s:g} tok/s")
            if running and p.eta_s is not None:
                parts.append(f"ETA {duration(p.eta_s)}")
        if p.eval_progress:
            label, done, total = p.eval_progress
            parts.append(f"evaluating {label} {done}/{total}")
        failure = self._failure(running)
        if failure:
            parts.append(failure)
        if not parts:
            parts.append("No round yet: Ctrl+T starts one (it trains on the flagged answers).")
        self.query_one("#round-status", Static).update(" · ".join(parts))
        self.set_class(bool(failure), "-failed")
        bar = self.query_one("#round-progress", ProgressBar)
        if p.max_steps:
            bar.update(total=p.max_steps, progress=p.step)
        else:
            bar.update(total=None if running else 1, progress=0)
        self.query_one("#round-start", Button).disabled = running

    def _failure(self, running: bool) -> str:
        """Why the last launched round stopped early, from its log."""
        if running or self.launch is None or self.progress.finished:
            return ""
        code = self.process.returncode if self.process is not None else None
        if code == 0 or (code is None and self.progress.max_steps):
            return ""
        line = last_log_line(self.launch.log)
        if not line:
            return ""
        return f"stopped: {line} (log: {self.launch.log})"

    def show_plot(self) -> None:
        losses = self.progress.losses
        if losses == self._plotted:
            return
        self._plotted = list(losses)
        plot_widget = self.query_one("#loss-plot", PlotextPlot)
        plt = plot_widget.plt
        plt.clear_data()
        if losses:
            plt.plot([s for s, _ in losses], [loss for _, loss in losses], marker="braille")
        plot_widget.refresh()

    def show_evaluation(self) -> None:
        p = self.progress
        lines = []
        if p.incumbent is not None and p.incumbent in p.evals:
            lines.append(f"in service ({p.incumbent}): {_metrics(p.evals[p.incumbent])}")
        if CANDIDATE in p.evals:
            lines.append(f"candidate: {_metrics(p.evals[CANDIDATE])}")
        if p.finished:
            verdict = "promoted, now in service" if p.promoted else "kept out of service"
            lines.append(f"decision: {p.version} {verdict}{self._reason(p.version)}")
        self.query_one("#round-evaluation", Static).update("\n".join(lines))

    def _reason(self, version: str | None) -> str:
        registry = self.app.registry  # type: ignore[attr-defined]
        if registry is None or version is None:
            return ""
        try:
            decision: dict[str, Any] = registry.show(version).get("decision", {})
        except Exception:
            return ""
        return f" ({decision['reason']})" if decision.get("reason") else ""


def _metrics(metrics: dict[str, Any]) -> str:
    keys = ("rouge_l", "token_f1", "decline_rate_unanswerable")
    return " · ".join(f"{key} {number(metrics.get(key))}" for key in keys if key in metrics)
