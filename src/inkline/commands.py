"""What each `inkline` command does (the parser and the entry point are `inkline.cli`, which
configures Django before importing this module). Exit status: 0 success, 1 refused action (or,
for `run --wait`, a run that did not end cleanly), 2 bad usage."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from celery.signals import worker_shutting_down
from django.conf import settings
from django.core.management import call_command
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from inkline import clock
from inkline.accounts.models import Site
from inkline.ai.checking import connection_check
from inkline.ai.registry import import_provider
from inkline.automation import engine, refresh
from inkline.automation.api import RunSerializer, ai_check_out
from inkline.automation.models import AutomationRun
from inkline.automation.selectors import pipeline_summary
from inkline.automation.services import ai_check_record, run_start
from inkline.automation.shutdown import shutdown_request
from inkline.automation.sites import account_create
from inkline.automation.stagerunner import CALL_THREAD_PREFIX
from inkline.automation.stages import STAGE_NAMES
from inkline.celery import app
from inkline.core.errors import ApplicationError, RunActive, ValidationFailed
from inkline.demo import ensure_demo
from inkline.planner.api import ImportJobOut
from inkline.planner.models import ImportStatus, KeywordImportJob
from inkline.planner.services import (
    MAX_IMPORT_ATTEMPTS,
    csv_inspect,
    import_job_cancel,
    import_job_create,
    import_job_execute,
)
from inkline.publishing import selectors, services
from inkline.publishing.api import publisher_check_out
from inkline.publishing.checking import publisher_check
from inkline.writer.models import ContentRevision
from inkline.writer.seo import reading_ease

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class UsageError(Exception):
    """Bad usage: printed with the usage line, exit status 2."""


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str) + "\n")


def _base_url(port: int | None = None) -> str:
    port = port or int(os.environ.get("INKLINE_PORT", "8000"))
    return f"http://127.0.0.1:{port}/"


def _find_site(ref: str) -> Any:
    matches = list(Site.objects.filter(pk=int(ref))) if ref.isdigit() else []
    if not matches:
        matches = list(Site.objects.filter(name__iexact=ref))
    if not matches:
        raise UsageError(f"no site with id or name '{ref}'")
    if len(matches) > 1:
        raise UsageError(f"several sites are named '{ref}': give the site id instead")
    return matches[0]


# --- commands -----------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)  # the shared cache on the database
    if not args.demo:
        if args.json:
            _print_json({"migrated": True})
        else:
            print("Database ready.")
        return EXIT_OK

    info = ensure_demo() | {"url": _base_url()}
    if args.json:
        _print_json(info)
    else:
        print(f"Database ready. Demo login: {info['username']} / {info['password']}")
    return EXIT_OK


def cmd_create_account(args: argparse.Namespace) -> int:
    if args.credits < 0:
        raise UsageError("--credits must be 0 or more")
    if args.email and "@" not in args.email:
        raise UsageError("--email must be an email address")
    try:
        account, token = account_create(
            name=args.name,
            username=args.username,
            password=args.password,
            credits=args.credits,
            email=args.email,
        )
    except ApplicationError as exc:
        print(f"inkline: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    info = {"account_id": account.pk, "username": args.username, "token": token.key}
    if args.json:
        _print_json(info)
    else:
        print(f"Account {account.pk} created for {args.username}.")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    site = _find_site(args.site)
    try:
        # With --wait this process executes the run itself, so no worker is woken.
        run = run_start(site=site, by="cli", wake=not args.wait)
    except RunActive as exc:
        if args.json:
            _print_json(exc.as_dict())
        else:
            print(f"inkline: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    if args.wait:
        run = (
            engine.run_to_end(run_id=run.run_id, on_slice=None)
            if args.json
            else _run_with_progress(run.run_id)
        )
    if args.json:
        _print_json(RunSerializer(run).data)
    else:
        _print_run(run)
    if args.wait and run.outcome != "completed":
        # failed, cancelled, paused, or completed with failed items: `outcome` says which
        return EXIT_REFUSED
    return EXIT_OK


def _run_with_progress(run_id: str) -> Any:

    result: dict[str, Any] = {}
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task("starting", total=100)

        def refresh(_: Any = None) -> None:
            run = AutomationRun.objects.get(run_id=run_id)
            stage = STAGE_NAMES.get(run.current_stage, "finishing")
            bar.update(
                task,
                completed=run.progress_percent,
                description=f"stage {min(run.current_stage, 7)}: {stage}",
            )

        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.3):
                refresh()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            result["run"] = engine.run_to_end(run_id=run_id, on_slice=refresh)
        finally:
            done.set()
            watcher.join()
        refresh()
    return result["run"]


def _print_run(run: Any) -> None:

    console = Console()
    outcome = run.outcome.replace("_", " ")
    console.print(f"[bold]{run.run_id}[/] {outcome} — {run.progress_percent}%")
    table = Table("stage", "name", "processed", "created", "failed", "credits", "seconds", "status")
    for stage, name in STAGE_NAMES.items():
        r = run.stage_results.get(str(stage))
        if r:
            table.add_row(
                str(stage),
                name,
                str(r.get("processed", 0)),
                str(r.get("created", 0)),
                str(r.get("failed", 0)),
                str(r.get("credits_used", 0)),
                f"{r.get('seconds', 0):.2f}",
                r.get("status", ""),
            )
    console.print(table)
    for stage, name in STAGE_NAMES.items():
        for item in run.stage_results.get(str(stage), {}).get("failed_items", []):
            failed = escape(f"{item['label']}: {item['error']}")
            console.print(f"[yellow]Failed[/] stage {stage} ({name}): {failed}")
    console.print(f"Credits used: {run.total_credits_used}")
    if run.stopped_reason:
        console.print(f"[bold]Stopped reason:[/] {run.stopped_reason}")
    if run.error_message:
        console.print(f"[red]Error:[/] {run.error_message}")


def cmd_status(args: argparse.Namespace) -> int:
    site = _find_site(args.site)
    summary = pipeline_summary(site.pk)
    if args.json:
        _print_json(summary)
        return EXIT_OK

    table = Table("stage", "name", "pending", "limit", "runs needed", "est. credits")
    for s in summary["stages"]:  # type: ignore[attr-defined]
        table.add_row(
            str(s["stage"]),
            s["name"],
            str(s["pending"]),
            str(s["limit"] or "∞"),
            str(s["runs_needed"]),
            str(s["estimated_credits"]),
        )
    console = Console()
    console.print(table)
    console.print(f"Active run: {summary['active_run'] or 'none'}")
    return EXIT_OK


STRUCTURED_OUTPUT_LABELS = {
    "json_schema": "json_schema — strict JSON schema",
    "json_object": "json_object — JSON mode, the schema in the prompt",
    "prompt": "prompt — plain JSON asked in the prompt, validated",
    None: "none worked",
}


def cmd_check_ai(args: argparse.Namespace) -> int:
    """Exit 0 when the endpoint can generate text (ok), 1 when it cannot, 2 bad usage."""
    site = _find_site(args.site) if args.site else None
    check = connection_check()
    if site is not None:
        document = ai_check_record(site_id=site.pk, check=check)
    else:
        document = {**check.as_dict(), "checked_at": clock.now().isoformat()}
    answer = ai_check_out(document)
    if args.json:
        _print_json(answer)
    else:
        _print_ai_check(answer, site)
    return EXIT_OK if answer["ok"] else EXIT_REFUSED


def _yes(value: object) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


def _print_problems(console: Console, problems: list[dict[str, Any]]) -> None:
    """A check's problems (`ai/check`, `publisher/check`), each with its fix."""
    for problem in problems:
        code, message, fix = (escape(problem[k]) for k in ("code", "message", "fix"))
        console.print(f"[bold]{code}[/]: {message}", highlight=False)
        console.print(f"  fix: {fix}", highlight=False)


