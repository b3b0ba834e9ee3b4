"""The `policylab` command: serve, demo, migrate, export, import, purge, backup."""

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import get_settings
from app.db import make_engine, migrate, open_session
from app.errors import AppError
from app.i18n import EU_LANGUAGES, _, format_integer, negotiate, ngettext, use_language
from app.network import Reachability, phone_link
from app.serving import uvicorn_options


def _engine() -> Engine:
    """An engine on the configured database, migrated to the newest schema."""
    engine = make_engine(get_settings().database_url)
    migrate(engine)
    return engine


def reach_of(args: argparse.Namespace) -> Reachability:
    """The address people open for a server started with these options: the configured
    public address, or the machine's network address when it listens on every interface."""
    base_url = get_settings().base_url
    if base_url:
        return Reachability(url=base_url.rstrip("/"))
    return phone_link(args.host, args.port)


def print_reach(reach: Reachability, path: str = "") -> None:
    """Tell the person at the terminal which link phones can open, and how to get one."""
    if not reach.loopback:
        print(_("  Phones and laptops on the network open: %(url)s", url=reach.url + path))
    elif reach.lan_url and not reach.lan_reachable:
        print(
            _(
                "  Phones cannot open %(url)s: the server listens on this computer only.",
                url=reach.url + path,
            )
        )
        print(
            _(
                "  To let them join, restart with --host 0.0.0.0; they then open %(url)s",
                url=reach.lan_url + path,
            )
        )
    else:
        print(
            _(
                "  This computer has no network address: phones cannot join. Connect it to "
                "the network and restart with --host 0.0.0.0, or set POLICYLAB_BASE_URL."
            )
        )


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web server."""
    _engine().dispose()  # migrate before the workers start
    reach = reach_of(args)
    local = f"http://localhost:{args.port}" if reach.loopback or reach.lan_url else reach.url
    print()
    print(_("Policy Lab is starting."))
    print()
    print(_("  On this computer open:          %(url)s", url=local))
    print_reach(reach)
    print(_("  Set a public address with POLICYLAB_BASE_URL, another port with --port."))
    print()
    sys.stdout.flush()
    return run_server(args)


def run_server(args: argparse.Namespace) -> int:
    """uvicorn with the app (the database is migrated already)."""
    if args.workers > 1 and get_settings().is_sqlite:
        print(
            "Note: with SQLite, several workers share one writer; use PostgreSQL for large events.",
            file=sys.stderr,
        )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        **uvicorn_options(get_settings()),
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Create a session from the built-in AI & creative industries lab, print links, serve."""
    from app.sessions import service
    from app.sessions.auth import Actor
    from app.sessions.labs import AI_CCI

    engine = _engine()
    with Session(engine) as db:
        created = service.create_session(db, AI_CCI.to_create(args.lang))
        session = created.session
        if not args.empty:
            service.change_phase(db, session, "brainstorm")
            voices = [service.join(db, session, name)[0] for name in ("Amira", "Jonas", "Chiara")]
            for challenge, lab_challenge in zip(created.challenges, AI_CCI.challenges, strict=True):
                for i, text in enumerate(lab_challenge.sample_contributions):
                    actor = Actor(session=session, role="participant", participant=voices[i % 3])
                    service.add_contribution(db, actor, challenge.id, text)  # type: ignore[arg-type]
        db.commit()
        code, token = session.code, created.facilitator_token
    engine.dispose()
    reach = reach_of(args)
    # The facilitator opens their links on this computer; phones need the network address.
    base = get_settings().base_url or f"http://localhost:{args.port}"
    if not (reach.loopback or reach.lan_url):
        base = reach.url
    print()
    print(_("Policy Lab demo session created (code %(code)s).", code=code))
    print()
    print(_("  Facilitator (keep this secret): %(url)s", url=f"{base}/f/{code}?key={token}"))
    print(_("  Projector view:                 %(url)s", url=f"{base}/s/{code}/projector"))
    print(_("  API documentation:              %(url)s", url=f"{base}/docs"))
    print_reach(reach, f"/join/{code}")
    print()
    sys.stdout.flush()
    return run_server(args)


