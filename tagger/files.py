"""Reading input lines with line numbers, and writing outputs atomically."""

from __future__ import annotations

import codecs
import contextlib
import errno as errno_codes
import glob
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tagger import faults
from tagger.errors import InputError, TaggerError
from tagger.model_files import is_model_directory


class WriteError(TaggerError):
    """An output could not be written (disk full, permissions); what was there before is intact."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno  # the OSError's, so that advice can tell a full disk from a read-only directory

    @property
    def out_of_room(self) -> bool:
        return self.errno in (errno_codes.ENOSPC, errno_codes.EDQUOT)


STDIO = "-"
BOM = "\ufeff"


# Compressed inputs are recognised by their first bytes, so `-` (stdin) works as well as a file name.
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "lzma"))
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
MAX_LINE_BYTES = 1 << 20  # of a line of a column file, a CoNLL-U file or token input


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file (or stdin for "-") for binary reading, with clear errors; gzip, bz2 and xz are decompressed."""
    if str(path) == STDIO:
        if sys.stdin is None:
            raise InputError(display_name(path), None, "standard input is closed; name an input file")
        return _decompressed(sys.stdin.buffer, path)
    try:
        return _decompressed(open(path, "rb"), path)
    except IsADirectoryError:
        raise InputError(path, None, "is a directory, expected a file") from None
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except PermissionError:
        raise InputError(path, None, "permission denied") from None
    except OSError as error:  # a symbolic-link loop, a name too long, an I/O error
        raise InputError(path, None, f"cannot open ({error.strerror or error})") from None


def _decompressed(stream: IO[bytes], path: str | Path) -> IO[bytes]:
    head = stream.peek(6)[:6] if hasattr(stream, "peek") else b""
    for magic, module_name in _COMPRESSED:
        if head.startswith(magic):
            import importlib

            module = importlib.import_module(module_name)
            damaged = (OSError, EOFError, ValueError, _own_error(module_name))
            return _CheckedStream(module.open(stream, "rb"), path, module_name, damaged)
    return stream


def _own_error(module_name: str) -> type[Exception]:
    """The decompressor's own exception for damaged data, beside OSError, EOFError and ValueError."""
    if module_name == "lzma":
        import lzma

        return lzma.LZMAError
    import zlib  # gzip lets zlib.error through for a damaged deflate stream; bz2 raises OSError

    return zlib.error


