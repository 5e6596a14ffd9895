"""The command group's error handling: user-fixable errors become one line on stderr and an exit code."""

from __future__ import annotations

import sys

import click

from tagger.errors import Interrupted, TaggerError, Terminated, interrupt_exit_code

EXIT_USAGE, EXIT_BROKEN_PIPE = 2, 141
NEEDS_TORCH = (
    "which is not installed: pip install torch (tag, evaluate, compare, info and models run without it, "
    "on the default numpy runtime)"
)


class TaggerGroup(click.Group):
    """A click group that turns user-fixable errors into one line on stderr and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Interrupted as error:
            click.echo(f"{error}", err=True)
            ctx.exit(error.exit_code)
        except TaggerError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt as interrupt:
            click.echo("terminated" if isinstance(interrupt, Terminated) else "interrupted", err=True)
            ctx.exit(interrupt_exit_code(interrupt))
        except ModuleNotFoundError as error:
            if error.name != "torch":
                raise
            click.echo(f"error: {ctx.invoked_subcommand or 'this command'} needs PyTorch here, {NEEDS_TORCH}", err=True)
            ctx.exit(EXIT_USAGE)
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(EXIT_BROKEN_PIPE)
        except (MemoryError, RuntimeError) as error:
            if isinstance(error, RuntimeError) and not _is_allocation_failure(error):
                raise
            click.echo(f"error: out of memory ({first_line(error)}); lower the model's sizes or the batch size", err=True)
            ctx.exit(EXIT_USAGE)
        except OSError as error:  # the file system said no (disk full, permissions, a symlink loop)
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"error: {where}{error.strerror or error}", err=True)
            ctx.exit(EXIT_USAGE)


def _is_allocation_failure(error: RuntimeError) -> bool:
    """torch reports a failed allocation as a RuntimeError ("can't allocate memory", "out of memory")."""
    message = str(error)
    return "allocate" in message or "out of memory" in message


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__
