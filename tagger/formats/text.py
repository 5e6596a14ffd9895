"""Raw text to sentences of tokens with character offsets into the input.

A rule-based tokenizer for English-like text following the conventions of the training
corpora (Penn Treebank, UD EWT, CoNLL-2003): punctuation split off, `don't` -> `do n't`,
`it's` -> `it 's`; URLs, e-mail addresses, numbers with separators (`1,200.50`,
`1996-08-22`) and abbreviations (`U.S.`, `Mr.`) kept whole. Paragraphs (separated by
blank lines) are split into sentences after `.`, `!` or `?` when what follows starts a
new sentence. Offsets index the decoded input string, so `text[start:end]` is the token.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from tagger.data import Sentence

ABBREVIATIONS = (
    "Mr Mrs Ms Dr Prof St Jr Sr Inc Ltd Co Corp Bros vs etc Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec "
    "Gov Sen Rep Gen Col Lt Capt Sgt Mt Ave Rd Blvd No Fig approx dept est Jan e.g i.e a.m p.m"
).split()
_SPACE = r"[\s\u200b\u200c\u200d\u2060\ufeff]+"
_ABBREVIATION = "|".join(re.escape(word) for word in sorted(set(ABBREVIATIONS), key=len, reverse=True))
TOKEN = re.compile(
    rf"""
    (?P<space>{_SPACE})
    |(?P<url>(?:https?://|www\.)[^\s<>"]{{0,2048}}[^\s<>".,;:!?)\]}}'])
    |(?P<email>[\w.+-]{{1,64}}@[\w-]{{1,63}}(?:\.[\w-]{{1,63}}){{1,8}})
    |(?P<abbreviation>(?:[^\W\d_]\.){{2,}}|(?:{_ABBREVIATION})\.(?!\w))
    |(?P<number>\d+(?:[.,:/-]\d+){{0,8}}(?:st|nd|rd|th)?(?![^\W\d_]))
    |(?P<word>[^\W_](?:[\w]|[-'’](?=\w))*)
    |(?P<ellipsis>\.\.\.|--|[!?]+)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
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


def _extend_marks(text: str, end: int) -> int:
    """Combining marks (accents, variation selectors) stay with the character before them."""
    while end < len(text) and unicodedata.category(text[end]).startswith("M"):
        end += 1
    return end


def tokenize(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each token of `text`, shifted by `offset`."""
    spans: list[tuple[int, int]] = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        kind, start, end = match.lastgroup, match.start(), _extend_marks(text, match.end())
        position = end
        if kind == "space":
            continue
        if kind == "word":
            spans.extend((offset + s, offset + e) for s, e in _split_clitics(text[start:end], start))
        else:
            spans.append((offset + start, offset + end))
    return spans


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


def sentences_of(text: str, offset: int = 0) -> list[Sentence]:
    """Sentences of one paragraph of text; offsets index the whole input when `offset` is its start."""
    result: list[Sentence] = []
    for spans in split_sentences(text, tokenize(text, offset), offset):
        tokens = [text[start - offset : end - offset] for start, end in spans]
        sentence_text = text[spans[0][0] - offset : spans[-1][1] - offset]
        result.append(Sentence(tokens, {}, None, spans, sentence_text))
    return result


PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v\u200b\ufeff]*\n")
MAX_PARAGRAPH_CHARS = 1 << 20


def _soft_cut(buffer: str) -> int:
    """Where to cut an over-long paragraph: after the last white space within the limit."""
    cut = max(buffer.rfind(" ", 0, MAX_PARAGRAPH_CHARS), buffer.rfind("\n", 0, MAX_PARAGRAPH_CHARS))
    return cut + 1 if cut > 0 else MAX_PARAGRAPH_CHARS


def read_text(chunks: Iterable[str]) -> Iterator[Sentence]:
    """Sentences of raw text given in pieces of any size; paragraphs end at blank lines.

    Memory stays bounded: a paragraph longer than MAX_PARAGRAPH_CHARS is cut at white
    space (a sentence running across the cut is split there). Offsets index the whole input.
    """
    buffer, base = "", 0
    for chunk in chunks:
        buffer += chunk
        while True:
            match = PARAGRAPH_BREAK.search(buffer)
            if match is not None:
                cut = match.end()
            elif len(buffer) > MAX_PARAGRAPH_CHARS:
                cut = _soft_cut(buffer)
            else:
                break
            yield from sentences_of(buffer[:cut], base)
            buffer, base = buffer[cut:], base + cut
    if buffer:
        yield from sentences_of(buffer, base)


def read_token_lines(lines: Iterable[tuple[int, str]]) -> Iterator[Sentence]:
    """One sentence per line, tokens separated by spaces (or tabs); offsets index the input."""
    consumed = 0
    for _, line in lines:
        spans = [(consumed + m.start(), consumed + m.end()) for m in re.finditer(r"\S+", line)]
        if spans:
            tokens = [line[s - consumed : e - consumed] for s, e in spans]
            yield Sentence(tokens, {}, None, spans, line[spans[0][0] - consumed : spans[-1][1] - consumed])
        consumed += len(line)