class _CheckedStream:
    """A decompressing reader whose damaged-data errors become one-line InputErrors."""

    def __init__(self, stream: IO[bytes], path: str | Path, kind: str, damaged: tuple[type[Exception], ...]) -> None:
        self.stream, self.path, self.kind = stream, display_name(path), {"lzma": "xz"}.get(kind, kind)
        self.damaged = damaged  # what the decompressor raises for damaged data (lzma has its own LZMAError)

    def _guard(self, call, *args):
        try:
            return call(*args)
        except self.damaged as error:
            raise InputError(self.path, None, f"damaged {self.kind} data ({error})") from None

    def read(self, size: int = -1) -> bytes:
        return self._guard(self.stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._guard(self.stream.readline, size)

    def close(self) -> None:
        self.stream.close()


def _nul_problem(data: bytes, first: bool) -> str:
    """What NUL bytes in text mean: UTF-16 (a BOM, or every other byte NUL) or binary data."""
    sample = data[:200]
    halves = (sample[0::2], sample[1::2])
    zero_halves = [half.count(0) >= 0.9 * len(half) for half in halves]
    alternating = len(sample) >= 4 and zero_halves.count(True) == 1  # all zeros (/dev/zero) is not text at all
    if alternating:  # UTF-16 text's other half is mostly printable characters; a program's (ELF) is not
        other = halves[zero_halves.index(False)]
        alternating = sum(32 <= byte < 127 or byte in b"\t\n\r" for byte in other) >= 0.9 * len(other)
    if first and (data.startswith(_UTF16_BOMS) or alternating):
        return "looks like UTF-16 text; convert it to UTF-8 first (for example: iconv -f UTF-16 -t UTF-8 FILE)"
    return "binary data (NUL byte), expected UTF-8 text"


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
    """Yield (line number, text with its line ending) for each line of a UTF-8 file.

    A line longer than MAX_LINE_BYTES is an error (read in bounded memory: an endless
    stream without line breaks, such as /dev/zero, stops there).
    """
    stream = open_binary(path)
    path = display_name(path)
    try:
        number = 0
        while raw := stream.readline(MAX_LINE_BYTES + 1):
            number += 1
            if b"\x00" in raw or (number == 1 and raw.startswith(_UTF16_BOMS)):
                raise InputError(path, number, _nul_problem(raw, number == 1))
            if len(raw) > MAX_LINE_BYTES:
                raise InputError(path, number, f"a line longer than {MAX_LINE_BYTES:,} bytes; is this a corpus file?")
            if number == 1 and b"\r" in raw.rstrip(b"\r\n"):
                raise InputError(
                    path,
                    number,
                    "has CR-only line endings (old Mac style); convert them to LF first "
                    "(for example: tr '\\r' '\\n' < FILE > FILE.txt)",
                )
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
            if b"\x00" in block or (lines_before == 0 and block.startswith(_UTF16_BOMS)):
                line = lines_before + block[: block.find(b"\x00")].count(b"\n") + 1
                raise InputError(name, line, _nul_problem(block, lines_before == 0 and line == 1))
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


def check_text_starts(paths: list[str]) -> None:
    """Read the first 64 KiB of each input as read_text_chunks does: a binary or UTF-16 file among many is one
    line before any output is written, not a stop after the files before it were tagged."""
    for path in paths:
        if str(path) == STDIO:
            continue
        chunks = read_text_chunks(path, 1 << 16)
        try:
            next(chunks, None)
        finally:
            chunks.close()


def expand_inputs(paths: list[str]) -> list[str]:
    """Input names as given, with each directory replaced by its files and each glob by its matches (sorted).

    A directory contributes the regular, non-hidden files directly inside it. A name that
    does not exist and holds `*`, `?` or `[` is a pattern (quote it, so that tagger
    expands it rather than the shell); one that matches nothing is an error.
    """
    expanded: list[str] = []
    for path in paths:
        if path == STDIO or Path(path).is_file():
            expanded.append(path)
        elif Path(path).is_dir():
            files = sorted(str(child) for child in Path(path).iterdir() if child.is_file() and not child.name.startswith("."))
            if not files:
                raise InputError(path, None, "is a directory with no files in it")
            expanded.extend(files)
        elif any(char in path for char in "*?["):
            matches = sorted(match for match in glob.glob(path) if Path(match).is_file())
            if not matches:
                raise InputError(path, None, "no file matches this pattern")
            expanded.extend(matches)
        else:
            expanded.append(path)  # opening it gives the precise error
    return expanded


def check_output(output: str | Path | None, inputs: list[str | Path] = (), force: bool = False) -> None:
    """Refuse an output that would destroy data: an input file, a file in a model directory, an existing file.

    Paths are compared after resolving symbolic links and `..`; an existing output is
    overwritten only with `force`. "-" (stdout) and None are always fine.
    """
    if any(str(path) == STDIO for path in inputs) and sys.stdin is None:
        raise InputError(display_name(STDIO), None, "standard input is closed; name an input file")
    if output is not None and str(output) == STDIO and sys.stdout is None:
        raise TaggerError("standard output is closed; name a file with --output")
    if output is None or str(output) == STDIO:
        return
    _check_replaceable(Path(output))
    target = Path(output).resolve()
    if inside_package(target):
        raise TaggerError(f"{output}: is inside the installed tagger package ({PACKAGE}); write outputs elsewhere")
    for path in inputs:
        if str(path) != STDIO and Path(path).resolve() == target:
            raise TaggerError(f"{output}: the output would overwrite the input {path}; choose another file")
    for directory in target.parents:
        if is_model_directory(directory):
            raise TaggerError(f"{output}: is inside the model directory {directory}; write outputs elsewhere")
    if target.is_dir():
        raise TaggerError(f"{output}: is a directory, expected a file name")
    if target.exists() and not force:
        raise TaggerError(f"{output}: already exists; pass --force to overwrite it")


PACKAGE = Path(__file__).resolve().parent  # the installed tagger package, bundled models included


def inside_package(path: Path) -> bool:
    """Whether a path lies in the installed tagger package (never written by a user's command)."""
    resolved = path.resolve()
    return resolved == PACKAGE or PACKAGE in resolved.parents


def _check_replaceable(path: Path) -> None:
    """An output may replace a regular file, never a link, a device, a FIFO or a socket (nor what a link names)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise TaggerError(f"{path}: cannot check the output ({error.strerror})") from None
    if stat.S_ISLNK(mode):
        raise TaggerError(f"{path}: is a symbolic link; name the file itself (the link would be replaced by a file)")
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise TaggerError(f"{path}: is not a regular file (a device, FIFO or socket); outputs replace only regular files")


LOCK = ".lock"  # a run directory's lock file: the pid of the process that holds it


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[bool]:
    """Hold `directory` for this process while the block runs: a lock file with this pid, created exclusively.

    A lock whose process is gone (killed) is stale and taken over; one whose process is alive
    is refused in one line, before anything in the directory is touched. Yields whether a
    stale lock was found: the directory is then what a killed process left.
    """
    stale = False
    created = not directory.exists()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TaggerError(f"{directory}: cannot create the run directory ({error.strerror or error})") from None
    path = directory / LOCK
    for _ in range(3):
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _lock_holder(path)
            if holder is not None and holder != os.getpid() and _is_running(holder):
                raise TaggerError(f"{directory}: in use by another tagger process (pid {holder}); wait for it to end") from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            stale = True
            continue
        with os.fdopen(descriptor, "w") as stream:
            stream.write(f"{os.getpid()}\n")
        break
    else:
        raise TaggerError(f"{directory}: cannot take its lock file {LOCK}")
    try:
        yield stale
    finally:
        if _lock_holder(path) == os.getpid():
            path.unlink(missing_ok=True)
        if created and not any(directory.iterdir()):  # a run refused before writing anything leaves nothing
            directory.rmdir()


def _lock_holder(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip() or "x")
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        if sys.stdout is None:
            raise TaggerError("standard output is closed; name a file with --output")
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        return
    target = Path(path)
    if target.is_dir():
        raise TaggerError(f"{target}: is a directory, expected a file name")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise WriteError(f"{target}: cannot write here ({error.strerror})", error.errno) from None
    try:
        encoding = None if "b" in mode else "utf-8"
        newline = None if "b" in mode else ""
        with os.fdopen(handle, mode, encoding=encoding, newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        publish_mode(temporary)
        faults.point(f"write:{target.name}")
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise WriteError(f"{target}: write failed ({error.strerror})", error.errno) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
