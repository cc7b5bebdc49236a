"""The `brownout` command. Every error class maps to an exit code (`brownout.exit_codes`) here, and only here."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any, Sequence

from brownout import __version__
from brownout.errors import BrownoutError, SpecError, SpecErrors
from brownout.exit_codes import EXIT_CODES

__all__ = ["EXIT_CODES", "main"]



def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _print_spec_errors(errors: Sequence[SpecError]) -> None:
    for error in errors:
        _err(f"error: {error}")


def _count(low: int, high: int):
    """An argparse type: a whole number in [low, high] (`--workers 0` is a mistake, not a default)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _allow_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-path", action="append", default=[], metavar="DIR",
                        help="a folder outside the repository root that included fragments and data files may come "
                             "from (repeatable; also BROWNOUT_ALLOW_PATHS)")


def cmd_validate(args: argparse.Namespace) -> int:
    from brownout.experiments.dryrun import command_lines, timeline_lines
    from brownout.experiments.loading import load_experiment, validate_paths

    allow = [Path(p) for p in args.allow_path]
    results = validate_paths([Path(p) for p in args.paths], allow)
    bad = 0
    for path, errors in results:
        if errors:
            bad += 1
            _print_spec_errors(errors)
        else:
            print(f"ok: {path}")
            spec = load_experiment(path, allow=allow).spec
            print("\n".join([*command_lines(spec), *timeline_lines(spec)]))
    total_errors = sum(len(e) for _, e in results)
    if bad:
        _err(f"{bad} of {len(results)} file(s) invalid, {total_errors} error(s)")
        return EXIT_CODES["invalid"]
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from brownout.experiments.schema import experiment_json_schema

    print(json.dumps(experiment_json_schema(), indent=2))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from brownout.experiments.console import Console
    from brownout.experiments.dryrun import dry_run
    from brownout.experiments.final import finish
    from brownout.experiments.loading import load_experiment
    from brownout.experiments.runner import RunOptions, run_experiment

    loaded = load_experiment(Path(args.file), allow=[Path(p) for p in args.allow_path])  # SpecError(s) -> exit 2
    options = RunOptions(
        out_dir=Path(args.out) if args.out else None,
        dry_run=args.dry_run,
        quiet=args.quiet,
        workers=args.workers,
    )
    console = Console(args.log_format)
    if args.dry_run:
        return dry_run(loaded, options, console)
    return finish(run_experiment(loaded, options, console), console)


def cmd_gate(args: argparse.Namespace) -> int:
    from brownout.reports.gate import judge, read_results, same_experiment

    if args.max_score_drop is not None and (args.baseline is None or args.max_score_drop < 0):
        _err("error: --max-score-drop needs --baseline and a number of points >= 0, "
             f"got {args.max_score_drop:g}" + ("" if args.baseline else " without --baseline"))
        return EXIT_CODES["invalid"]
    current = read_results(Path(args.results))
    baseline = read_results(Path(args.baseline)) if args.baseline else None
    if baseline is not None and not args.allow_other_experiment:
        problem = same_experiment(current, baseline)
        if problem:
            _err(f"error: {problem} (--allow-other-experiment compares them anyway)")
            return EXIT_CODES["invalid"]
    verdict = judge(current, baseline, args.max_score_drop)
    print(verdict.headline)
    for reason in verdict.reasons:
        print(f"  {reason}")
    return verdict.exit_code


