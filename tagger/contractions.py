"""Contractions as a treebank splits them: raw text tokenized into the words a POS model was trained on.

A CoNLL-U treebank writes some tokens as several syntactic words (multiword tokens: UD
Portuguese `do` is the words `de o`, `no` is `em o`; Spanish `del`; German `zum`). A model
trained on those words never sees `do` whole, so raw text must be split the same way.
Training learns the table from the training files' multiword-token lines: a lowercased
form is split when the treebank splits it more often than it keeps it whole, into its most
frequent words. Pronouns joined to a verb by a hyphen (`disse-me`, `chama-se` as the words
`disse me`, `chama se`) are learnt as a set of clitics, so that a verb form the treebank never
wrote is split too. The model directory keeps both in contractions.json; `tagger tag`
applies them to raw text (each word keeps the character offsets of the token it came from).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from tagger.data import Sentence
from tagger.files import read_lines
from tagger.model_files import ModelDirError, read_json_object

CONTRACTIONS = "contractions.json"
MAX_ENTRIES = 100_000
MIN_SPLITS = 2  # a form split once may be an annotation slip
_RANGE = re.compile(r"^(\d+)-(\d+)$")


class Contractions(NamedTuple):
    """A model's contractions: lowercased form -> its words, and the clitics a hyphen joins to a word."""

    splits: dict[str, list[str]]
    clitics: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.splits or self.clitics)

    def words(self, token: str) -> list[str] | None:
        """The words of `token` in its case, or None when it is not a contraction."""
        lowered = token.lower()
        if lowered in self.splits:
            return _cased(self.splits[lowered], token)
        head, *tails = token.split("-")
        if tails and head and all(tail.lower() in self.clitics for tail in tails):
            return [head, *tails]
        return None


def learn_contractions(paths: Iterable[str]) -> Contractions:
    """The contractions of CoNLL-U training files: forms split more often than kept whole, and hyphen clitics."""
    split, whole = _multiword_counts(paths)
    splits = {
        form: list(counts.most_common(1)[0][0])
        for form, counts in sorted(split.items())
        if sum(counts.values()) >= MIN_SPLITS and sum(counts.values()) > whole[form]
    }
    clitics: Counter = Counter()
    for form, counts in split.items():
        for words, count in counts.items():
            if "-" in form and list(words) == form.split("-"):
                clitics.update({tail: count for tail in words[1:]})
    return Contractions(splits, frozenset(tail for tail, count in clitics.items() if count >= MIN_SPLITS and tail.isalpha()))


def _multiword_counts(paths: Iterable[str]) -> tuple[dict[str, Counter], Counter]:
    """How each lowercased multiword-token form was split (word tuples counted), and how often each form was a word."""
    split: dict[str, Counter] = defaultdict(Counter)
    whole: Counter = Counter()
    for path in paths:
        pending: tuple[str, int] | None = None  # a multiword token's form and last word id
        words: list[str] = []
        for _, line in read_lines(path):
            fields = line.split("\t")
            if len(fields) < 2 or line.startswith("#"):
                continue
            if match := _RANGE.match(fields[0]):
                pending, words = (fields[1].lower(), int(match.group(2))), []
            elif pending is not None and fields[0].isdigit():
                words.append(fields[1].lower())
                if int(fields[0]) == pending[1]:
                    split[pending[0]][tuple(words)] += 1
                    pending = None
            elif fields[0].isdigit():
                whole[fields[1].lower()] += 1
    return split, whole


def read_contractions(directory: Path) -> Contractions:
    """A model directory's contractions (none without contractions.json); a damaged file is one line."""
    path = directory / CONTRACTIONS
    if not path.exists():
        return Contractions({})
    data = read_json_object(path)
    splits, clitics = data.get("splits"), data.get("clitics")
    if (
        set(data) != {"format_version", "splits", "clitics"}
        or data["format_version"] != 1
        or not isinstance(splits, dict)
        or not isinstance(clitics, list)
        or len(splits) + len(clitics) > MAX_ENTRIES
        or not all(isinstance(clitic, str) and clitic for clitic in clitics)
        or not all(
            isinstance(words, list) and 1 < len(words) <= 8 and all(isinstance(word, str) and word for word in words)
            for words in splits.values()
        )
    ):
        raise ModelDirError(f"{path}: expected format_version 1, splits (form -> 2 to 8 words) and clitics (strings)")
    return Contractions(splits, frozenset(clitics))


def contractions_json(contractions: Contractions) -> dict:
    return {"format_version": 1, "splits": contractions.splits, "clitics": sorted(contractions.clitics)}


def _cased(words: list[str], token: str) -> list[str]:
    """The words of a split in the token's case: `Do` -> `De o`, `DO` -> `DE O`."""
    if token.isupper() and len(token) > 1:
        return [word.upper() for word in words]
    if token[:1].isupper():
        return [words[0][:1].upper() + words[0][1:], *words[1:]]
    return list(words)


def split_contractions(sentences: Iterable[Sentence], contractions: Contractions) -> Iterator[Sentence]:
    """The sentences with each contraction replaced by its words, every word at its token's offsets."""
    for sentence in sentences:
        parts = [contractions.words(token) for token in sentence.tokens] if contractions else []
        if not any(parts):
            yield sentence
            continue
        tokens: list[str] = []
        offsets: list[tuple[int, int]] = []
        for index, (token, words) in enumerate(zip(sentence.tokens, parts)):
            words = words or [token]
            tokens.extend(words)
            if sentence.offsets is not None:
                offsets.extend([sentence.offsets[index]] * len(words))
        yield replace(sentence, tokens=tokens, offsets=offsets if sentence.offsets is not None else None, raw=None)
