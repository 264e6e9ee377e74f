"""The ``sentinai`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from sentinai import log_records
from sentinai.settings import SettingsError, load_settings


def parse_moment(value: str) -> datetime:
    """An ISO 8601 date or time (naive means UTC), for argparse."""
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def positive(value: str) -> float:
    """A number above zero, for argparse (a rate of 0 divided by zero, a negative one never waited)."""
    number = float(value)
    if not number > 0:
        raise ValueError(value)
    return number


async def _until_sigterm(serving: Coroutine[Any, Any, None]) -> None:
    """Run ``serving`` until SIGTERM cancels it, so that its ``finally`` blocks run (Python's
    default for SIGTERM ends the process at once: open requests cut, nothing closed)."""
    task = asyncio.ensure_future(serving)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if asyncio.current_task().cancelling():  # Ctrl-C: asyncio.run makes it a KeyboardInterrupt
            raise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentinai", description="Per-tenant stream processing of business exceptions.")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="the whole stack on embedded defaults (broker, PostgreSQL, worker, web)")
    dev.add_argument("--demo", action="store_true", help="also run the demo feed")
    sub.add_parser("worker", help="one stream worker (all agents)")
    sub.add_parser("web", help="the web view and API")
    sub.add_parser("migrate", help="migrate the database and import the packs of SENTINAI_PACKS_DIR")
    sub.add_parser("broker", help="run the embedded Kafka-API broker in the foreground")
    demo = sub.add_parser("demo", help="produce a steady, realistic mix of exceptions for the sample tenants")
    demo.add_argument("--rate", type=positive, default=5.0, help="exceptions per second (default 5)")
    demo.add_argument("--count", type=int, default=0, help="stop after this many (default: run until stopped)")
    packs = sub.add_parser("packs", help="validate or test packs")
    packs_sub = packs.add_subparsers(dest="packs_command", required=True)
    for name, text in (("validate", "validate every pack of DIR"), ("test", "run the packs' test suites")):
        p = packs_sub.add_parser(name, help=text)
        p.add_argument("directory", nargs="?", default=None)
    back = packs_sub.add_parser("rollback", help="activate an earlier version of a tenant's packs again")
    back.add_argument("--tenant", required=True)
    back.add_argument("--version-id", type=int, help="a pack version id (default: the tenant pack's previous)")
    back.add_argument("--comment")
    decide = sub.add_parser("decide", help="print the decision of every stage for one exception (dry run)")
    decide.add_argument("--tenant", required=True)
    decide.add_argument("source", nargs="?", default="-", help="a JSON file, or - for standard input")
    whatif = sub.add_parser("whatif", help="re-decide a tenant's stored exceptions with candidate packs")
    whatif.add_argument("--tenant", required=True)
    whatif.add_argument("--candidate", required=True, help="a packs directory or one pack file")
    whatif.add_argument("--since", type=parse_moment, help="ISO 8601 (default: the window before --until)")
    whatif.add_argument("--until", type=parse_moment, help="ISO 8601 (default: now)")
    whatif.add_argument("--json", action="store_true", help="print the report as JSON")
    whatif.add_argument("--max-changed", type=int, default=100, help="changed exceptions listed (default 100)")
    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create an API key and print it once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--role", required=True, choices=["viewer", "operator", "admin"])
    revoke = keys_sub.add_parser("revoke", help="revoke an API key: its requests are refused from now on")
    revoke.add_argument("key_id", help="the key's id: what follows snt_ in the key, up to the next _")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    settings = load_settings()
    log_records.install()  # what tenants and producers chose cannot forge a log line
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("alembic", "pgserver", "aiokafka"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    for name in settings.unknown_variables(os.environ):
        logging.getLogger("sentinai.settings").warning("%s is not a setting: ignored (a typo?)", name)
    command = args.command
    if command == "dev":
        from sentinai.dev import run_dev

        return run_dev(settings, demo=args.demo)
    if command == "worker":
        from sentinai.worker import run_worker

        run_worker(settings)
        return 0
    if command == "web":
        from sentinai.api.app import run_web

        asyncio.run(_until_sigterm(run_web(settings)))
        return 0
    if command == "migrate":
        from alembic.util import CommandError
        from sqlalchemy.exc import DBAPIError

        from sentinai.core.packs import PackValidationError
        from sentinai.migrate import import_packs, upgrade

        url = settings.require_database()
        try:
            upgrade(url)
        except CommandError as err:  # the database is at a revision this release does not know
            print(f"sentinai migrate: {err} (migrated by a newer release?)", file=sys.stderr)
            return 1
        except DBAPIError as err:  # SQLAlchemy's wrapper: the driver's error, as the other commands see it
            raise err.orig.__cause__ or err from None
        try:
            activated = import_packs(url, settings.packs_dir, settings=settings)
        except PackValidationError as err:  # as `packs validate` shows them: one line each
            for issue in err.issues:
                print(issue, file=sys.stderr)
            print(f"sentinai migrate: nothing imported from {settings.packs_dir} (SENTINAI_PACKS_DIR)",
                  file=sys.stderr)
            return 1
        print(f"migrated; {len(activated)} pack versions activated from {settings.packs_dir}")
        return 0
    if command == "broker":
        from sentinai.embedded.broker import EmbeddedBroker
        from sentinai.embedded.process import exit_on_sigterm

        exit_on_sigterm()  # SIGTERM stops the broker it started, not only this process
        with EmbeddedBroker(port=settings.broker_port, log_dir=settings.data_dir) as broker:
            print(f"broker listening on {broker.bootstrap_servers}; Ctrl-C stops it", flush=True)
            try:
                broker.wait()
            except KeyboardInterrupt:
                pass
        return 0
    if command == "demo":
        from sentinai.demo import run_demo

        return asyncio.run(run_demo(settings, rate=args.rate, count=args.count))
    if command == "packs":
        from sentinai import cli_packs

        if args.packs_command == "rollback":
            from sentinai import cli_governance

            return asyncio.run(cli_governance.rollback(settings, args.tenant, args.version_id, args.comment))
        directory = args.directory or str(settings.packs_dir)
        return cli_packs.validate(directory, settings) if args.packs_command == "validate" else cli_packs.run_tests(directory)
    if command == "decide":
        from sentinai import cli_packs

        return cli_packs.decide(args.tenant, args.source, str(settings.packs_dir))
    if command == "whatif":
        from sentinai import cli_whatif

        return asyncio.run(cli_whatif.whatif(settings, args.tenant, args.candidate, args.since, args.until,
                                             as_json=args.json, max_changed=args.max_changed))
    if command == "keys":
        from sentinai import cli_keys

        if args.keys_command == "revoke":
            return asyncio.run(cli_keys.revoke(settings, args.key_id))
        return asyncio.run(cli_keys.create(settings, args.tenant, args.role))
    raise AssertionError(command)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except SettingsError as err:
        print(f"sentinai: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        from sentinai.embedded.process import PortInUse

        if isinstance(err, PortInUse | TimeoutError | RuntimeError):
            print(f"sentinai: {err}", file=sys.stderr)
            return 1
        if isinstance(err, asyncpg.PostgresError):  # the database answered, and refused
            hint = " (run `sentinai migrate` first)" if isinstance(err, asyncpg.UndefinedTableError) else ""
            print(f"sentinai {args.command}: SENTINAI_DATABASE_URL: {type(err).__name__}: "
                  f"{log_records.one_line(str(err))}{hint}", file=sys.stderr)
            return 1
        if isinstance(err, OSError):  # a server not reachable (the database), a port taken
            print(f"sentinai {args.command}: {log_records.one_line(str(err))}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