def cmd_report(args: argparse.Namespace) -> int:
    from brownout.reports import write_all, write_index
    from brownout.reports.gate import read_results

    if args.index:
        print(f"index: {write_index(Path(args.results))}")
        return 0
    source = Path(args.results)
    if args.rescore:
        from brownout.reports.saved import load_saved, score_saved

        folder = source if source.is_dir() else source.parent
        try:
            saved = load_saved(folder)
        except FileNotFoundError:
            raise SpecError("no run.json in this folder: --rescore needs a run folder written by `brownout run`",
                            file=str(folder)) from None
        written = write_all(score_saved(saved), Path(args.out) if args.out else folder, saved.records)
    else:
        results = read_results(source)
        written = write_all(results, Path(args.out) if args.out else source.parent, run_dir=source.parent)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    from brownout.experiments.rollback import forget_run, recover_stale

    if args.forget:
        by = f"{getpass.getuser()}@{socket.gethostname()}"
        state = forget_run(args.forget, by)
        still = [f"fault '{f.handle.get('fault')}' ({f.handle.get('kind')})" for f in state.faults] + list(
            f"process {p.name}" for p in state.processes)
        print(f"{args.forget}: journal closed by hand by {by}; nothing was undone"
              + (f"; it still showed open: {', '.join(still)}" if still else ""))
        return 0
    reports = recover_stale(log=_err)
    if not reports:
        print("nothing to recover: no journal of a dead run shows an open fault or process")
        return 0
    failed = 0
    for report in reports:
        for name, pids in report.stopped.items():
            print(f"{report.run_id}: {name} " + (f"stopped (pids {pids})" if pids else "already gone (it died with its run)"))
        for undo in report.undone:
            if undo.moot:
                state = f"moot, closed: {undo.moot}"
            else:
                state = "undone" if undo.ok else f"FAILED after {undo.attempts} attempt(s): {undo.error}"
            print(f"{report.run_id}: fault '{undo.fault}' ({undo.kind}) {state}")
            failed += not undo.ok
        if not report.ok:
            print(f"{report.run_id}: still open; retry `brownout recover`, or close it by hand with "
                  f"`brownout recover --forget {report.run_id}` once you have undone it yourself")
    return EXIT_CODES["error"] if failed else 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from brownout.sandbox import SandboxConfig, find_running, start_sandbox, stop_from_state_file

    from brownout.experiments.journal import brownout_home

    # One place per user, whatever the current directory: `up` in one terminal, `status`/`down` in another.
    workdir = Path(args.workdir) if args.workdir else brownout_home() / "sandbox"
    if args.action == "up":
        running = find_running(workdir)
        if running is not None:
            print(f"sandbox already running: gateway {running.gateway_url}, control {running.control_url}")
            return 0
        # By hand there is no run waiting on it: a slow machine gets a minute, not a run's 30 s.
        handle = start_sandbox(SandboxConfig(profile=args.profile), workdir, detach=True, timeout=60.0)
        print(f"sandbox up: gateway {handle.gateway_url}, control {handle.control_url} (pid {handle.supervisor_pid})")
        return 0
    if args.action == "down":
        if not stop_from_state_file(workdir):
            print(f"no sandbox running (state folder {workdir})")
            return 1
        print("sandbox stopped")
        return 0
    running = find_running(workdir)
    if running is None:
        print(f"no sandbox running (state folder {workdir})")
        return 1
    print(json.dumps(running.state(), indent=2))
    return 0


