"""`bearwatch users add NAME --role R`, `users passwd NAME` and `users list`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from bearwatch.commands.common import load
from bearwatch.wiring import open_database
from db.users import add_user, list_users, update_user
from kernel.errors import BearwatchError
from kernel.records import Role, utc_now

ENV_PASSWORD = "BEARWATCH_PASSWORD"


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="manage review-UI users")
    usub = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = usub.add_parser(
        "add", help=f"add a user; password from ${ENV_PASSWORD} or a prompt")
    add.add_argument("name", help="login name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role],
                     help="what the user may do: " + ", ".join(r.value for r in Role))
    add.set_defaults(handler=_add)
    pw = usub.add_parser(
        "passwd", help="set a user's password (prompted twice, or --password-stdin); audited, "
        "lifts a login lock and ends the user's open UI sessions")
    pw.add_argument("name", help="login name")
    pw.add_argument("--password-stdin", action="store_true",
                    help="read the new password from the first line of standard input")
    pw.set_defaults(handler=_passwd)
    usub.add_parser("list", help="list users").set_defaults(handler=_list)


def _read_password(name: str) -> str:
    from_env = os.environ.get(ENV_PASSWORD)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise BearwatchError(f"no password for {name!r}: set ${ENV_PASSWORD} or run in a terminal")
    return _prompt_twice(name)


def _prompt_twice(name: str) -> str:
    first = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise BearwatchError("passwords differ; nothing was saved")
    return first


def _add(args: argparse.Namespace) -> int:
    cfg = load(args)
    db = open_database(cfg)
    password = _read_password(args.name)
    try:
        with db.sessions.begin() as s:
            user = add_user(s, name=args.name, role=Role(args.role), password=password,
                            actor="cli", now=utc_now(),
                            min_password_length=cfg.review_ui.min_password_length)
    except ValueError as exc:
        raise BearwatchError(f"user {args.name!r} not added: {exc}") from exc
    print(f"added {user.role.value} {user.name!r}")
    return 0


def _new_password(args: argparse.Namespace) -> str:
    """The new password: the first line of stdin with --password-stdin (no echo, no shell
    history, no environment), else typed twice at a terminal."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BearwatchError("--password-stdin: standard input had no password; nothing "
                                 "was changed")
        return password
    if not sys.stdin.isatty():
        raise BearwatchError(f"no password for {args.name!r}: run in a terminal, or pipe it in "
                             "with --password-stdin")
    return _prompt_twice(args.name)


def _passwd(args: argparse.Namespace) -> int:
    cfg = load(args)
    db = open_database(cfg)
    password = _new_password(args)
    try:
        with db.sessions.begin() as s:
            user = update_user(s, args.name, actor="cli", now=utc_now(), password=password,
                               min_password_length=cfg.review_ui.min_password_length)
    except ValueError as exc:
        raise BearwatchError(f"password of {args.name!r} not changed: {exc} "
                             "(review_ui.min_password_length)") from exc
    print(f"password changed for {user.role.value} {user.name!r}; their open UI sessions end")
    return 0


def _list(args: argparse.Namespace) -> int:
    db = open_database(load(args))
    with db.sessions() as s:
        for u in list_users(s):
            print(f"{u.name:<24} {u.role.value:<9} {'disabled' if u.disabled else 'enabled'}")
    return 0
