"""JSON Lines and inline output of tagged sentences."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO

from tagger.confidence import Confidence, Judged
from tagger.data import Sentence
from tagger.schemes import extract_spans


def sentence_record(
    sentence: Sentence,
    label_key: str,
    spans: bool,
    scores: list[float] | None = None,
    confidence: Confidence | None = None,
    judged: Judged | None = None,
) -> dict:
    """One sentence as the JSON structure of `tagger tag --output-format jsonl` and the Python API.

    `scores`: each token's label probability (--scores); `confidence`: token and span
    confidences and the n-best labellings (--confidence, --nbest); `judged`: what
    --min-confidence set apart (spans under `dropped`, or tokens marked `doubtful`).
    """
    labels = sentence.labels[label_key]
    offsets = sentence.offsets or [(None, None)] * len(sentence)
    dropped_tokens = {t for (start, end, _), _ in (judged.dropped if judged else []) for t in range(start, end)}
    tokens = []
    for index, (token, label, (start, end)) in enumerate(zip(sentence.tokens, labels, offsets)):
        item = {"text": token, "start": start, "end": end, "label": label}
        if scores is not None:
            item["score"] = round(scores[index], 6)
        if confidence is not None:
            item["confidence"] = _rounded(_token_confidence(confidence, index, dropped_tokens))
        if judged is not None and judged.doubtful:
            item["doubtful"] = judged.doubtful[index]
        tokens.append(item)
    record = {"text": sentence.text if sentence.text is not None else " ".join(sentence.tokens), "tokens": tokens}
    if spans:
        record["spans"] = [
            _span_item(sentence, tokens, span.start, span.end, span.label, confidence) for span in extract_spans(labels)
        ]
        if judged is not None:
            record["dropped"] = [
                {**_span_item(sentence, tokens, *key, None), "confidence": _rounded(value)} for key, value in judged.dropped
            ]
    if confidence is not None and confidence.nbest:
        record["nbest"] = [
            {"labels": tags, "probability": _rounded(probability), "log_probability": round(log, 6)}
            for tags, probability, log in confidence.nbest
        ]
    return record


def _token_confidence(confidence: Confidence, index: int, dropped_tokens: set[int]) -> float:
    """A token's confidence in its written label: for a token that --min-confidence made O, P(O)."""
    if index in dropped_tokens and confidence.outside:
        return confidence.outside[index]
    return confidence.tokens[index]


def _span_item(sentence: Sentence, tokens: list[dict], first: int, stop: int, label: str, confidence: Confidence | None) -> dict:
    item = {
        "start": tokens[first]["start"],
        "end": tokens[stop - 1]["end"],
        "label": label,
        "text": _span_text(sentence, first, stop),
    }
    if confidence is not None:
        item["confidence"] = _rounded(confidence.spans[(first, stop, label)])
    return item


def _rounded(probability: float) -> float:
    return round(probability, 6)


def models_record(sentence: Sentence, outputs: Sequence[tuple[str, bool]]) -> dict:
    """A sentence labelled by several models: each token has a key per model, `spans` a list per span-labelling model.

    `outputs` pairs each model's label key (its name) with whether its labels are spans.
    """
    records = {key: sentence_record(sentence, key, spans) for key, spans in outputs}
    first = records[outputs[0][0]]
    tokens = []
    for index, item in enumerate(first["tokens"]):
        labels = {key: sentence.labels[key][index] for key, _ in outputs}
        tokens.append({"text": item["text"], "start": item["start"], "end": item["end"], **labels})
    record = {"text": first["text"], "tokens": tokens}
    spans = {key: records[key]["spans"] for key, is_spans in outputs if is_spans}
    if spans:
        record["spans"] = spans
    return record


def _span_text(sentence: Sentence, first: int, stop: int) -> str:
    if sentence.offsets is None or sentence.text is None:
        return " ".join(sentence.tokens[first:stop])
    base = sentence.offsets[0][0]
    return sentence.text[sentence.offsets[first][0] - base : sentence.offsets[stop - 1][1] - base]


# Characters that str.splitlines() and some JSON Lines readers take as line breaks.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def write_jsonl(record: dict, stream: IO[str]) -> None:
    """One record per line: UTF-8 text as is, but every line-breaking character escaped."""
    stream.write(json.dumps(record, ensure_ascii=False, allow_nan=False).translate(_LINE_BREAKS) + "\n")


def inline_line(sentence: Sentence, label_keys: Sequence[str]) -> str:
    """`token/LABEL token/LABEL ...` for one sentence; `token/LABEL1/LABEL2` with several label keys."""
    columns = [sentence.labels[key] for key in label_keys]
    return " ".join("/".join([token, *labels]) for token, *labels in zip(sentence.tokens, *columns))
