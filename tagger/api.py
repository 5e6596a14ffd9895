"""The Python API: `Tagger.load(model).tag(text)` returns the JSON structures of `tagger tag`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tagger import schemes
from tagger.confidence import nbest_problem, threshold_problem
from tagger.contractions import split_contractions
from tagger.data import Sentence
from tagger.formats.jsonl import models_record, sentence_record
from tagger.formats.unsegmented import read_raw_text
from tagger.predict import Predictor
from tagger.tagging import TagOptions, conversion_to, tag_stream, tag_with_models, with_heads


class Tagger:
    """Python API: `Tagger.load(directory).tag("Some text.")` returns the JSON structures of `tagger tag`."""

    def __init__(self, predictor: Predictor, batch_size: int = 256, scheme: str = schemes.IOB2) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.predictor = predictor
        self.batch_size = batch_size
        self.scheme = conversion_to(predictor, scheme)
        # a model with several heads, none chosen: every head labels, each under its name
        self.heads = with_heads([("model", predictor)]) if predictor.task.heads else []
        self.head_schemes = [conversion_to(head, scheme) for _, head in self.heads]

    @classmethod
    def load(
        cls,
        directory: str | Path,
        device: str = "auto",
        batch_size: int = 256,
        scheme: str = schemes.IOB2,
        runtime: str | None = None,
        head: str | None = None,
    ) -> Tagger:
        """A model directory or bundled model; runtime as for Predictor.load (NumPy on the CPU unless told).

        `head`: which head labels, of a model with several (None: every head, each under its name).
        """
        predictor = Predictor.load(directory, device, runtime)
        return cls(predictor.head(head) if head is not None else predictor, batch_size, scheme)

    @property
    def label_column(self) -> str:
        return self.predictor.task.label_column

    def _records(self, sentences: Iterable[Sentence], scores: bool, options: TagOptions) -> list[dict]:
        spans, predictor = self.predictor.task.spans, self.predictor
        for problem in (nbest_problem(options.nbest), threshold_problem(options.min_confidence)):
            if problem:
                raise ValueError(problem)
        if self.heads:
            return self._heads_records(sentences, scores or options.confidence_request is not None)
        tagged = tag_stream(
            predictor, sentences, self.batch_size, scores, 1, self.scheme, options.confidence_request, options.min_confidence
        )
        return [
            sentence_record(sentence, self.label_column, spans, note.scores, note.confidence, note.judged)
            for sentence, note in tagged
        ]

    def _heads_records(self, sentences: Iterable[Sentence], extras: bool) -> list[dict]:
        """Every head's labels, a key per head in each token (as `tagger tag MODEL` writes them)."""
        _no_extras(extras)
        tagged = tag_with_models(self.heads, sentences, self.batch_size, self.head_schemes)
        outputs = [(name, head.task.spans) for name, head in self.heads]
        return [models_record(sentence, outputs) for sentence in tagged]

    def tag(
        self,
        text: str,
        scores: bool = False,
        sentence_per_line: bool = False,
        confidence: bool = False,
        min_confidence: float | None = None,
        nbest: int | None = None,
    ) -> list[dict]:
        """Split raw text into sentences (or one per line) and tokens, with offsets into `text`, and label them.

        `confidence`, `min_confidence` and `nbest` add what `tagger tag` adds with those options.
        """
        if not isinstance(text, str):
            raise TypeError(f"tag(text): expected a str, got {type(text).__name__} (token lists go to tag_tokens)")
        options = TagOptions(confidence=confidence, min_confidence=min_confidence, nbest=nbest)
        sentences = split_contractions(read_raw_text([text], "<text>", sentence_per_line), self.predictor.contractions)
        return self._records(sentences, scores, options)

    def tag_tokens(
        self,
        token_lists: Iterable[list[str]],
        scores: bool = False,
        confidence: bool = False,
        min_confidence: float | None = None,
        nbest: int | None = None,
    ) -> list[dict]:
        """Label pre-tokenized sentences: a list of sentences, each a list of token strings."""
        options = TagOptions(confidence=confidence, min_confidence=min_confidence, nbest=nbest)
        return self._records((Sentence(_token_list(tokens)) for tokens in _sentences(token_lists)), scores, options)


def _no_extras(asked: bool) -> None:
    """Scores and confidences come from one head at a time."""
    if asked:
        raise ValueError("a model's several heads label without scores or confidences: load one with Tagger.load(..., head=NAME)")


def _sentences(token_lists: Iterable[list[str]]) -> Iterable[list[str]]:
    if isinstance(token_lists, str | bytes):
        raise TypeError("tag_tokens(token_lists): expected a list of sentences, each a list of tokens; got a string")
    return token_lists


def _token_list(tokens: list[str]) -> list[str]:
    """One sentence's tokens, checked: a list (or tuple) of non-empty strings."""
    if isinstance(tokens, str | bytes) or not isinstance(tokens, list | tuple):
        raise TypeError(
            f"tag_tokens(token_lists): each sentence must be a list of token strings, got {tokens!r:.60} "
            "(for one sentence, pass [['Maria', 'Lopez']])"
        )
    if not all(isinstance(token, str) and token for token in tokens):
        raise TypeError(f"tag_tokens(token_lists): tokens must be non-empty strings, got {list(tokens)!r:.80}")
    return list(tokens)
