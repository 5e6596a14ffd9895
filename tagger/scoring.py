"""`tagger score`: scoring predictions against gold without a model.

Either two files (GOLD and PRED, same tokens, label column of each) or one file in
conlleval's layout, whose last two columns are gold and predicted labels.
"""

from __future__ import annotations

from collections import Counter

from tagger import schemes
from tagger.data import Sentence
from tagger.errors import InputError, TaggerError
from tagger.evaluation import build_report
from tagger.files import STDIO, read_lines, strip_ending
from tagger.formats import conll, read_all


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
    return {"file": path, **build_report(gold, predicted, _is_span(gold), mode, scheme)}


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
    return {"file": predicted_path, "label_column": column, **build_report(gold, predicted, _is_span(gold), mode, scheme)}


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