def cmd_migrate(_args: argparse.Namespace) -> int:
    """Upgrade the database schema."""
    _engine().dispose()
    print(_("Database is up to date."))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a session's report in one format to a file (or stdout)."""
    from app.report.service import export_session
    from app.sessions.auth import find_session

    engine = _engine()
    with open_session(engine, read_only=True) as db:
        session = find_session(db, args.code)
        exported = export_session(db, session, args.format, args.lang)
    engine.dispose()
    if args.output in (None, "-"):
        sys.stdout.buffer.write(exported.content)
    else:
        Path(args.output).write_bytes(exported.content)
        size = len(exported.content)
        print(
            ngettext(
                "Wrote %(file)s (%(size)s byte).",
                "Wrote %(file)s (%(size)s bytes).",
                size,
                file=args.output,
                size=format_integer(size),
            ),
            file=sys.stderr,
        )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Create a new session from a JSON export."""
    from app.report.service import import_session

    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(_("Cannot read %(file)s: %(problem)s", file=args.file, problem=exc), file=sys.stderr)
        return 2
    from app.errors import AppError

    engine = _engine()
    try:
        with Session(engine) as db:
            created = import_session(db, data)
            db.commit()
            code, token = created.session.code, created.facilitator_token
    except AppError as exc:
        print(_("Not imported: %(problem)s", problem=exc.message), file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    base = get_settings().base_url or "http://localhost:8000"
    print(_("Imported as session %(code)s.", code=code))
    print(_("Facilitator link (keep it secret): %(url)s", url=f"{base}/f/{code}?key={token}"))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete finished and abandoned sessions past the retention period."""
    from app.report.service import purge_once

    days = args.days if args.days is not None else get_settings().session_retention_days
    if days is None:
        print(
            _("No retention period: set POLICYLAB_SESSION_RETENTION_DAYS or pass --days."),
            file=sys.stderr,
        )
        return 2
    engine = _engine()
    codes = purge_once(engine, days)
    engine.dispose()
    print(
        ngettext(
            "Deleted %(num)s finished or abandoned session untouched for %(days)s days.",
            "Deleted %(num)s finished or abandoned sessions untouched for %(days)s days.",
            len(codes),
            days=days,
        )
    )
    for code in codes:
        print(f"  {code}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the SQLite database consistently while the server runs (PostgreSQL: pg_dump)."""
    from app.backup import BackupRefused, backup_sqlite, pg_dump_command, sqlite_path

    url = get_settings().database_url
    try:
        source = sqlite_path(url)
        if source is None:
            print(
                _("PostgreSQL is backed up with its own tool, while the server runs:"),
                file=sys.stderr,
            )
            print(pg_dump_command(url, args.file))
            return 2
        counts = backup_sqlite(source, Path(args.file))
    except BackupRefused as exc:
        print(_("Not backed up: %(problem)s", problem=exc), file=sys.stderr)
        return 2
    print(
        _(
            "Backed up %(source)s to %(file)s: %(sessions)s, %(participants)s, "
            "%(contributions)s, %(ratings)s.",
            source=source,
            file=args.file,
            sessions=ngettext("%(num)s session", "%(num)s sessions", counts.get("sessions", 0)),
            participants=ngettext(
                "%(num)s participant", "%(num)s participants", counts.get("participants", 0)
            ),
            contributions=ngettext(
                "%(num)s contribution", "%(num)s contributions", counts.get("contributions", 0)
            ),
            ratings=ngettext("%(num)s rating", "%(num)s ratings", counts.get("ratings", 0)),
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="policylab",
        description=_(
            "The policylab command: serve, demo, migrate, export, import, purge, backup."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=os.environ.get("POLICYLAB_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("POLICYLAB_PORT", "8000")))
        p.add_argument("--workers", type=int, default=1)
        p.add_argument("--log-level", default="info")

    serve = commands.add_parser("serve", help=_("run the web server"))
    server_options(serve)
    serve.set_defaults(func=cmd_serve)

    demo = commands.add_parser("demo", help=_("create a demo session, print its links and serve"))
    server_options(demo)
    demo.add_argument("--empty", action="store_true", help=_("no sample contributions"))
    demo.add_argument(
        "--lang",
        choices=EU_LANGUAGES,
        help=_("the session's language (default: the terminal's, from LANGUAGE/LC_ALL/LANG)"),
    )
    demo.set_defaults(func=cmd_demo)

    commands.add_parser("migrate", help=_("upgrade the database schema")).set_defaults(
        func=cmd_migrate
    )

    export = commands.add_parser("export", help=_("export a session's report"))
    export.add_argument("code")
    export.add_argument(
        "--format", default="md", choices=["html", "md", "csv", "json", "pdf", "docx", "xlsx"]
    )
    export.add_argument("-o", "--output", help=_("file to write (default: standard output)"))
    export.add_argument(
        "--lang", choices=EU_LANGUAGES, help=_("the report's language (default: the session's)")
    )
    export.set_defaults(func=cmd_export)

    importer = commands.add_parser("import", help=_("create a session from a JSON export"))
    importer.add_argument("file")
    importer.set_defaults(func=cmd_import)

    purge = commands.add_parser(
        "purge", help=_("delete finished and abandoned sessions past the retention period")
    )
    purge.add_argument(
        "--days", type=int, help=_("retention in days (default: POLICYLAB_SESSION_RETENTION_DAYS)")
    )
    purge.set_defaults(func=cmd_purge)

    backup = commands.add_parser(
        "backup", help=_("copy the SQLite database while the server runs (PostgreSQL: pg_dump)")
    )
    backup.add_argument("file", help=_("the copy to write (must not exist)"))
    backup.set_defaults(func=cmd_backup)
    return parser


def terminal_language(environ: Mapping[str, str] = os.environ) -> str:
    """The language of the terminal, as gettext reads it: LANGUAGE, LC_ALL, LC_MESSAGES,
    LANG (`de_DE.UTF-8` → `de`); English when none names an EU language."""
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable, "")
        if not value or value in ("C", "POSIX") or value.startswith("C."):
            continue
        tags = [tag.split(".")[0].split("@")[0].replace("_", "-") for tag in value.split(":")]
        found = negotiate(",".join(tags))
        if found:
            return found
    return "en"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    with use_language(terminal_language()):
        args = build_parser().parse_args(argv)
        try:
            return int(args.func(args))
        except AppError as exc:
            print(f"policylab {args.command}: {exc.message}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    raise SystemExit(main())
