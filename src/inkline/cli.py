"""The `inkline` command: its parser and entry point; what each command does is
`inkline.commands`. Exit status: 0 success, 1 refused action, 2 bad usage."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import django

EXIT_USAGE = 2


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkline.settings")
    django.setup()


# --- parser -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inkline", description="Inkline content automation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(command_function="cmd_" + name.replace("-", "_"))
        return p

    p = add("init", "create or migrate the database; --demo adds demo data once")
    p.add_argument("--demo", action="store_true")
    p.add_argument("--json", action="store_true")

    p = add("create-account", "a new account with its owner user")
    p.add_argument("name")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--credits", type=int, default=0)
    p.add_argument("--email", default="", help="the owner's address, for email notices")
    p.add_argument("--json", action="store_true")

    p = add("run", "start a manual run of SITE (id or name)")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--wait", action="store_true", help="execute the run here until it ends")
    p.add_argument("--json", action="store_true")

    p = add("status", "pipeline counts per stage and the active run")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--json", action="store_true")

    p = add(
        "check-ai",
        "check the AI endpoint: reachable, key, model, structured output, images; "
        "with SITE the answer is stored as that site's latest check",
    )
    p.add_argument("site", metavar="SITE", nargs="?", help="record for this site (id or name)")
    p.add_argument("--json", action="store_true")

    p = add(
        "check-publisher",
        "check SITE's publisher: WordPress's REST API, credentials, Authorization header, "
        "the account's rights; or the Markdown output directory",
    )
    p.add_argument("site", metavar="SITE", help="the site (id or name)")
    p.add_argument("--json", action="store_true")

    p = add("import-keywords", "import keywords from a CSV file")
    p.add_argument("site", metavar="SITE")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--json", action="store_true")

    p = add("publish", "publish every scheduled article that is due now")
    p.add_argument("site", metavar="SITE", nargs="?", help="only this site (id or name)")
    p.add_argument("--dry-run", action="store_true", help="list what is due, publish nothing")
    p.add_argument("--json", action="store_true")

    p = add(
        "refresh",
        "refresh published articles of SITE: rewritten with the current prompt and voice, "
        "each waits for review as a revision beside the live one",
    )
    p.add_argument("site", metavar="SITE", help="the site (id or name)")
    p.add_argument(
        "--older-than", type=int, metavar="DAYS", help="last published or refreshed before"
    )
    p.add_argument("--seo-below", type=int, metavar="N", help="SEO score below N (0-100)")
    p.add_argument("--ids", type=int, nargs="+", metavar="ID", help="these articles")
    p.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    p.add_argument("--wait", action="store_true", help="write the refreshes here, now")
    p.add_argument("--json", action="store_true")

    p = add("serve", "web + worker + beat on the embedded default")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")

    p = add("web", "the web server alone (production)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    # Pages are CPU-bound Python: threads of one process contend for its interpreter lock
    # (measured: 2 processes x 4 threads served a third of the requests of 2 x 1).
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per process (default 1; more for a slow database)",
    )

    p = add("worker", "a Celery worker alone (production; run any number)")
    p.add_argument(
        "--concurrency", type=int, default=2, help="slices at once, threads of this process"
    )

    add("beat", "the scheduler alone (production; run exactly one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup()
    # Imported once Django is configured: the commands import models at their top.
    from inkline import commands

    try:
        return int(getattr(commands, args.command_function)(args))
    except commands.UsageError as exc:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].print_usage(sys.stderr)
        print(f"inkline {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
