"""The task a model learns: which column it labels, in which file format, and its span schemes."""

from __future__ import annotations

from dataclasses import dataclass

from tagger import schemes
from tagger.choices import FORMATS, SCHEMES


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

    @classmethod
    def from_json(cls, data: dict) -> Task:
        if not isinstance(data, dict) or set(data) != {"label_column", "format", "corpus_scheme", "internal_scheme"}:
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
        return cls(**data)
