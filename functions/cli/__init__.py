"""The operator CLI: ``budget-guard`` (or ``python -m functions``).

    plan             which rules fire and which actions would run for a spend (no network)
    check            preflight: policy, IAM permissions, billing link, topic, secret, ledger
    status           this period's crossings from the ledger, the actions taken, what is pending
    restore          undo the guard's brakes on a project once the cause is fixed
    send-test-alert  publish a well-formed budget notification to a topic
    lock-models      set the Gemini quotas of every model but the allowed ones to 0
    ceiling          per-model quotas so that one day's worst case stays under an amount
    audit            the API keys of the guarded projects: findings, fixes (--fix)

Exit codes: 0 ok, 1 a check or an operation failed, 2 usage or configuration error (a bad policy
prints the PolicyError, which starts with the path of the bad field). Every command takes
``--policy FILE`` (default: the function's ``BUDGET_GUARD_POLICY`` / ``BUDGET_GUARD_POLICY_FILE``)
and ``--json``. Each command lives in its own module; Google clients are imported only by the
commands that call Google.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from functions import __version__
from functions.cli import (
    audit,
    ceiling,
    check,
    lock_models,
    plan,
    restore,
    send_test_alert,
    status,
)
from functions.cli.common import UsageError
from functions.cli.output import Output
from functions.errors import GuardError, PolicyError

__all__ = ["COMMANDS", "build_parser", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# name -> module with HELP, DESCRIPTION, add_arguments(parser) and run(args, out) -> int
COMMANDS = {
    "plan": plan,
    "check": check,
    "status": status,
    "restore": restore,
    "send-test-alert": send_test_alert,
    "lock-models": lock_models,
    "ceiling": ceiling,
    "audit": audit,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="budget-guard",
        description=(
            "Operator tools for Budget Guard: plan, check, status, restore, test alerts, "
            "lock unused models, a spend ceiling, a key audit."
        ),
        epilog="Exit codes: 0 ok, 1 a check or an operation failed, 2 usage or configuration error",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse already printed
        return (
            exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
        )
    out = Output(as_json=getattr(args, "json", False))
    try:
        code: int = args.run(args, out)
        return code
    except PolicyError as exc:
        out.error(f"invalid policy: {exc}", EXIT_USAGE)
        return EXIT_USAGE
    except UsageError as exc:
        out.error(str(exc), EXIT_USAGE)
        return EXIT_USAGE
    except GuardError as exc:
        out.error(str(exc), EXIT_FAILED)
        return EXIT_FAILED
    except Exception as exc:
        if not type(exc).__module__.startswith("google.auth"):
            raise  # a bug: the traceback is what its report needs
        out.error(
            f"no usable Google credentials ({type(exc).__name__}: {exc}); run "
            "`gcloud auth application-default login`",
            EXIT_USAGE,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        out.error("interrupted", 130)
        return 130