def _print_ai_check(answer: dict[str, Any], site: Any) -> None:
    console = Console()
    table = Table("", "", show_header=False, box=None, pad_edge=False)
    table.add_row("provider", escape(answer["provider"]))
    built_in = "— (built in)" if answer["provider"] == "local" else "—"
    table.add_row("endpoint", escape(answer["base_url"]) or built_in)
    table.add_row("reachable", _yes(answer["reachable"]))
    table.add_row("key accepted", _yes(answer["auth"]))
    table.add_row("model served", escape(answer["model"] or "") or "[red]none[/]")
    table.add_row("structured output", STRUCTURED_OUTPUT_LABELS[answer["structured_output"]])
    table.add_row("images", _yes(answer["images"]))
    console.print(table)
    _print_problems(console, answer["problems"])
    verdict = (
        "[green]OK[/]: runs can use this endpoint."
        if answer["ok"]
        else "[red]Not usable[/]: runs would fail; see the problems above."
    )
    recorded = f" Recorded for site {escape(site.name)} ({site.pk})." if site else ""
    console.print(verdict + recorded, highlight=False)


def cmd_check_publisher(args: argparse.Namespace) -> int:
    """Exit 0 when SITE's publisher can publish, 1 when it cannot, 2 bad usage."""
    site = _find_site(args.site)
    answer = publisher_check_out(publisher_check(site))
    if args.json:
        _print_json(answer)
        return EXIT_OK if answer["ok"] else EXIT_REFUSED
    console = Console()
    table = Table("", "", show_header=False, box=None, pad_edge=False)
    table.add_row("publisher", escape(answer["publisher"]))
    table.add_row("target", escape(answer["target"]) or "—")
    if answer["publisher"] == "wordpress":
        table.add_row("REST API", escape(answer["rest_root"] or "") or "[red]not found[/]")
        table.add_row("permalinks", escape(answer["permalinks"] or "—"))
        table.add_row("logged in as", escape(answer["user"] or "") or "[red]no[/]")
        table.add_row("roles", escape(", ".join(answer["roles"])) or "—")
        for right, allowed in (answer["can"] or {}).items():
            table.add_row(right.replace("_", " "), _yes(allowed))
    console.print(table)
    _print_problems(console, answer["problems"])
    verdict = (
        "[green]OK[/]: articles can be published."
        if answer["ok"]
        else "[red]Cannot publish[/]: see the problems above."
    )
    console.print(f"{verdict} Site {escape(site.name)} ({site.pk}).", highlight=False)
    return EXIT_OK if answer["ok"] else EXIT_REFUSED


