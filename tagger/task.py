"""The task a model learns: which column it labels, in which file format, and its span schemes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tagger import schemes
from tagger.choices import FORMATS, SCHEMES
from tagger.config import HEAD_NAME


@dataclass(frozen=True)
class Task:
    """What the model labels and how its labels are written.

    Span labels (NER, chunks) are learnt in `internal_scheme` (IOBES by default) and
    written back in `corpus_scheme`, the scheme of the training file; token labels
    (POS) have neither.
    """

    label_column: str
    format: str
    corpus_scheme: str | None  # the scheme of the training file (outputs use it); None for token labels
    internal_scheme: str | None  # the scheme the model predicts in
    # A model with several output layers over one encoder: every head's name and task, in order, the first
    # being this one (whose labels are vocab.json's `labels`); () for a model with one head.
    heads: tuple[tuple[str, Task], ...] = ()

    @property
    def head_names(self) -> list[str]:
        """The names of the model's heads, the first one's first; [] for a model with one head."""
        return [name for name, _ in self.heads]

    def head(self, name: str) -> Task:
        """One head's task (without the list of heads); a model with one head is its only head, whatever the name."""
        if not self.heads:
            return self
        for own, task in self.heads:
            if own == name:
                return task
        raise KeyError(name)

    @property
    def spans(self) -> bool:
        """Whether the labels are span tags (B-/I-/E-/S-TYPE and O)."""
        return self.corpus_scheme is not None

    def to_internal(self, tags: list[str]) -> list[str]:
        """Training labels in the model's scheme (span labels are re-encoded canonically)."""
        return schemes.convert(tags, self.internal_scheme) if self.internal_scheme else tags

    def to_corpus(self, tags: list[str]) -> list[str]:
        """Predicted labels in the training file's own scheme."""
        if self.corpus_scheme is None or self.corpus_scheme == self.internal_scheme:
            return tags
        return schemes.convert(tags, self.corpus_scheme)

    def to_json(self) -> dict:
        """config.json's `task`: a model with one head is written as before heads existed."""
        data = {key: getattr(self, key) for key in ("label_column", "format", "corpus_scheme", "internal_scheme")}
        if self.heads:
            data["heads"] = [{"name": name, "task": task.to_json()} for name, task in self.heads]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Task:
        if not isinstance(data, dict) or set(data) - {"heads"} != {"label_column", "format", "corpus_scheme", "internal_scheme"}:
            raise ValueError("task must have label_column, format, corpus_scheme and internal_scheme")
        if not isinstance(data["label_column"], str) or not data["label_column"]:
            raise ValueError(f"task.label_column must be a column name or number as text, got {data['label_column']!r}")
        if data["format"] not in FORMATS:
            raise ValueError(f"task.format must be one of {', '.join(FORMATS)}, got {data['format']!r}")
        known = {scheme.upper() for scheme in SCHEMES}
        schemes_given = (data["corpus_scheme"], data["internal_scheme"])
        unknown = any(scheme is not None and str(scheme).upper() not in known for scheme in schemes_given)
        if unknown or (schemes_given[0] is None) != (schemes_given[1] is None):
            raise ValueError(f"task.corpus_scheme and internal_scheme must be span schemes or both null, got {schemes_given}")
        own = {key: value for key, value in data.items() if key != "heads"}
        if "heads" not in data:
            return cls(**own)
        return cls(**own, heads=_heads_from_json(data["heads"]))


def _heads_from_json(heads: object) -> tuple[tuple[str, Task], ...]:
    """task.heads: at least two named heads, distinct, each with its own task (which has no heads)."""
    if not isinstance(heads, list) or len(heads) < 2:
        raise ValueError("task.heads must list two heads or more")
    read = []
    for head in heads:
        if not isinstance(head, dict) or set(head) != {"name", "task"} or not isinstance(head["name"], str):
            raise ValueError("each of task.heads must have a name and a task")
        if not re.fullmatch(HEAD_NAME, head["name"]) or not isinstance(head["task"], dict) or "heads" in head["task"]:
            raise ValueError(f"task.heads: {head['name']!r} is not a head name, or its task holds heads")
        read.append((head["name"], Task.from_json(head["task"])))
    if len({name for name, _ in read}) != len(read):
        raise ValueError("task.heads: two heads have the same name")
    return tuple(read)
