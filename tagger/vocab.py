"""Word, character, case and label vocabularies, and their JSON form in a model directory."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNKNOWN_ID = 0, 1  # every word and character index starts with PAD, UNK (see Vocab.build)
TOKEN_CACHE_SIZE = 500_000
MAX_WORD_CHARS = 40  # longer tokens (URLs, hashes) keep their first and last 20 characters

CASES = ("<pad>", "lower", "upper", "title", "mixed", "number", "has_digit", "other")


MIN_SCRIPT_SHARE = 0.01  # a script counts as read by a model when this share of its trained words are written in it
_SCRIPT_NAMES = {"CJK": "Han (Chinese characters)"}


def word_scripts(words: Iterable[str]) -> dict[str, int]:
    """The writing systems a model reads: its trained words per Unicode script (that of each word's first letter,
    by the first word of its Unicode name: Latin, Cyrillic, Greek, CJK...), those holding at least
    MIN_SCRIPT_SHARE of the words, most first.

    Text in a script left out is unknown words spelled with characters the model barely saw.
    """
    counts: Counter = Counter()
    total = 0
    for word in words:
        letter = next((char for char in word if char.isalpha()), None)
        if letter is not None and (name := unicodedata.name(letter, "")):
            total += 1
            first = name.split(" ")[0]
            counts[_SCRIPT_NAMES.get(first, first.title())] += 1
    return {script: count for script, count in counts.most_common() if count >= MIN_SCRIPT_SHARE * total}


def describe_scripts(scripts: dict[str, int]) -> str:
    """`Latin (31,760 words), Han (Chinese characters) (6,726 words)`: for `tagger info` and the bundled cards."""
    return ", ".join(f"{script} ({count:,} words)" for script, count in scripts.items()) or "none"


_INVISIBLE = re.compile("[\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(token: str) -> str:
    """The token without invisible format characters (soft hyphens, bidirectional controls); itself if it has none."""
    if token.isascii():
        return token
    return _INVISIBLE.sub("", token) or token


def case_of(token: str) -> int:
    """Index in CASES of a token's capitalisation pattern (the case feature)."""
    if token.isdigit() or token.replace(",", "").replace(".", "").isdigit():
        return CASES.index("number")
    if any(char.isdigit() for char in token):
        return CASES.index("has_digit")
    if not any(char.isalpha() for char in token):
        return CASES.index("other")
    if token.islower():
        return CASES.index("lower")
    if token.isupper():
        return CASES.index("upper")
    if token[0].isupper() and token[1:].islower():
        return CASES.index("title")
    return CASES.index("mixed")


def clip_word(token: str) -> str:
    """The characters the character encoder sees of a token."""
    if len(token) <= MAX_WORD_CHARS:
        return token
    half = MAX_WORD_CHARS // 2
    return token[:half] + token[-half:]


@dataclass
class Index:
    """A list of symbols with their positions (words and characters start with PAD and UNK; labels do not)."""

    symbols: list[str]
    positions: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.positions = dict(zip(self.symbols, range(len(self.symbols))))
        if len(self.positions) != len(self.symbols):
            raise ValueError("vocabulary has duplicate entries")

    def __len__(self) -> int:
        return len(self.symbols)

    def get(self, symbol: str, default: int = UNKNOWN_ID) -> int:
        return self.positions.get(symbol, default)


