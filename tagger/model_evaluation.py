"""`tagger evaluate`: predict a labelled file with a model and score it against its labels."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from tagger.data import Sentence
from tagger.evaluation import build_report
from tagger.files import atomic_output, check_output
from tagger.formats import Layout, read_layout, write_corpus
from tagger.predict import Predictor
from tagger.tagging import CHUNK_BATCHES, label_chunks

# Shares above which a file is probably read in the wrong columns. Real test sets have
# 7-22 % words unknown to a model trained on another split (EWT, CoNLL-2003, tweets).
UNKNOWN_TOKEN_WARNING = 0.6
UNKNOWN_LABEL_WARNING = 0.5


@dataclass(frozen=True)
class EvaluateOptions:
    """How `evaluate` predicts and scores (the layout of the file is given separately)."""

    batch_size: int = 256
    mode: str = "conlleval"
    scheme: str | None = None  # for strict mode: IOB2 or IOBES
    output: str | None = None  # write the predictions here, in the file's own format
    force: bool = False  # overwrite an existing output
    workers: int = 1


def evaluate_file(predictor: Predictor, path: str, layout: Layout | None = None, options: EvaluateOptions | None = None) -> dict:
    """Report for one file read in `layout` (default: the model's own format and columns)."""
    layout = layout or predictor.layout()
    options = options or EvaluateOptions()
    check_output(options.output, [path], options.force)
    format_name, column, sentences = read_layout(path, layout)
    sentences = list(sentences)
    gold = [list(s.labels[column]) for s in sentences]
    token_lists = [s.tokens for s in sentences]
    started = time.perf_counter()
    predicted = _predict(predictor, token_lists, options)
    seconds = time.perf_counter() - started
    report = {
        "file": path,
        "label_column": column,
        "token_column": str(layout.token_column),
        "format": format_name,
        **build_report(gold, predicted, predictor.task.corpus_scheme is not None, options.mode, options.scheme),
    }
    report["tokens_per_s"] = report["tokens"] / seconds if seconds > 0 else 0.0
    report["unknown_tokens"] = predictor.unknown_token_rate(token_lists)
    report["warnings"] = _layout_warnings(predictor, path, layout, token_lists, gold, report["unknown_tokens"])
    if options.output is not None:
        labelled = [_with_labels(sentence, column, labels) for sentence, labels in zip(sentences, predicted)]
        with atomic_output(options.output) as stream:
            write_corpus(labelled, stream, format_name, column, column)
    return report


def _predict(predictor: Predictor, token_lists: list[list[str]], options: EvaluateOptions) -> list[list[str]]:
    size = options.batch_size * CHUNK_BATCHES
    chunks = (token_lists[start : start + size] for start in range(0, len(token_lists), size))
    return [
        labels for chunk, _ in label_chunks(predictor, chunks, options.batch_size, False, options.workers) for labels in chunk
    ]


def _with_labels(sentence: Sentence, column: str, labels: list[str]) -> Sentence:
    return dataclasses.replace(sentence, labels={**sentence.labels, column: labels})


def _looks_like_positions(token_lists: list[list[str]]) -> bool:
    """Most sentences read as 1, 2, 3, ...: the token column is an id column."""
    numbered = sum(tokens == [str(i) for i in range(1, len(tokens) + 1)] for tokens in token_lists)
    return numbered > 0.9 * len(token_lists)


def _layout_warnings(
    predictor: Predictor, path: str, layout: Layout, token_lists: list[list[str]], gold: list[list[str]], unknown: float
) -> list[str]:
    """Signs that the file was read in other columns than the model's training files."""
    warnings = []
    column = f"token column {layout.token_column}" if layout.format == "conll" else "the FORM field"
    if _looks_like_positions(token_lists):
        warnings.append(
            f"{path}: the tokens read from {column} are sentence positions (1, 2, 3, ...); "
            "name the token column with --token-column"
        )
    elif unknown > UNKNOWN_TOKEN_WARNING:
        warnings.append(
            f"{path}: {unknown:.0%} of the tokens read from {column} are unknown to the model; is --token-column right?"
        )
    labels = [label for tags in gold for label in tags]
    known = predictor.known_corpus_labels()
    foreign = sum(label not in known for label in labels) / max(len(labels), 1)
    if foreign > UNKNOWN_LABEL_WARNING:
        warnings.append(
            f"{path}: {foreign:.0%} of the gold labels in column {layout.label_column} are labels the model "
            "never predicts; is --label-column right?"
        )
    return warnings