def cmd_import_keywords(args: argparse.Namespace) -> int:
    """Import a CSV file as a job this process executes itself (no worker needed), showing
    its progress; all or nothing. Exit 0 when every keyword is in, 1 when nothing was
    imported (bad lines, listed; or a file without a keyword column), 130 on Ctrl-C."""
    site = _find_site(args.site)
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {args.file}")
    with path.open("rb") as file:  # read as a stream, never whole
        try:
            info = csv_inspect(file)
        except ValidationFailed as exc:
            print(f"inkline: {exc.message}", file=sys.stderr)
            return EXIT_REFUSED
        job = import_job_create(site=site, file=file, info=info, filename=path.name, wake=False)
    try:
        job = _import_with_progress(job, show=not args.json)
    except KeyboardInterrupt:
        import_job_cancel(
            job_id=job.pk, reason="Stopped with Ctrl-C at the command line; nothing was imported."
        )
        print("inkline: import stopped; nothing was imported", file=sys.stderr)
        return EXIT_INTERRUPTED
    out = ImportJobOut(job).data
    if args.json:
        _print_json(out)
    else:
        print(
            f"{job.created_count} created, {job.duplicate_count} duplicates, "
            f"{job.error_count} errors"
            + "".join(f"\n  line {e['line']}: {e['error']}" for e in job.errors)
            + (f"\n{job.message}" if job.message else "")
        )
    return EXIT_OK if job.status == ImportStatus.DONE else EXIT_REFUSED


