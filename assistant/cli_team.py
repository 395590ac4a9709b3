"""`deskloop serve` and `deskloop users`: running a server for a team, and who may use it."""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli_output import err, out, print_json

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
users_app = typer.Typer(
    help="People who may use 'deskloop serve', and their tokens.", no_args_is_help=True
)


def serve_command(
    host: Annotated[
        str, typer.Option(help="Address to listen on; another than 127.0.0.1 opens it to others.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8765,
    rate_limit: Annotated[
        int, typer.Option(help="Answers a minute per token (0: no limit).", min=0)
    ] = 30,
) -> None:
    """Serve deskloop to a team: OpenAI-compatible /v1, the /api, docs at /docs."""
    from assistant.server.run import serve
    from assistant.settings import load_settings

    serve(load_settings(), host, port, rate_limit, lambda text: err.print(f"[dim]{text}[/]"))


def _users():
    from assistant.app import open_store
    from assistant.settings import load_settings
    from assistant.users import Users

    return Users(open_store(load_settings()))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The person's user name.")],
    role: Annotated[str, typer.Option(help="agent or admin.")] = "agent",
    as_json: JsonOption = False,
) -> None:
    """Add a person and print their token (shown this once; only its hash is kept)."""
    user, token = _users().add(name, role)
    if as_json:
        print_json({**user.to_dict(), "token": token})
        return
    out.print(token, markup=False)
    err.print(
        f"Added {user.role} '{user.name}'. The token above is shown only now: give it to them "
        "for DESKLOOP_TOKEN."
    )


@users_app.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """Every user, their role, and whether their token still works."""
    listed = _users().list()
    if as_json:
        print_json([u.to_dict() for u in listed])
        return
    if not listed:
        err.print("No users yet: add one with 'deskloop users add NAME --role admin'.")
    for user in listed:
        state = f"revoked {user.revoked_at[:16]}" if user.revoked_at else "active"
        out.print(f"{user.name:<24} {user.role:<6} {state}", markup=False)


@users_app.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="The user whose token stops working.")],
    as_json: JsonOption = False,
) -> None:
    """Stop a user's token working (their turns and flags keep their name)."""
    user = _users().revoke(name)
    if as_json:
        print_json(user.to_dict())
    else:
        out.print(f"Revoked '{user.name}': their token no longer works.")
