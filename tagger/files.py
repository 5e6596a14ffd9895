"""Reading input lines with line numbers, and writing outputs atomically."""

from __future__ import annotations

import codecs
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tagger.errors import InputError, TaggerError

STDIO = "-"
BOM = "\ufeff"


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file (or stdin for "-") for binary reading, with clear errors."""
    if str(path) == STDIO:
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except IsADirectoryError:
        raise InputError(path, None, "is a directory, expected a file") from None
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except PermissionError:
        raise InputError(path, None, "permission denied") from None


def display_name(path: str | Path) -> str:
    """How messages name a path: stdin ("-") is "<stdin>"."""
    return "<stdin>" if str(path) == STDIO else str(path)


def decode_line(raw: bytes, path: str | Path, number: int) -> str:
    """Decode one line as UTF-8, naming the line when it is not valid UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(path, number, f"invalid UTF-8 (byte {error.start + 1} of the line)") from None


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text with its line ending) for each line of a UTF-8 file."""
    stream = open_binary(path)
    path = display_name(path)
    try:
        for number, raw in enumerate(stream, start=1):
            if b"\x00" in raw:
                raise InputError(path, number, "binary data (NUL byte), expected UTF-8 text")
            yield number, decode_line(raw, path, number)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_text_chunks(path: str | Path, block_size: int = 1 << 20) -> Iterator[str]:
    """The decoded text of a UTF-8 file in pieces of about `block_size` bytes (bounded memory)."""
    stream = open_binary(path)
    name = display_name(path)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines_before = 0
    try:
        while block := stream.read(block_size):
            if b"\x00" in block:
                line = lines_before + block[: block.index(b"\x00")].count(b"\n") + 1
                raise InputError(name, line, "binary data (NUL byte), expected UTF-8 text")
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as error:
                line = lines_before + block[: max(error.start, 0)].count(b"\n") + 1
                raise InputError(name, line, "invalid UTF-8") from None
            lines_before += block.count(b"\n")
            yield text
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(name, lines_before + 1, "invalid UTF-8 (the file ends inside a character)") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def strip_ending(line: str) -> str:
    """The line without its line ending (LF or CRLF) and without a leading BOM."""
    return line.rstrip("\r\n").lstrip(BOM)


def publish_mode(path: str | Path, directory: bool = False) -> None:
    """Give a temporary file (mode 0600) or directory (0700) the permissions a plain open() would."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if directory else 0o666) & ~mask)


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside `path` and move it into place only on success.

    An interrupted or failed write leaves any earlier file at `path` untouched and no
    partial file under the final name. "-" writes to stdout.
    """
    if str(path) == STDIO:
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        return
    target = Path(path)
    if target.is_dir():
        raise TaggerError(f"{target}: is a directory, expected a file name")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise TaggerError(f"{target}: cannot write here ({error.strerror})") from None
    try:
        encoding = None if "b" in mode else "utf-8"
        newline = None if "b" in mode else ""
        with os.fdopen(handle, mode, encoding=encoding, newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        publish_mode(temporary)
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise TaggerError(f"{target}: write failed ({error.strerror})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
