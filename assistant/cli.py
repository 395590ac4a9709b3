"""The `deskloop` command: bare, it opens the app; each subcommand also speaks --json.

With DESKLOOP_SERVER and DESKLOOP_TOKEN set, every command but `serve`, `users`, `model` and
`config` asks that deskloop server instead of local state. Nothing slow (the store, the
knowledge base, the model, the settings) is imported before a command needs it, so a command
against a server starts in a fraction of a second.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

try:  # recent typer releases vendor click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors

from assistant import cli_knowledge, cli_team, client
from assistant.cli_fast import search_on_server
from assistant.cli_output import err, out, print_json, status
from assistant.errors import DeskloopError, is_user_error
from tuning.approved_cli import approved_app
from tuning.cli import (
    adapters_app,
    eval_command,
    feedback_export_command,
    feedback_import_command,
    train_command,
)

app = typer.Typer(
    help="deskloop: a support assistant that learns from your corrections.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)
model_app = typer.Typer(help="The base model.", no_args_is_help=True)
feedback_app = typer.Typer(help="Flag answers; import and export feedback.", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(feedback_app, name="feedback")
app.add_typer(adapters_app, name="adapters")
app.add_typer(approved_app, name="approved")
app.command("train")(train_command)
app.command("eval")(eval_command)
feedback_app.command("import")(feedback_import_command)
feedback_app.command("export")(feedback_export_command)
app.command()(cli_knowledge.ingest)
app.command()(cli_knowledge.search)
app.command()(cli_knowledge.sources)
app.command("serve")(cli_team.serve_command)
app.add_typer(cli_team.users_app, name="users")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
MAX_ID = 2**63 - 1  # the largest id the database holds
LOCAL_ONLY = ("serve", "users", "model", "config")  # local even with DESKLOOP_SERVER set

if TYPE_CHECKING:
    from assistant.settings import Settings


def settings() -> Settings:
    from assistant.settings import load_settings

    return load_settings()


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context) -> None:
    """Bare `deskloop` opens the chat app."""
    remote = ctx.invoked_subcommand not in (None, *LOCAL_ONLY) and client.server_set()
    if not remote:
        settings()  # an invalid setting fails here, before any work
    if ctx.invoked_subcommand is None:
        from assistant.chat_loop import run_main_job

        run_main_job(settings())


@app.command()
def config(as_json: JsonOption = False) -> None:
    """Print the effective settings and where deskloop keeps its files."""
    from assistant.settings import config_file

    current = settings()
    paths = current.paths
    document = {
        "config_file": str(config_file()),
        "config_file_exists": config_file().is_file(),
        "paths": {
            "home": str(paths.root),
            "database": str(paths.database),
            "index": str(paths.index),
            "models": str(paths.models),
            "adapters": str(paths.adapters),
        },
        "settings": current.model_dump(mode="json", exclude={"home"}),
    }
    if as_json:
        print_json(document)
        return
    import tomli_w

    out.print(f"# settings file: {document['config_file']}")
    out.print(tomli_w.dumps({"paths": document["paths"]}), markup=False)
    out.print(tomli_w.dumps(_without_none(document["settings"])), markup=False)


@model_app.command("prepare")
def model_prepare(as_json: JsonOption = False) -> None:
    """Make the base model ready (the embedded one is converted once, then reused)."""
    from assistant.app import quiet_libraries
    from assistant.model_prep import prepare_base_model

    quiet_libraries()
    with status("Preparing the base model") as update:
        ref = prepare_base_model(settings(), update)
    document = {"model_id": ref.model_id, "location": ref.location, "sha256": ref.sha256}
    print_json(document) if as_json else out.print(f"{ref.model_id} ready at {ref.location}")


@model_app.command("info")
def model_info(as_json: JsonOption = False) -> None:
    """Which base model is configured, whether it is prepared, and on what device it runs."""
    from assistant.hf_model import pick_device, pick_dtype
    from assistant.model_prep import resolve_base_model

    current = settings()
    ref = resolve_base_model(current)
    device = pick_device(current.device)
    document = {
        "model": current.model,
        "model_id": ref.model_id,
        "location": ref.location,
        "prepared": ref.prepared,
        "sha256": ref.sha256,
        "device": device,
        "dtype": str(pick_dtype(current.dtype, device)).removeprefix("torch."),
        "load_in_4bit": current.load_in_4bit,
    }
    if as_json:
        print_json(document)
        return
    for key, value in document.items():
        out.print(f"{key:>13}: {value}")


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="Omit to chat interactively.")] = None,
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Continue this conversation.")
    ] = None,
    adapter: Annotated[
        str | None, typer.Option("--adapter", help="An adapter version, or 'base'.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer one customer question from the knowledge base, streaming it, and log the turn."""
    if (server := client.from_env()) is not None:
        from assistant import cli_remote

        if question is None:
            cli_remote.chat(server, conversation)
        else:
            cli_remote.ask(server, question, conversation, adapter, as_json)
        return
    from assistant.app import open_store
    from assistant.chat_loop import answer_once, interactive_chat, load_engine

    current = settings()
    if conversation:
        open_store(current).conversation(conversation)  # fail before loading the model
    engine = load_engine(current, adapter)
    if question is None:
        interactive_chat(engine, conversation)
        return
    result = answer_once(engine, question, conversation, stream_to_terminal=not as_json)
    if as_json:
        print_json(result.to_dict())


