"""Round and evaluation events drawn as rich progress bars on stderr."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from assistant.cli_output import err


class ProgressView:
    """A tuning.events Progress callable: ``with ProgressView() as view: run(progress=view)``."""

    def __init__(self) -> None:
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[detail]}"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
            disable=not err.is_terminal,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressView:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bars.__exit__(*exc)

    def _task(self, name: str, total: int) -> TaskID:
        if name not in self.tasks:
            self.tasks[name] = self.bars.add_task(name, total=total, detail="")
        return self.tasks[name]

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "train_step":
            task = self._task("training", event["max_steps"])
            lr = event.get("learning_rate") or 0.0
            detail = f"loss {event['loss']:.3f}  lr {lr:.2e}  {event['tokens_per_s']} tok/s"
            self.bars.update(task, completed=event["step"], total=event["max_steps"], detail=detail)
            if not err.is_terminal:
                err.print(f"step {event['step']}/{event['max_steps']} {detail}")
        elif kind == "eval_start":
            self._task(f"eval {event['model']}", max(event["examples"], 1))
        elif kind == "eval_progress":
            task = self._task(f"eval {event['model']}", event["total"])
            self.bars.update(task, completed=event["done"])
        elif kind == "eval_end":
            self.bars.console.print(
                f"[dim]{event['model']}: rouge_l {event.get('rouge_l')}  "
                f"token_f1 {event.get('token_f1')}[/]"
            )
        elif kind == "stage":
            self.bars.console.print(f"[dim]{event['stage']}[/]")
        elif kind == "status":
            self.bars.console.print(f"[dim]{event['text']}[/]")
        elif kind == "train_start" and event.get("resumed_from_step"):
            self.bars.console.print(
                f"[dim]resuming run {event['run_id']} from step {event['resumed_from_step']}[/]"
            )
