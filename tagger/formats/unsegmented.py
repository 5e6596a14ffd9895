"""Refusing raw text in scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese).

The raw-text tokenizer splits at spaces and punctuation, so an unsegmented Chinese
sentence would come out as one token and be tagged as one word. Rather than that, the
first such run stops tagging with one line naming the file and the line, and the way
to give the words: one per line or separated by spaces (`--input-format tokens`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import regex

from tagger.data import Sentence
from tagger.errors import InputError
from tagger.formats.text import read_text

# Chinese words are mostly one to four characters: a longer run of ideographs or kana is text
# that nobody split into words. Thai, Lao, Khmer and Burmese also write words without spaces
# between them (a space ends a phrase); their words are longer, so a run of 15 letters and marks.
UNSEGMENTED_RUN = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]{5,}|[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]{15,}")


class LineCounter:
    """Passes text chunks through and tells the line of an offset into them (offsets asked in increasing order)."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = iter(chunks)
        self._kept: deque[tuple[int, str]] = deque()  # chunks read and not yet passed: (start offset, text)
        self._end = 0
        self._lines_before_kept = 0

    def __iter__(self) -> Iterator[str]:
        for chunk in self._chunks:
            self._kept.append((self._end, chunk))
            self._end += len(chunk)
            yield chunk

    def forget_before(self, offset: int) -> None:
        """Drop the chunks wholly before character `offset` (counting their lines)."""
        while len(self._kept) > 1 and self._kept[1][0] <= offset:
            self._lines_before_kept += self._kept.popleft()[1].count("\n")

    def line_of(self, offset: int) -> int:
        """1-based line number of character `offset`."""
        self.forget_before(offset)
        start, chunk = self._kept[0] if self._kept else (0, "")
        return self._lines_before_kept + chunk.count("\n", 0, offset - start) + 1


def refuse_unsegmented(sentences: Iterable[Sentence], lines: LineCounter, name: str) -> Iterator[Sentence]:
    """The sentences as they come, stopping with an InputError at the first run of unsegmented script.

    Ideographs and kana are word characters to the tokenizer, so such a run never spans two
    tokens: one search of each non-ASCII sentence's text finds it.
    """
    for sentence in sentences:
        found = None if sentence.text.isascii() else UNSEGMENTED_RUN.search(sentence.text)
        if found is not None:
            raise InputError(
                name,
                lines.line_of(sentence.offsets[0][0] + found.start()),
                "Chinese, Japanese, Thai, Lao, Khmer or Burmese text without spaces between words cannot be split here; "
                "give the words one per line or separated by spaces, with --input-format tokens",
            )
        lines.forget_before(sentence.offsets[0][0])
        yield sentence


def read_raw_text(chunks: Iterable[str], name: str, sentence_per_line: bool = False) -> Iterator[Sentence]:
    """read_text's sentences of `chunks`, refusing unsegmented script; `name` is the input's, for the message."""
    lines = LineCounter(chunks)
    return refuse_unsegmented(read_text(lines, sentence_per_line), lines, name)