@app.command()
def history(
    conversation: Annotated[str | None, typer.Argument(help="Show this conversation.")] = None,
    search: Annotated[str, typer.Option("--search", "-s", help="Filter by text.")] = "",
    as_json: JsonOption = False,
) -> None:
    """List conversations, or show one with its turns, sources and feedback."""
    server = client.from_env()
    if conversation:
        chat = server.conversation(conversation) if server else _conversation(conversation)
        if as_json:
            print_json(chat)
            return
        out.print(f"[bold]{escape(chat['title'])}[/] ({chat['id']})")
        for turn in chat["turns"]:
            flag = f"  [{turn['rating']}]" if turn.get("rating") else ""
            label = "customer" if turn["role"] == "user" else f"deskloop #{turn['id']}"
            out.print(f"\n[bold]{label}[/]{flag}")
            out.print(turn["content"], markup=False)
        return
    if server is not None:
        chats = server.conversations(search)
    else:
        from assistant.app import open_store

        chats = [c.to_dict() for c in open_store(settings()).conversations(search)]
    if as_json:
        print_json(chats)
        return
    if not chats:
        err.print("No conversations yet: ask something with 'deskloop ask'.")
    for chat in chats:
        out.print(
            f"{chat['id']}  {chat['updated_at'][:16]}  {chat['turn_count']:>3} turns  "
            f"{chat['title']}"
        )


def _conversation(conversation_id: str) -> dict:
    """`history ID --json`: the conversation with its turns, from the local store."""
    from assistant.app import open_store

    store = open_store(settings())
    chat = store.conversation(conversation_id)
    return {**chat.to_dict(), "turns": [t.to_dict() for t in store.turns(conversation_id)]}


@feedback_app.command("flag")
def feedback_flag(
    turn: Annotated[int, typer.Argument(help="The answer's turn id.", min=1, max=MAX_ID)],
    good: Annotated[bool, typer.Option("--good", help="The answer was right.")] = False,
    bad: Annotated[bool, typer.Option("--bad", help="The answer was wrong.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it was bad.")] = None,
    correction: Annotated[
        str | None, typer.Option("--correction", help="The answer it should have given.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Flag a logged answer good or bad, with a reason and a correction."""
    if good == bad:
        raise DeskloopError("say either --good or --bad")
    if (server := client.from_env()) is not None:
        from assistant import cli_remote

        rating = "good" if good else "bad"
        return cli_remote.flag(server, turn, rating, reason, correction, as_json)
    from assistant.app import open_store

    store = open_store(settings())
    flagged = store.flag(turn, "good" if good else "bad", reason, correction)
    approved = store.approved.for_turn(turn)
    if as_json:
        print_json({**flagged.to_dict(), "approved_answer": approved and approved.to_dict()})
    else:
        served = f"; served at once as approved answer {approved.id}" if approved else ""
        out.print(f"Turn {turn} flagged {flagged.rating}{served}.")


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def usage_error_line(exc: click_errors.ClickException) -> str:
    """A wrong, missing or malformed argument or option, and where its help is."""
    message = one_line(exc.format_message()).rstrip(".")
    context = getattr(exc, "ctx", None)
    where = context.command_path if context is not None else "deskloop"
    return f"{message}; see '{where} --help'"


def main(argv: list[str] | None = None) -> None:
    """Run a command; every failure ends as one `error:` line and a non-zero exit code.

    A failure that is no DeskloopError is a bug: it is still one line (naming the exception),
    and DESKLOOP_DEBUG=1 shows its traceback instead.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = search_on_server(args)
        if code is None:
            code = app(args=args, prog_name="deskloop", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.ctx.command.get_help(exc.ctx)  # a group named alone: its help, as before
        sys.exit(exc.exit_code)
    except click_errors.ClickException as exc:
        err.print(f"[bold red]error:[/] {escape(usage_error_line(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if is_user_error(exc):
            err.print(f"[bold red]error:[/] {escape(one_line(exc))}", soft_wrap=True)
            sys.exit(1)
        if os.environ.get("DESKLOOP_DEBUG"):
            raise
        detail = one_line(f"{type(exc).__name__}: {exc}")[:300]
        err.print(
            f"[bold red]error:[/] unexpected {escape(detail)}; this is a bug in deskloop: "
            "rerun with DESKLOOP_DEBUG=1 for the traceback and report it",
            soft_wrap=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