@dataclass
class Vocab:
    """Everything needed to turn tokens into ids and label ids back into labels.

    Word ids below len(words) are the trained words; with a pretrained table attached
    (`attach_table`), a token outside them whose word is in the table gets the id
    len(words) + its row there.
    """

    words: Index
    chars: Index
    labels: Index
    lowercase: bool = True
    table: Index | None = field(default=None, repr=False, compare=False)
    table_lowercase: bool = True
    heads: dict[str, Index] = field(default_factory=dict)  # each head's labels, where the model has several
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def attach_table(self, words: list[str] | Index, lowercase: bool) -> None:
        """Look words outside the trained ones up in a pretrained table of these words (in row order)."""
        self.table = words if isinstance(words, Index) else Index(list(words))
        self.table_lowercase = lowercase
        self._cache.clear()

    @classmethod
    def build(
        cls,
        token_lists: Iterable[list[str]],
        label_lists: Iterable[list[str]],
        lowercase: bool,
        extra_words: Iterable[str] = (),
        min_count: int = 1,
    ) -> Vocab:
        """Words seen at least `min_count` times (most frequent first), then `extra_words`; every character; the labels."""
        word_counts: Counter = Counter()
        char_counts: Counter = Counter()
        for tokens in token_lists:
            for token in tokens:
                word_counts[token.lower() if lowercase else token] += 1
                char_counts.update(clip_word(token))
        labels = sorted({label for labels in label_lists for label in labels})
        frequent = [word for word, count in word_counts.items() if count >= min_count]
        words = [PAD, UNK, *sorted(frequent, key=lambda word: (-word_counts[word], word))]
        known = set(words)
        words += [word for word in extra_words if word not in known]
        chars = [PAD, UNK, *sorted(char_counts, key=lambda char: (-char_counts[char], char))]
        return cls(Index(words), Index(chars), Index(labels), lowercase)

    def token_ids(self, token: str) -> tuple[int, int, list[int]]:
        """Word id, case class and character ids of a token, cached: word types repeat a lot.

        Invisible format characters (a soft hyphen, bidirectional marks) are left out: `Mer\u00adkel` reads as `Merkel`.
        """
        cached = self._cache.get(token)
        if cached is None:
            shown = visible(token)
            cached = (self.word_id(shown), case_of(shown), self.char_ids(shown))
            if len(self._cache) < TOKEN_CACHE_SIZE:
                self._cache[token] = cached
        return cached

    def word_id(self, token: str) -> int:
        own = self.words.get(token.lower() if self.lowercase else token, -1)
        if own >= 0 or self.table is None:
            return UNKNOWN_ID if own < 0 else own
        row = self.table.get(token.lower() if self.table_lowercase else token, -1)
        return UNKNOWN_ID if row < 0 else len(self.words) + row

    @property
    def word_ids(self) -> int:
        """How many word ids there are: the trained words and the rows of the pretrained table."""
        return len(self.words) + (len(self.table) if self.table is not None else 0)

    def char_ids(self, token: str) -> list[int]:
        return [self.chars.get(char) for char in clip_word(token)] or [self.chars.get(UNK)]

    def for_head(self, name: str) -> Vocab:
        """The vocabulary with one head's labels as its labels (words, characters and table shared)."""
        view = dataclasses.replace(self, labels=self.heads[name], heads={})
        view._cache = self._cache
        return view

    def to_json(self) -> dict:
        data = {
            "words": self.words.symbols,
            "chars": self.chars.symbols,
            "labels": self.labels.symbols,
            "lowercase": self.lowercase,
        }
        if self.heads:
            data["heads"] = {name: labels.symbols for name, labels in self.heads.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        expected = {"words", "chars", "labels", "lowercase"}
        if not isinstance(data, dict) or set(data) - {"heads"} != expected:
            raise ValueError(f"must have exactly the keys {sorted(expected)} (and heads, for a model with several)")
        heads = data.get("heads", {})
        if not isinstance(heads, dict) or not all(isinstance(name, str) for name in heads):
            raise ValueError("heads must map each head's name to its labels")
        lists = [data["words"], data["chars"], data["labels"], *heads.values()]
        if not all(isinstance(items, list) and all(isinstance(item, str) for item in items) for items in lists):
            raise ValueError("words, chars, labels and each head's labels must be lists of strings")
        if data["words"][:2] != [PAD, UNK] or data["chars"][:2] != [PAD, UNK]:
            raise ValueError(f"words and chars must start with {PAD!r} and {UNK!r}")
        head_labels = {name: Index(labels) for name, labels in heads.items()}
        return cls(Index(data["words"]), Index(data["chars"]), Index(data["labels"]), bool(data["lowercase"]), heads=head_labels)