def _import_with_progress(job: KeywordImportJob, *, show: bool) -> KeywordImportJob:
    """Execute the job here (another attempt if one fails); if a worker holds it instead,
    wait for it. A progress bar on stderr unless `show` is False."""
    total = max(job.total_lines, 1)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} lines"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show,
    ) as bar:
        task = bar.add_task("checking every line", total=total)

        def progress(phase: str, line: int) -> None:
            what = "checking every line" if phase == "validating" else "writing keywords"
            bar.update(task, completed=min(line, total), description=what)

        for _ in range(MAX_IMPORT_ATTEMPTS):
            ran = import_job_execute(job_id=job.pk, progress=progress)
            if ran is None or not ran.is_active:
                break
        job.refresh_from_db()
        while job.is_active:  # held by a worker: follow it
            bar.update(task, completed=total * job.progress // 100, description=job.status)
            time.sleep(0.5)
            job.refresh_from_db()
    return job


def cmd_publish(args: argparse.Namespace) -> int:
    site_id = _find_site(args.site).pk if args.site else None
    now = clock.now()
    due = list(selectors.due(now, site_id=site_id).values("id", "site_id", "title"))
    outcomes: dict[int, str] = {}
    if not args.dry_run:
        report = services.content_publish_due(now=now, limit=len(due) or 1, site_id=site_id)
        outcomes = report.outcomes
    rows = [{**row, "outcome": outcomes.get(row["id"], "due")} for row in due]
    if args.json:
        _print_json({"due": len(due), "items": rows})
    else:
        for row in rows:
            print(f"{row['id']:>6}  site {row['site_id']:<4} {row['outcome']:<9} {row['title']}")
        print(f"{len(due)} due" + ("" if args.dry_run else ", " + ", ".join(
            f"{sum(1 for o in outcomes.values() if o == k)} {k}"
            for k in ("published", "retry", "failed", "skipped")
        )))  # fmt: skip
    return EXIT_OK


def cmd_refresh(args: argparse.Namespace) -> int:
    site = _find_site(args.site)
    older, below, ids = args.older_than or 0, args.seo_below or 0, args.ids or []
    if not 0 <= older <= ContentRevision.MAX_AGE_DAYS:
        raise UsageError(f"--older-than must be 0 to {ContentRevision.MAX_AGE_DAYS} days")
    if not 0 <= below <= 100:
        raise UsageError("--seo-below must be 0 to 100")
    if args.limit < 0 or any(i < 1 for i in ids):
        raise UsageError("--limit and --ids must be positive")
    try:
        made = refresh.refresh_request(
            site=site,
            by="cli",
            older_than_days=older,
            seo_below=below,
            ids=ids,
            limit=args.limit,
            wake=not args.wait,  # with --wait this process writes them
        )
    except ValidationFailed as exc:
        raise UsageError("give --older-than, --seo-below or --ids: what to refresh") from exc
    outcomes = {r.pk: refresh.revision_write(revision_id=r.pk) for r in made} if args.wait else {}
    rows = [
        {
            "revision": row.pk,
            "content_id": row.content_id,
            "title": row.content.title,
            "reason": row.reason,
            "status": row.status,
            "outcome": outcomes.get(row.pk, "queued"),
            "credits": row.credits_used,
        }
        for row in ContentRevision.objects.filter(pk__in=[r.pk for r in made])
        .select_related("content")
        .order_by("pk")
    ]
    if args.json:
        _print_json({"count": len(rows), "revisions": rows})
    else:
        for row in rows:
            print(
                f"{row['revision']:>6}  content {row['content_id']:<6} {row['outcome']:<8} "
                f"{row['title']} ({row['reason']})"
            )
        print(
            f"{len(rows)} refresh(es) "
            + ("written; they wait for review." if args.wait else "queued for writing.")
        )
    failed = any(row["outcome"] == "failed" for row in rows)
    return EXIT_REFUSED if failed else EXIT_OK


# --- the long-running processes -------------------------------------------------------------
# Each exits within 10 s of SIGTERM (or SIGINT) sent to it or to its whole process group, as
# systemd, `docker stop` and Ctrl-C do.

# Requests in progress when gunicorn is told to stop get this long before their worker is killed.
WEB_GRACEFUL_SECONDS = 5
# `inkline serve`: SIGTERM to its children, then SIGKILL to those still running after this.
SERVE_STOP_SECONDS = 9.0


def cmd_web(args: argparse.Namespace) -> int:
    call_command("collectstatic", interactive=False, verbosity=0)
    gunicorn = [
        sys.executable, "-m", "gunicorn", "inkline.wsgi:application",
        "--bind", f"{args.host}:{args.port}", "--workers", str(args.workers),
        "--threads", str(args.threads),
        "--config", "python:inkline.gunicorn_conf",
        "--graceful-timeout", str(WEB_GRACEFUL_SECONDS),
        # Unused, shared by every gunicorn of the user ($HOME/.gunicorn/gunicorn.ctl), and
        # stopping its server took seconds of every shutdown.
        "--no-control-socket",
        "--access-logfile", "-",
    ]  # fmt: skip
    os.execv(sys.executable, gunicorn)


def preload_for_workers() -> None:
    """Load what the stages use once, before the worker starts, instead of on its first
    slice: the AI provider's libraries (numpy, scikit-learn for `local`) and textstat's
    pronunciation dictionary. Builds no provider (a misconfigured one still fails the run with
    its reason, not the worker) and opens no database connection.

    What is loaded then lives as long as the process, so it is frozen out of the garbage
    collector: collections stop scanning it, and so does the interpreter's last one at exit
    (seconds, with scikit-learn loaded, added to every stop)."""
    import_provider()
    reading_ease("Inkline loads its dictionaries once, before the workers start.")
    gc.collect()
    gc.freeze()


def _stop_slices(**_: Any) -> None:
    """Celery's shutdown signal, sent from its SIGTERM/SIGINT handler: slices stop between
    items (`inkline.automation.shutdown`). Sets a flag only: it runs in a signal handler."""
    shutdown_request(grace=settings.INKLINE_SHUTDOWN_GRACE_SECONDS)


def cmd_worker(args: argparse.Namespace) -> int:
    """A Celery worker whose pool is threads of this one process. A prefork pool's children
    get the SIGTERM sent to the process group too and die mid-slice (their runs wait for the
    lease to expire), and the pool, seeing them lost, waits for them and starts new ones:
    stopping took 10 to 17 s, or never ended. Here the signal reaches one process: Celery's
    warm shutdown stops taking messages (those taken but not started go back to the broker),
    the running slices stop between items and hand their runs back, and the process exits."""
    preload_for_workers()
    worker_shutting_down.connect(_stop_slices)
    argv = [
        "worker", "--loglevel", "INFO", "--pool", "threads",
        "--concurrency", str(args.concurrency),
    ]  # fmt: skip
    code: Any = EXIT_OK
    try:
        app.worker_main(argv)
    except SystemExit as exc:
        code = exc.code
    gc.freeze()  # the interpreter's last collection at exit has nothing left to scan
    _exit_without_abandoned_calls(code)
    return int(code or 0)


def _exit_without_abandoned_calls(code: Any) -> None:
    """AI calls abandoned at shutdown may still be waiting for their endpoint, in threads the
    interpreter would join before exiting (up to the provider's timeout). Everything else is
    done (messages acknowledged or returned, leases released): exit without them."""
    stage_threads = [
        t for t in threading.enumerate() if t.name.startswith(CALL_THREAD_PREFIX) and t.is_alive()
    ]
    if stage_threads:
        print(
            f"inkline worker: exiting without waiting for {len(stage_threads)} abandoned "
            "AI call(s)",
            file=sys.stderr,
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code or 0))


