"""Turn every user error into one line on stderr and exit status 2 (never a traceback)."""

from __future__ import annotations

import os
import sys

import typer

from vidstyle.errors import VidstyleInputError

INTERRUPTED = 130


def run_cli(command, args: list[str] | None = None, prog_name: str = "vidstyle") -> int:
    """Run a typer-built click command without its standalone handling.

    Usage and option errors, and :class:`VidstyleInputError`, become ``vidstyle: error: ...`` and
    status 2; an interrupt becomes 130; success is 0. ``--help`` prints help and returns 0.
    """
    _quiet_libraries()
    try:
        status = command.main(args=args, prog_name=prog_name, standalone_mode=False)
        if status == INTERRUPTED:  # typer turns KeyboardInterrupt into a returned 130
            raise KeyboardInterrupt
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        return _fail("aborted")
    except typer.TyperException as err:  # click's UsageError / BadParameter family, as vendored by typer
        ctx = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            return 0
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        return _fail(err.format_message() + hint)
    except VidstyleInputError as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        return _fail(f"interrupted{_resume_hint(args)}", status=INTERRUPTED)
    return 0


RESUME_HINTS = {
    "stylize": "; rerun with --resume to continue a long video",
    "train": "; rerun with --resume to continue from the last checkpoint",
    "cache": "; rerun the same command to continue",
    "data": "; rerun the same command to continue",
    "bench": "; rerun the same command to continue (finished stages are kept)",
}


def _resume_hint(args: list[str] | None) -> str:
    """How to continue after an interrupt, for the commands that can (from the first argument, the command)."""
    command = next((a for a in (args if args is not None else sys.argv[1:]) if not a.startswith("-")), "")
    return RESUME_HINTS.get(command, "")


def _quiet_libraries() -> None:
    """Progress and errors are ours: library warnings off, whether or not the libraries are imported yet."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    for name in ("diffusers", "transformers"):
        if name in sys.modules:
            sys.modules[name].utils.logging.set_verbosity_error()


def _fail(message: str, status: int = 2) -> int:
    print(f"vidstyle: error: {' '.join(message.split())}", file=sys.stderr)
    return status
