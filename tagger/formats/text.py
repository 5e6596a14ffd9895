"""Raw text to sentences of tokens with character offsets into the input.

A rule-based tokenizer for English-like text following the conventions of the training
corpora (Penn Treebank, UD EWT, CoNLL-2003): punctuation split off, `don't` -> `do n't`,
`it's` -> `it 's`; URLs, e-mail addresses, numbers with their separators and the letters
they run into (`1,200.50`, `1996-08-22`, `10:30am`, `1990s`, `60-talet`), currencies
written with letters (`US$`, `R$`), abbreviations (`U.S.`,
`Mr.`), `@user` and `#hashtag` kept whole. A token never ends inside a Unicode grapheme
cluster (accents written as combining marks, Devanagari syllables, flags and other emoji
sequences). Paragraphs (separated by blank lines) are split into sentences after `.`,
`!` or `?` when what follows starts a new sentence, or each line is one sentence.
Offsets index the decoded input string, so `text[start:end]` is the token.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator

import regex

from tagger.data import Sentence

ABBREVIATIONS = (
    "Mr Mrs Ms Dr Prof St Jr Sr Inc Ltd Co Corp Bros vs etc Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec "
    "Gov Sen Rep Gen Col Lt Capt Sgt Mt Ave Rd Blvd No Fig approx dept est Jan e.g i.e a.m p.m"
).split()
# Invisible format characters: a soft hyphen and the bidirectional marks and embeddings. Inside a
# word they stay part of it (`Mer\u00adkel` is one token); between words they separate, as spaces do.
INVISIBLE = "\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SPACE = rf"[\s\u200b\u200c\u200d\u2060\ufeff{INVISIBLE}]+"
_ABBREVIATION = "|".join(re.escape(word) for word in sorted(set(ABBREVIATIONS), key=len, reverse=True))
# `regex` rather than `re`: its \w includes combining marks, and \X is a grapheme cluster.
TOKEN = regex.compile(
    rf"""
    (?P<space>{_SPACE})
    |(?P<url>(?:https?://|www\.)[^\s<>"]{{0,2048}}[^\s<>".,;:!?)\]}}'])
    |(?P<email>[\w.+-]{{1,64}}@[\w-]{{1,63}}(?:\.[\w-]{{1,63}}){{1,8}})
    |(?P<social>(?<!\w)(?:@\w{{1,64}}|\#\w{{0,139}}[^\W\d_]\w{{0,139}}))
    |(?P<abbreviation>(?:[^\W\d_]\.){{2,}}|(?:{_ABBREVIATION})\.(?!\w))
    |(?P<currency>(?<!\w)\p{{Lu}}{{1,3}}\$)
    |(?P<number>\d+(?:[.,:/-]\d+){{0,8}}[^\W_]*(?:-[^\W\d_]+)*)
    |(?P<word>[^\W_](?:[\w]|[-'’{INVISIBLE}](?=\w))*)
    |(?P<ellipsis>\.\.\.|--|[!?]+)
    |(?P<other>\X)
    """,
    regex.VERBOSE | regex.DOTALL | regex.VERSION0,
)
GRAPHEME = regex.compile(r"\X", regex.DOTALL)
CLITIC = re.compile(r"(?i)(?:(?<=\w)(n['’]t)|(['’](?:s|re|ve|ll|d|m)))$")
SENTENCE_END = {".", "!", "?", "...", "!!", "??", "?!", "!?"}
CLOSERS = {'"', "'", ")", "]", "}", "’", "”", "»"}


def _split_clitics(word: str, start: int) -> list[tuple[int, int]]:
    """`don't` -> `do`, `n't`; `it's` -> `it`, `'s` (Penn Treebank and UD EWT style)."""
    match = CLITIC.search(word)
    if match is None or match.start() == 0:
        return [(start, start + len(word))]
    cut = start + match.start()
    return [(start, cut), (cut, start + len(word))]


def _grapheme_ends(text: str, start: int, end: int) -> int:
    """`end` moved forward to the end of the grapheme cluster it falls in (unchanged on a boundary)."""
    cluster = GRAPHEME.match(text, start)
    while cluster is not None and cluster.end() < end:
        cluster = GRAPHEME.match(text, cluster.end())
    return end if cluster is None else max(end, cluster.end())


def _whole_graphemes(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge tokens that would end inside a grapheme cluster (ZWJ sequences, a mark after punctuation)."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            continue
        merged.append((start, _grapheme_ends(text, start, end)))
    return merged


def tokenize(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each token of `text`, shifted by `offset`."""
    spans: list[tuple[int, int]] = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        kind, start, end = match.lastgroup, match.start(), match.end()
        position = end
        if kind == "space":
            continue
        if kind == "word":
            spans.extend(_split_clitics(text[start:end], start))
        else:
            spans.append((start, end))
    if not text.isascii():
        spans = _whole_graphemes(text, spans)
    return [(offset + start, offset + end) for start, end in spans]


def _starts_sentence(token: str) -> bool:
    first = token[0]
    return first.isupper() or first.isdigit() or first in "\"'“‘([" or not first.isalpha()


def split_sentences(text: str, spans: list[tuple[int, int]], offset: int = 0) -> list[list[tuple[int, int]]]:
    """Group token spans into sentences."""
    sentences: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    ended = False
    for span in spans:
        token = text[span[0] - offset : span[1] - offset]
        if ended and token not in CLOSERS and token not in SENTENCE_END:
            if _starts_sentence(token):
                sentences.append(current)
                current = []
            ended = False
        current.append(span)
        if token in SENTENCE_END:
            ended = True
    if current:
        sentences.append(current)
    return sentences


def _sentence(text: str, spans: list[tuple[int, int]], offset: int) -> Sentence:
    tokens = [text[start - offset : end - offset] for start, end in spans]
    return Sentence(tokens, {}, None, spans, text[spans[0][0] - offset : spans[-1][1] - offset])


def sentences_of(text: str, offset: int = 0) -> list[Sentence]:
    """Sentences of one paragraph of text; offsets index the whole input when `offset` is its start."""
    return [_sentence(text, spans, offset) for spans in split_sentences(text, tokenize(text, offset), offset)]


def line_sentence(text: str, offset: int = 0) -> list[Sentence]:
    """A line of text as one sentence (none for a blank line)."""
    spans = tokenize(text, offset)
    return [_sentence(text, spans, offset)] if spans else []


PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v\u200b\ufeff]*\n")
LINE_BREAK = re.compile(r"\n")
WHITE_SPACE = re.compile(r"\s")
MAX_PARAGRAPH_CHARS = 1 << 20
# A "token" of more characters than this (a pasted blob) is cut into pieces of MAX_PARAGRAPH_CHARS,
# with a warning, so that memory stays bounded; one that ends before this is kept whole.
MAX_TOKEN_CHARS = 2 * MAX_PARAGRAPH_CHARS


class LongTokenNotice(UserWarning):
    """Raw text held a run of non-space characters too long to be one token; it was cut."""


def _soft_cut(buffer: str) -> int | None:
    """Where to cut an over-long paragraph: after the last white space within the limit.

    A token longer than the limit is kept whole: the cut is after it, or None while the
    buffer holds no white space after it yet; beyond MAX_TOKEN_CHARS it is cut at the limit.
    """
    cut = max(buffer.rfind(" ", 0, MAX_PARAGRAPH_CHARS), buffer.rfind("\n", 0, MAX_PARAGRAPH_CHARS))
    if cut > 0:
        return cut + 1
    after = WHITE_SPACE.search(buffer, MAX_PARAGRAPH_CHARS, MAX_TOKEN_CHARS + 1)
    if after is not None:
        return after.end()
    if len(buffer) > MAX_TOKEN_CHARS:
        warnings.warn(
            f"raw text holds a run of more than {MAX_TOKEN_CHARS:,} characters without white space; "
            f"it is cut into tokens of {MAX_PARAGRAPH_CHARS:,} characters",
            LongTokenNotice,
            stacklevel=2,
        )
        return MAX_PARAGRAPH_CHARS
    return None


def read_text(chunks: Iterable[str], sentence_per_line: bool = False) -> Iterator[Sentence]:
    """Sentences of raw text given in pieces of any size; paragraphs end at blank lines.

    With `sentence_per_line`, each non-blank line is one sentence. Memory stays bounded:
    a paragraph longer than MAX_PARAGRAPH_CHARS is cut at white space (a sentence running
    across the cut is split there). Offsets index the whole input.
    """
    boundary = LINE_BREAK if sentence_per_line else PARAGRAPH_BREAK
    segment: Callable[[str, int], list[Sentence]] = line_sentence if sentence_per_line else sentences_of
    buffer, base = "", 0
    for chunk in chunks:
        buffer += chunk
        while True:
            match = boundary.search(buffer)
            cut = match.end() if match is not None else _soft_cut(buffer) if len(buffer) > MAX_PARAGRAPH_CHARS else None
            if cut is None:
                break
            yield from segment(buffer[:cut], base)
            buffer, base = buffer[cut:], base + cut
    if buffer:
        yield from segment(buffer, base)


def read_token_lines(lines: Iterable[tuple[int, str]]) -> Iterator[Sentence]:
    """One sentence per line, tokens separated by spaces (or tabs); offsets index the input."""
    consumed = 0
    for _, line in lines:
        spans = [(consumed + m.start(), consumed + m.end()) for m in re.finditer(r"\S+", line)]
        if spans:
            tokens = [line[s - consumed : e - consumed] for s, e in spans]
            yield Sentence(tokens, {}, None, spans, line[spans[0][0] - consumed : spans[-1][1] - consumed])
        consumed += len(line)