def cmd_beat(args: argparse.Namespace) -> int:

    schedule = str(Path(settings.DATA_DIR) / "celerybeat-schedule")
    gc.freeze()  # as for the worker: a faster exit
    app.start(["beat", "--loglevel", "INFO", "--schedule", schedule])
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Web + worker + beat on the embedded default; Ctrl-C stops all three."""
    base = [sys.executable, "-m", "inkline.cli"]
    commands = {
        "web": ["web", "--port", str(args.port), "--host", args.host],
        "worker": ["worker", "--concurrency", "2"],
        "beat": ["beat"],
    }
    procs = {name: subprocess.Popen([*base, *argv]) for name, argv in commands.items()}
    print(f"Inkline is serving on http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    signalled: set[int] = set()

    def stop(*_: Any) -> None:
        """SIGTERM to each child once: a signal to the whole group reached them already, and
        one to `serve` alone must reach them too. (A signal handler: it takes no lock.)"""
        for p in procs.values():
            if p.pid not in signalled and p.poll() is None:
                signalled.add(p.pid)
                p.send_signal(signal.SIGTERM)

    # Ctrl-C, `kill -INT` and `kill -TERM` all stop the three processes (a SIGINT handler is
    # installed explicitly: a process started in the background inherits SIGINT ignored).
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not signalled and all(p.poll() is None for p in procs.values()):
            time.sleep(0.2)
    except KeyboardInterrupt:  # Ctrl-C before the handlers were installed
        pass
    finally:
        stop()
        deadline = time.monotonic() + SERVE_STOP_SECONDS
        for name, p in procs.items():
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"inkline serve: the {name} did not stop in time: killed", file=sys.stderr)
                p.kill()
                p.wait()
    return EXIT_OK
