"""What many tests share: one in-process CLI runner and the tiny network of the fast training tests."""

from __future__ import annotations

from click.testing import CliRunner, Result

from tagger.cli import main

TINY_MODEL = {"word_dim": 8, "char_dim": 4, "char_hidden": 4, "hidden": 8, "case_dim": 2}


def cli(*args: object, stdin: str | bytes | None = None, catch_exceptions: bool = True) -> Result:
    """`tagger ARGS` in this process (click's runner, no start-up cost): exit_code, stdout, stderr, output.

    With `catch_exceptions=False` an unexpected exception fails the test with its traceback.
    """
    return CliRunner().invoke(main, [str(arg) for arg in args], input=stdin, catch_exceptions=catch_exceptions)
