"""`tagger evaluate`: predict a labelled file with a model and score it against its labels."""
from __future__ import annotations

import time

from tagger.errors import InputError
from tagger.evaluation import build_report
from tagger.files import atomic_output
from tagger.formats import read_all, write_corpus
from tagger.predict import Predictor
from tagger.tagging import label_chunks


def evaluate_file(
    predictor: Predictor, path: str, batch_size: int = 256, mode: str = "default", scheme: str | None = None,
    output: str | None = None, label_column: str | None = None, workers: int = 1,
) -> dict:
    """Report for one file; with `output`, the predictions are written in the file's own format."""
    task = predictor.task
    column = label_column or task.label_column
    format_name, column, sentences = read_all(path, format_name=None, label_column=column)
    if format_name != task.format and label_column is None:
        raise InputError(path, None, f"is {format_name}, the model was trained on {task.format}; name the label column "
                                     "with --label-column")
    gold = [list(s.labels[column]) for s in sentences]
    started = time.perf_counter()
    token_lists = [s.tokens for s in sentences]
    chunks = (token_lists[start : start + batch_size * 16] for start in range(0, len(token_lists), batch_size * 16))
    predicted = [labels for chunk, _ in label_chunks(predictor, chunks, batch_size, False, workers) for labels in chunk]
    seconds = time.perf_counter() - started
    report = {"file": path, "label_column": column,
              **build_report(gold, predicted, task.corpus_scheme is not None, mode, scheme)}
    report["tokens_per_s"] = report["tokens"] / seconds if seconds > 0 else 0.0
    if output is not None:
        for sentence, labels in zip(sentences, predicted):
            sentence.labels[column] = labels
        with atomic_output(output) as stream:
            write_corpus(sentences, stream, format_name, column, column)
    return report
