"""`tagger evaluate` and `tagger score`: labels predicted by a model, or given in files, against gold labels.

`evaluate` predicts a labelled file with a model; `score` needs no model: two files
(GOLD and PREDICTED, same tokens, label column of each) or one in conlleval's layout,
whose last two columns are the gold and predicted labels.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tagger import schemes
from tagger.analysis import details
from tagger.calibration import calibration_summary, judged_spans, judged_tokens
from tagger.data import Sentence
from tagger.errors import InputError, TaggerError
from tagger.files import STDIO, atomic_output, check_output, read_lines, strip_ending
from tagger.formats import CONLL, Layout, conll, read_all, read_layout, write_corpus
from tagger.metrics import build_report

if TYPE_CHECKING:  # `score` must not import torch: only `evaluate` needs a model
    from tagger.confidence import Confidence
    from tagger.predict import Predictor

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
    examples: int = 5  # example sentences per error category in the report
    ignore_types: tuple[str, ...] = ()  # span types left out of the scores (a corpus that does not annotate them)
    calibration: bool = True  # also judge the confidences: calibration error, reliability, thresholds


def evaluate_file(predictor: Predictor, path: str, layout: Layout | None = None, options: EvaluateOptions | None = None) -> dict:
    """Report for one file read in `layout` (default: the model's own format and columns)."""
    layout = layout or predictor.layout()
    options = options or EvaluateOptions()
    check_output(options.output, [path], options.force)
    format_name, column, sentences = read_layout(path, layout)
    sentences = list(sentences)
    gold = [list(s.labels[column]) for s in sentences]
    token_lists = [s.tokens for s in sentences]
    predictor.predict(token_lists[:1])  # warm-up: one-time costs are not prediction speed
    started = time.perf_counter()
    predicted, confidences = _predict(predictor, token_lists, options)
    seconds = time.perf_counter() - started
    if predictor.task.spans and _is_span(gold):
        # every figure, token ones too, compares labels in the gold file's scheme
        gold_scheme = schemes.detect_scheme(gold)
        predicted = [schemes.convert(tags, gold_scheme) for tags in predicted]
    written = predicted
    if options.ignore_types:
        gold = [schemes.without_types(tags, options.ignore_types) for tags in gold]
        predicted = [schemes.without_types(tags, options.ignore_types) for tags in predicted]
    report = {
        "model": str(predictor.source) if predictor.source is not None else None,
        "file": path,
        "label_column": column,
        "token_column": str(layout.token_column),
        "format": format_name,
        **build_report(gold, predicted, predictor.task.spans, options.mode, options.scheme),
        **({"ignored_types": list(options.ignore_types)} if options.ignore_types else {}),
    }
    report["tokens_per_s"] = report["tokens"] / seconds if seconds > 0 else 0.0
    if confidences is not None:
        report["calibration"] = confidence_calibration(predictor, confidences, gold, predicted, options.ignore_types)
    known = predictor.known_tokens(token_lists)
    report["unknown_tokens"] = sum(flags.count(False) for flags in known) / max(report["tokens"], 1)
    if predictor.vocab.table is not None:
        report["pretrained_only_tokens"] = predictor.pretrained_only_share(token_lists)
    report = details(report, token_lists, gold, predicted, known, options.examples)
    report["warnings"] = _layout_warnings(predictor, path, layout, token_lists, gold, report["unknown_tokens"])
    if column != layout.label_column and layout.label_column is not None and format_name == CONLL:
        report["warnings"].insert(
            0,
            f"{path}: has {column} columns, fewer than the model's label column {layout.label_column}: its last column "
            f"({column}) is read as the gold labels (name another with --label-column)",
        )
    if options.output is not None:
        labelled = [_with_labels(sentence, column, labels) for sentence, labels in zip(sentences, written)]
        with atomic_output(options.output) as stream:
            write_corpus(labelled, stream, format_name, column, column)
    return report


def evaluate_files(
    model: str,
    files: Sequence[str],
    options: EvaluateOptions | None = None,
    format_name: str | None = None,
    token_column: str | int | None = None,
    label_column: str | None = None,
    device: str = "auto",
    runtime: str | None = None,
    head: str | None = None,
) -> list[dict]:
    """`tagger evaluate` from Python: one report per file for a model directory or bundled name.

    The files are read in the model's own format and columns (its `head`'s, of a model with
    several heads) unless `format_name`, `token_column` or `label_column` says otherwise.
    """
    from tagger.predict import Predictor

    predictor = Predictor.load(model, device, runtime)
    if head is not None:
        predictor = predictor.head(head)
    layout = predictor.layout(format_name, token_column, label_column)
    return [evaluate_file(predictor, path, layout, options) for path in files]


def _predict(
    predictor: Predictor, token_lists: list[list[str]], options: EvaluateOptions
) -> tuple[list[list[str]], list[Confidence] | None]:
    from tagger.predict import ConfidenceRequest
    from tagger.tagging import CHUNK_BATCHES, label_chunks

    size = options.batch_size * CHUNK_BATCHES
    chunks = (token_lists[start : start + size] for start in range(0, len(token_lists), size))
    request = ConfidenceRequest() if options.calibration else None
    labels, confidences = [], []
    for predictions in label_chunks(predictor, chunks, options.batch_size, False, options.workers, request):
        labels += predictions.labels
        confidences += predictions.confidences or []
    return labels, (confidences if options.calibration else None)


def confidence_calibration(
    predictor: Predictor,
    confidences: list[Confidence],
    gold: list[list[str]],
    predicted: list[list[str]],
    ignored: tuple[str, ...] = (),
) -> dict:
    """How well the confidences match the accuracy: of spans (with thresholds), and of tokens.

    A span model's token confidence is that of the token's type (any position) or O, so a
    token counts as right when its predicted type is the gold one.
    """
    result: dict = {"temperature": predictor.temperature}
    if predictor.task.spans:
        scores, correct, gold_count = judged_spans([c.spans for c in confidences], gold, ignored)
        result["spans"] = calibration_summary(scores, correct, gold_count)
        type_of = (
            [[schemes.split_tag(tag)[1] for tag in tags] for tags in gold],
            [[schemes.split_tag(tag)[1] for tag in tags] for tags in predicted],
        )
        token_scores, token_correct = judged_tokens([c.tokens for c in confidences], *type_of)
    else:
        token_scores, token_correct = judged_tokens([c.tokens for c in confidences], gold, predicted)
    result["tokens"] = calibration_summary(token_scores, token_correct)
    return result


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
    foreign = foreign_label_share(predictor, gold)
    if foreign > UNKNOWN_LABEL_WARNING:
        warnings.append(
            f"{path}: {foreign:.0%} of the gold labels in column {layout.label_column} are labels the model "
            "never predicts; is --label-column right?"
        )
    return warnings


def foreign_label_share(predictor: Predictor, gold: list[list[str]]) -> float:
    """The share of gold labels the model never predicts (a file read in the wrong label column has most)."""
    labels = [label for tags in gold for label in tags]
    known = predictor.known_corpus_labels()
    return sum(label not in known for label in labels) / max(len(labels), 1)


def _is_span(gold: list[list[str]]) -> bool:
    return schemes.is_span_labelling(Counter(tag for tags in gold for tag in tags))


def score_conlleval_file(path: str, mode: str = "conlleval", scheme: str | None = None) -> dict:
    """Scores of a conlleval-style file: token, ..., gold label, predicted label."""
    sentences = list(conll.read_conll(read_lines(path), path, 1, ("-2", "-1")))
    if not sentences:
        raise InputError(path, 1, "no sentences: the file is empty or has no token lines")
    _require_three_columns(path, sentences[0])
    gold = [s.labels["-2"] for s in sentences]
    predicted = [s.labels["-1"] for s in sentences]
    report = {"file": path, **build_report(gold, predicted, _is_span(gold), mode, scheme)}
    return details(report, [s.tokens for s in sentences], gold, predicted)


def _require_three_columns(path: str, first: Sentence) -> None:
    line = first.raw.lines[first.raw.token_rows[0]]
    count = len(conll.split_fields(strip_ending(line), first.raw.separator))
    if count < 3:
        raise InputError(
            path,
            first.line_number(0),
            f"has {count} columns; one file is scored in conlleval's layout "
            "(token ... gold predicted, at least 3 columns); "
            "to compare two files give GOLD and PREDICTED",
        )


def score_files(
    gold_path: str,
    predicted_path: str,
    label_column: str | None = None,
    format_name: str | None = None,
    mode: str = "conlleval",
    scheme: str | None = None,
    token_column: str | int = 1,
) -> dict:
    """Scores of PRED against GOLD; both must hold the same sentences and tokens."""
    if gold_path == STDIO and predicted_path == STDIO:
        raise TaggerError("GOLD and PREDICTED are both standard input ('-'); at most one of them can be")
    layout = {"label_column": label_column, "token_column": token_column}
    gold_format, column, gold_sentences = read_all(gold_path, format_name=format_name, **layout)
    _, predicted_column, predicted_sentences = read_all(predicted_path, format_name=format_name or gold_format, **layout)
    _check_alignment(gold_path, gold_sentences, predicted_path, predicted_sentences)
    gold = [s.labels[column] for s in gold_sentences]
    predicted = [s.labels[predicted_column] for s in predicted_sentences]
    if label_column is None and _numbers_only(predicted, gold):  # `tag --confidence` writes its column after the labels
        _, predicted_column, predicted_sentences = read_all(
            predicted_path, format_name=format_name or gold_format, label_column="-2", token_column=token_column
        )
        predicted = [s.labels[predicted_column] for s in predicted_sentences]
    if _numbers_only(predicted, gold):
        raise InputError(
            predicted_path,
            None,
            f"column {predicted_column} holds numbers, not labels (a --confidence column?); "
            "name the label column with --label-column",
        )
    report = {"file": predicted_path, "label_column": column, **build_report(gold, predicted, _is_span(gold), mode, scheme)}
    return details(report, [s.tokens for s in gold_sentences], gold, predicted)


def _numbers_only(predicted: list[list[str]], gold: list[list[str]]) -> bool:
    """Whether the predicted column holds probabilities where the gold one holds labels."""
    labels = {label for sentence in predicted for label in sentence}
    return bool(labels) and all(map(_is_probability, labels)) and not all(_is_probability(g) for s in gold for g in s)


def _is_probability(text: str) -> bool:
    try:
        return 0.0 <= float(text) <= 1.0
    except ValueError:
        return False


def _check_alignment(gold_path: str, gold: list, predicted_path: str, predicted: list) -> None:
    for gold_sentence, predicted_sentence in zip(gold, predicted):
        if gold_sentence.tokens != predicted_sentence.tokens:
            index = next(
                (i for i, (g, p) in enumerate(zip(gold_sentence.tokens, predicted_sentence.tokens)) if g != p),
                min(len(gold_sentence), len(predicted_sentence)) - 1,
            )
            problem = (
                f"tokens do not line up with {gold_path}:{gold_sentence.line_number(index)} "
                f"({len(predicted_sentence)} tokens here, {len(gold_sentence)} there)"
            )
            raise InputError(predicted_path, predicted_sentence.line_number(index), problem)
    if len(gold) != len(predicted):
        raise InputError(predicted_path, None, f"has {len(predicted):,} sentences, {gold_path} has {len(gold):,}")
