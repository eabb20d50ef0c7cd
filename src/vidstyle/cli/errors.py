"""Turn every user error into one line on stderr and exit status 2 (never a traceback)."""

from __future__ import annotations

import sys
import click

from vidstyle.errors import VidstyleInputError


def run_cli(command: click.Command, args: list[str] | None = None, prog_name: str = "vidstyle") -> int:
    """Run a click command; user errors -> ``vidstyle: error: ...`` and 2; success -> 0."""
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:
        return _fail("aborted")
    except click.UsageError as err:
        hint = f" (see '{prog_name} {err.ctx.info_name if err.ctx and err.ctx.parent else ''} --help')"
        return _fail(err.format_message().replace("\n", " ") + hint.replace("  ", " "))
    except click.ClickException as err:
        return _fail(err.format_message())
    except VidstyleInputError as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        return _fail("interrupted; rerun with --resume to continue a long video", status=130)
    return 0


def _fail(message: str, status: int = 2) -> int:
    print(f"vidstyle: error: {' '.join(message.split())}", file=sys.stderr)
    return status