def _proxy_config(path: Path) -> list[Any]:
    """Toxiproxy's JSON config file: a list of {name, listen, upstream, enabled}; a located SpecError otherwise."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read the proxy config: {exc.strerror or exc}", str(path)) from None
    except ValueError as exc:
        raise SpecError(f"not JSON: {exc}", str(path), getattr(exc, "lineno", None), getattr(exc, "colno", None)) from None
    if not isinstance(config, list):
        raise SpecError("expected a list of proxies ({name, listen, upstream, enabled}), as Toxiproxy's -config file",
                        str(path), 1, 1)
    return config


def cmd_proxy(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from brownout.faults.network.embedded.model import ApiError
    from brownout.faults.network.embedded.server import serve

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        _err(f"error: --listen must be HOST:PORT, got '{args.listen}'")
        return EXIT_CODES["invalid"]
    config = _proxy_config(Path(args.config)) if args.config else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(host.strip("[]"), int(port), lambda url: print(f"Toxiproxy-compatible API at {url} "
                                                                          "(TOXIPROXY_URL); Ctrl-C stops it", flush=True),
                          config))
    except ApiError as exc:
        raise SpecError(exc.message, args.config or args.listen) from None
    except OSError as exc:
        _err(f"error: cannot listen on {args.listen}: {exc.strerror or exc}")
        return EXIT_CODES["error"]
    print("stopped: every toxic removed, every proxy closed", flush=True)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from brownout.loadgen import run_worker

    host, _, port = args.master.rpartition(":")
    if not host or not port.isdigit():
        _err(f"error: --master must be HOST:PORT, got '{args.master}'")
        return EXIT_CODES["invalid"]
    return run_worker(host, int(port))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brownout", description="Chaos and resilience testing for AI inference systems.")
    parser.add_argument("--version", action="version", version=f"brownout {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run an experiment")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="resolve and print what each fault would hit; inject nothing")
    p.add_argument("--out", help="output folder (default reports/<run-id>)")
    p.add_argument("--workers", type=_count(1, 64), help="local load worker processes, 1-64 (overrides load.workers)")
    p.add_argument("--quiet", action="store_true", help="no live progress lines")
    _allow_path(p)
    p.add_argument("--log-format", choices=["text", "json"], default="text",
                   help="json: one JSON object per log line on stderr, for CI log parsers")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check experiment files without touching anything")
    p.add_argument("paths", nargs="+", help="files or folders")
    _allow_path(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the experiment JSON Schema")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("gate", help="judge saved results for CI, optionally against an earlier run")
    p.add_argument("results", help="results.json of the run to judge")
    p.add_argument("--baseline", help="results.json of an earlier run to compare with")
    p.add_argument("--max-score-drop", type=float,
                   help="fail when the score fell more than this many points below the baseline's (needs --baseline)")
    p.add_argument("--allow-other-experiment", action="store_true",
                   help="compare with a baseline of another experiment (refused by default: the SLOs differ)")
    p.set_defaults(func=cmd_gate)

    p = sub.add_parser("report", help="re-render outputs from saved results, or index many runs (--index)")
    p.add_argument("results", help="results.json (with --index: a folder of runs)")
    p.add_argument("--out", help="output folder (default: beside the results file)")
    p.add_argument("--rescore", action="store_true",
                   help="score the run folder again from what it saved (run.json, records, probe runs) instead of "
                        "re-rendering results.json: the same folder gives the same verdict")
    p.add_argument("--index", action="store_true",
                   help="write RESULTS/index.html: score and SLOs of every run below the folder, over time")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("recover", help="undo what crashed runs left applied or running")
    p.add_argument("--forget", metavar="RUN_ID",
                   help="close that run's journal by hand (after undoing it yourself); records who did; undoes nothing")
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("sandbox", help="start, stop or inspect the embedded sandbox by hand")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--workdir", help="state and log folder (default $BROWNOUT_HOME/sandbox, ~/.brownout/sandbox)")
    p.add_argument("--profile", choices=["resilient", "fragile"], default="resilient")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("proxy", help="run the embedded Toxiproxy-compatible server in the foreground")
    p.add_argument("action", choices=["serve"])
    p.add_argument("--listen", default="127.0.0.1:8474", help="API address (default 127.0.0.1:8474, as Toxiproxy)")
    p.add_argument("--config", help="proxies to create at start, in Toxiproxy's JSON config format")
    p.set_defaults(func=cmd_proxy)

    p = sub.add_parser("worker", help="join a distributed run as a load worker")
    p.add_argument("--master", required=True, help="HOST:PORT of the run's Locust master")
    p.set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SpecErrors as exc:
        _print_spec_errors(exc.errors)
        return EXIT_CODES["invalid"]
    except SpecError as exc:
        _print_spec_errors([exc])
        return EXIT_CODES["invalid"]
    except BrownoutError as exc:
        _err(f"error: {type(exc).__name__}: {exc}")
        return EXIT_CODES["error"]
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `brownout schema | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
