"""The sentence every reader produces and every writer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RawLines:
    """The sentence's lines exactly as read, so that a writer can give them back.

    `lines` holds every line that belongs to the sentence (comments, `-DOCSTART-`,
    multiword-token and empty-node lines, blank separators), each with its line ending;
    `token_rows[i]` is the index in `lines` of token i; `separator` is the column
    separator (None: runs of white space).
    """

    lines: list[str]
    token_rows: list[int]
    first_line_number: int = 1
    separator: str | None = "\t"


@dataclass
class Sentence:
    """Tokens, their label columns and, for round trips, the lines they came from."""

    tokens: list[str]
    labels: dict[str, list[str]] = field(default_factory=dict)
    raw: RawLines | None = None
    offsets: list[tuple[int, int]] | None = None
    text: str | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    def line_number(self, token_index: int) -> int | None:
        """The 1-based input line of a token, where the sentence came from a file."""
        if self.raw is None:
            return None
        return self.raw.first_line_number + self.raw.token_rows[token_index]
