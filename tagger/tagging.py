"""Tagging streams of sentences with a model, and the Python API (`tagger.Tagger`)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO

from tagger import schemes
from tagger.bundled import split_model_names
from tagger.choices import runtime_problem
from tagger.confidence import Confidence, Judged, apply_threshold, nbest_problem, threshold_problem, token_readings
from tagger.contractions import split_contractions
from tagger.data import Sentence
from tagger.errors import TaggerError
from tagger.files import (
    STDIO,
    atomic_output,
    check_output,
    check_text_starts,
    display_name,
    expand_inputs,
    read_lines,
    read_text_chunks,
    strip_ending,
)
from tagger.formats import CONLLU, FORMATS, Layout, conll, conllu, read_layout
from tagger.formats.jsonl import inline_line, models_record, sentence_record, write_jsonl
from tagger.formats.text import read_token_lines
from tagger.formats.unsegmented import read_raw_text
from tagger.predict import ConfidenceRequest, Predictions, Predictor, predict_heads
from tagger.vocab import UNK
from tagger.world import launched_by_torchrun

CHUNK_BATCHES = 16  # sentences held in memory at once: batch size x this
CONFIDENCE_KEY, CONFIDENCE_MISC = "confidence", "Confidence"  # the confidence column's key, its CoNLL-U MISC key
SCORED_FORMATS = ("jsonl",)


@dataclass(frozen=True)
class TagOptions:
    """How `tag` reads, labels and writes."""

    input_format: str = "text"  # text, tokens, conll or conllu
    output_format: str = "jsonl"  # jsonl, inline, conll or conllu
    batch_size: int = 256
    with_scores: bool = False
    workers: int = 1
    token_column: str | int | None = None  # column-file input: the model's training column unless given
    sentence_per_line: bool = False  # text input: each line is one sentence
    force: bool = False  # overwrite an existing output file
    quiet: bool = False  # no progress bar
    runtime: str | None = None  # numpy (the default on the CPU), torch, onnx or onnx-int8
    scheme: str | None = None  # span labels written in IOB1, IOB2 or IOBES; None: IOB2 for text and tokens, else the model's
    confidence: bool = False  # token and span confidences (jsonl fields; a column in conll, conllu MISC, inline)
    min_confidence: float | None = None  # spans below it written as O (listed under `dropped`); tokens marked
    nbest: int | None = None  # the n best labellings per sentence with their probabilities (jsonl)

    @property
    def confidence_request(self) -> ConfidenceRequest | None:
        """What to compute beside the labels (None: only the labels, the fast path)."""
        if self.confidence or self.min_confidence is not None or self.nbest:
            return ConfidenceRequest(self.nbest or 0)
        return None

    def output_scheme(self, predictor: Predictor) -> str | None:
        """The scheme span labels are written in (None: as the model writes them, or no span labels)."""
        default = schemes.IOB2 if self.input_format in ("text", "tokens") else predictor.task.corpus_scheme
        return conversion_to(predictor, self.scheme or default)

    def check(self, models: int = 1) -> None:
        extras = self.with_scores or self.confidence_request is not None
        if models > 1 and (extras or self.workers > 1 or launched_by_torchrun()):
            raise TaggerError(
                "several models (or a model's several heads) tag in one process without scores: leave out --scores, "
                "--confidence, --min-confidence, "
                "--nbest, --workers and torchrun"
            )
        torchrun = launched_by_torchrun()
        runtime = runtime_problem(self.runtime, self.workers, torchrun)
        for problem in (nbest_problem(self.nbest), threshold_problem(self.min_confidence), runtime):
            if problem:
                raise TaggerError(problem)
        if self.nbest and self.output_format != "jsonl":
            raise TaggerError(
                f"--nbest: the {self.output_format} output has no place for several labellings; use --output-format jsonl"
            )
        if self.with_scores and self.output_format not in SCORED_FORMATS:
            raise TaggerError(f"--scores: the {self.output_format} output has no place for scores; use --output-format jsonl")
        if self.sentence_per_line and self.input_format != "text":
            raise TaggerError("--sentence-per-line applies to text input (--input-format text)")


def conversion_to(predictor: Predictor, scheme: str | None) -> str | None:
    """The scheme to convert the model's span labels to, or None where they are written as predicted."""
    if not predictor.task.spans or scheme is None:
        return None
    target = schemes.normalise_scheme_name(scheme)
    return None if target == predictor.task.corpus_scheme else target


def read_input(path: str, input_format: str, layout: Layout | None = None, sentence_per_line: bool = False) -> Iterator[Sentence]:
    """Sentences to tag from a file or stdin ("-"), in any input format (`layout`: columns of column files)."""
    if input_format == "text":
        return read_raw_text(read_text_chunks(path), display_name(path), sentence_per_line)
    if input_format == "tokens":
        return read_token_lines(read_lines(path))
    layout = layout or Layout()
    return read_layout(path, Layout(input_format, layout.token_column), with_labels=False).sentences


@dataclass(frozen=True)
class Annotation:
    """What is written beside a sentence's labels: label probabilities, confidences, what --min-confidence set apart."""

    scores: list[float] | None = None
    confidence: Confidence | None = None
    judged: Judged | None = None


def tag_stream(
    predictor: Predictor,
    sentences: Iterable[Sentence],
    batch_size: int = 256,
    with_scores: bool = False,
    workers: int = 1,
    scheme: str | None = None,
    confidence: ConfidenceRequest | None = None,
    min_confidence: float | None = None,
) -> Iterator[tuple[Sentence, Annotation]]:
    """Label sentences in input order, holding a bounded number of them (chunks of batch_size * CHUNK_BATCHES).

    Yields new sentences with the model's label column added (span labels in `scheme`, if
    given), each with its Annotation; the given sentences are not changed. With
    `min_confidence` (which needs `confidence`), spans below it are written as O.

    With `workers` > 1 the chunks are labelled by that many CPU processes.
    """
    key = predictor.task.label_column
    written_scheme = (scheme or predictor.task.corpus_scheme) if predictor.task.spans else None
    iterator = iter(sentences)
    held: deque[list[Sentence]] = deque()

    def token_chunks() -> Iterator[list[list[str]]]:
        while chunk := list(islice(iterator, batch_size * CHUNK_BATCHES)):
            held.append(chunk)
            yield [sentence.tokens for sentence in chunk]

    for predictions in label_chunks(predictor, token_chunks(), batch_size, with_scores, workers, confidence):
        for index, sentence in enumerate(held.popleft()):
            (tags,) = _in_scheme([predictions.labels[index]], scheme)
            annotation = _annotation(predictions, index, scheme, min_confidence, tags, written_scheme)
            if annotation.judged is not None:
                tags = annotation.judged.labels
            yield dataclasses.replace(sentence, labels={**sentence.labels, key: tags}), annotation


def _annotation(
    predictions: Predictions, index: int, scheme: str | None, threshold: float | None, tags: list[str], written: str | None
) -> Annotation:
    scores = predictions.scores[index] if predictions.scores is not None else None
    if predictions.confidences is None:
        return Annotation(scores)
    confidence = predictions.confidences[index]
    if confidence.nbest and scheme:
        confidence = dataclasses.replace(confidence, nbest=[(schemes.convert(t, scheme), *rest) for t, *rest in confidence.nbest])
    judged = apply_threshold(tags, confidence, threshold, written) if threshold is not None else None
    return Annotation(scores, confidence, judged)


def tag_with_models(
    models: Sequence[tuple[str, Predictor]],
    sentences: Iterable[Sentence],
    batch_size: int = 256,
    schemes_of: Sequence[str | None] | None = None,
) -> Iterator[Sentence]:
    """Label sentences with several models in input order; each model's labels go under its key (its name).

    `schemes_of`: per model, the scheme its span labels are written in (None: its own).
    """
    iterator = iter(sentences)
    targets = list(schemes_of or [None] * len(models))
    groups = _same_encoder_groups([predictor for _, predictor in models])
    while chunk := list(islice(iterator, batch_size * CHUNK_BATCHES)):
        token_lists = [sentence.tokens for sentence in chunk]
        found: dict[int, list[list[str]]] = {}
        for group in groups:
            heads = [models[index][1] for index in group]
            items = heads[0].encode(token_lists)
            results = predict_heads(heads, items, batch_size) if len(heads) > 1 else [heads[0].predict_encoded(items, batch_size)]
            found.update({index: _in_scheme(result.labels, targets[index]) for index, result in zip(group, results)})
        labels = {key: found[index] for index, (key, _) in enumerate(models)}
        for index, sentence in enumerate(chunk):
            yield dataclasses.replace(sentence, labels={**sentence.labels, **{key: labels[key][index] for key in labels}})


def _same_encoder_groups(predictors: Sequence[Predictor]) -> list[list[int]]:
    """Positions of the predictors, grouped where they are heads of one network (one encoder pass serves them)."""
    groups: dict[int, list[int]] = {}
    for index, predictor in enumerate(predictors):
        encoder = getattr(predictor.engine, "network", None) or getattr(predictor.engine, "model", None)
        has_heads = bool(predictor.task.heads or predictor.head_name)
        groups.setdefault(id(encoder) if has_heads and encoder is not None else -1 - index, []).append(index)
    return list(groups.values())


def with_heads(models: Sequence[tuple[str, Predictor]]) -> list[tuple[str, Predictor]]:
    """The models with each model of several heads replaced by its heads, keyed by the head's name (by
    `model:head` when several models tag together)."""
    expanded = []
    for name, model in models:
        if not model.task.heads:
            expanded.append((name, model))
            continue
        expanded += [(head if len(models) == 1 else f"{name}:{head}", predictor) for head, predictor in model.heads()]
    return expanded


def _in_scheme(label_lists: list[list[str]], scheme: str | None) -> list[list[str]]:
    return [schemes.convert(tags, scheme) for tags in label_lists] if scheme else label_lists


def label_chunks(
    predictor: Predictor,
    token_chunks: Iterable[list[list[str]]],
    batch_size: int,
    with_scores: bool,
    workers: int,
    confidence: ConfidenceRequest | None = None,
) -> Iterator[Predictions]:
    """Predictions for each chunk of token lists, in order, here or in worker processes."""
    if workers > 1 and predictor.source is not None and getattr(predictor.engine, "head", None) is None:
        from tagger.parallel import label_in_order

        runtime = predictor.engine.name
        yield from label_in_order(predictor.source, token_chunks, batch_size, with_scores, workers, confidence, runtime)
        return
    for token_lists in token_chunks:
        yield predictor.predict_encoded(predictor.encode(token_lists), batch_size, with_scores, confidence)


@dataclass(frozen=True)
class LabelOutput:
    """Where one model's labels are written: its key in the sentences' labels, spans or not, its CoNLL-U field."""

    key: str
    spans: bool
    conllu_column: str  # a CoNLL-U field (upos, xpos, ...) or a MISC key

    @classmethod
    def of_models(cls, models: Sequence[tuple[str, Predictor]]) -> list[LabelOutput]:
        """One model: its label column, CoNLL-U models in their field and others in MISC `Label=`.

        Several models: keyed by their names; a CoNLL-U field goes to the first model
        trained on it, every other model writes MISC `NAME=label`.
        """
        if len(models) == 1:
            task = models[0][1].task
            return [cls(task.label_column, task.spans, task.label_column if task.format == CONLLU else "Label")]
        outputs, taken = [], set()
        for name, predictor in models:
            task = predictor.task
            field = task.label_column if task.format == CONLLU and task.label_column not in taken else name
            taken.add(field)
            outputs.append(cls(name, task.spans, field))
        return outputs


class SentenceWriter:
    """Writes tagged sentences in one output format as they come, saying which input each came from.

    jsonl records carry `file`, `doc` (the input's index) and `sentence` (its index in the
    input). Fresh CoNLL-U gets `# newdoc id`, `# sent_id`, `# text` and `SpaceAfter=No`.
    Column-file input written as column files gets each model's prediction as a new last
    column; CoNLL-U input written as CoNLL-U gets it in the model's field (see
    LabelOutput); with several inputs, a `# newdoc id = FILE` (CoNLL-U) or `# file = FILE`
    (column files) line starts each input's sentences.
    """

    def __init__(
        self, stream: IO[str], output_format: str, outputs: Sequence[LabelOutput], input_format: str, several_inputs: bool = False
    ) -> None:
        self.stream = stream
        self.output_format = output_format
        self.input_format = input_format
        self.several_inputs = several_inputs
        self.outputs = list(outputs)
        self.file, self.doc, self.sentence = STDIO, 0, 0

    def begin_input(self, path: str, doc: int) -> None:
        """The sentences written next come from input number `doc`, `path`."""
        self.file, self.doc, self.sentence = path, doc, 0

    def write(self, sentence: Sentence, annotation: Annotation | None = None) -> None:
        annotation = annotation or Annotation()
        if self.output_format == "jsonl":
            where = {"file": self.file, "doc": self.doc, "sentence": self.sentence}
            write_jsonl({**where, **self._record(sentence, annotation)}, self.stream)
        else:
            outputs = self.outputs
            if annotation.confidence is not None:  # one more column: how sure the model is of each token's reading
                first = outputs[0]
                readings = token_readings(sentence.labels[first.key], annotation.confidence, first.spans)
                sentence = dataclasses.replace(
                    sentence, labels={**sentence.labels, CONFIDENCE_KEY: [f"{v:.4f}" for v in readings]}
                )
                outputs = [*outputs, LabelOutput(CONFIDENCE_KEY, False, CONFIDENCE_MISC)]
            if self.output_format == "inline":
                self.stream.write(inline_line(sentence, [output.key for output in outputs]) + "\n")
            else:
                self._write_columns(sentence, outputs)
        self.sentence += 1

    def _record(self, sentence: Sentence, annotation: Annotation) -> dict:
        if len(self.outputs) == 1:
            first = self.outputs[0]
            return sentence_record(sentence, first.key, first.spans, annotation.scores, annotation.confidence, annotation.judged)
        return models_record(sentence, [(output.key, output.spans) for output in self.outputs])

    def _write_columns(self, sentence: Sentence, outputs: list[LabelOutput]) -> None:
        if self.input_format != self.output_format:
            sentence = dataclasses.replace(sentence, raw=None)  # a fresh file, not the input's lines
        conllu_columns = [(output.key, output.conllu_column) for output in outputs]
        if self.output_format == CONLLU and sentence.raw is None:
            ids = {"sent_id": f"{Path(self.file).name if self.file != STDIO else 'stdin'}-{self.sentence + 1}"}
            metadata = {"newdoc id": self.file, **ids} if self.sentence == 0 else ids
            self.stream.write(conllu.serialize_new(sentence, conllu_columns, metadata))
            return
        if self.several_inputs and self.sentence == 0:
            self.stream.write(f"# newdoc id = {self.file}\n" if self.output_format == CONLLU else f"# file = {self.file}\n")
        if self.output_format == CONLLU:
            conllu.write_conllu([sentence], self.stream, conllu_columns)
            return
        first_new = _new_column(sentence)
        columns = [(output.key, first_new + offset) for offset, output in enumerate(outputs)]
        conll.write_conll([sentence], self.stream, columns)


def _new_column(sentence: Sentence) -> int:
    """The column after the last one of the sentence's own lines (2 for a bare token list)."""
    if sentence.raw is None:
        return 2
    first = sentence.raw.lines[sentence.raw.token_rows[0]]
    return len(conll.split_fields(strip_ending(first), sentence.raw.separator)) + 1


def tag_files(
    model_dir: str, paths: list[str], output: str = "-", options: TagOptions | None = None, device: str = "auto"
) -> int:
    """What `tagger tag` does: read, tag in batches and write as it goes; returns the sentence count.

    `model_dir` is a directory or a bundled model's name, or several joined by commas
    (`en-upos,en-ner`): each token then gets one label per model, in that order.
    Under torchrun, each rank tags its share of the input files and rank 0 writes all
    outputs in input order.
    """
    options = options or TagOptions()
    names = split_model_names(model_dir)
    options.check(len(names))
    paths = expand_inputs(paths)
    check_output(output, paths, options.force)
    if len(paths) > 1:
        check_text_starts(paths)
    if launched_by_torchrun():
        return _tag_files_sharded(model_dir, paths, output, options, device)
    models = with_heads([(name, Predictor.load(name, device, options.runtime)) for name in names])
    options.check(len(models))
    return _tag_into(output, models, paths, options)


def show_progress_bar(quiet: bool = False) -> bool:
    """Bars only for a person watching: stderr is a terminal, and stdout does not print to it."""
    return not quiet and sys.stderr.isatty() and not sys.stdout.isatty()


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exception) -> None:
        return None

    def update(self, count: int = 1) -> None:
        return None


def progress_bar(shown: bool):
    """A tqdm bar of sentences on stderr, or a stand-in that shows nothing (tqdm is imported only when shown)."""
    if not shown:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(unit=" sentences", file=sys.stderr, leave=False)


def _tag_into(
    output: str,
    models: list[tuple[str, Predictor]],
    paths: list[str],
    options: TagOptions,
    workers: int | None = None,
    first_doc: int = 0,
    several_inputs: bool | None = None,
) -> int:
    predictor = models[0][1]  # its token column reads column files
    column_input = options.input_format in FORMATS
    layout = predictor.layout(options.input_format, options.token_column, labelled=False) if column_input else None
    several = len(paths) > 1 if several_inputs is None else several_inputs
    count = 0
    with atomic_output(output) as stream:
        writer = SentenceWriter(stream, options.output_format, LabelOutput.of_models(models), options.input_format, several)
        with progress_bar(show_progress_bar(options.quiet)) as bar:
            for doc, path in enumerate(paths, start=first_doc):
                writer.begin_input(path, doc)
                sentences = read_input(path, options.input_format, layout, options.sentence_per_line)
                if options.input_format == "text":
                    sentences = split_contractions(sentences, predictor.contractions)
                sentences = warn_unknown_script(sentences, predictor, display_name(path))
                tagged = _tag_sentences(models, sentences, options, options.workers if workers is None else workers)
                for sentence, annotation in tagged:
                    writer.write(sentence, annotation)
                    count += 1
                    bar.update()
                stream.flush()
    return count


UNKNOWN_WORD_SHARE = 0.8  # a sentence whose words the model almost all never saw is in a language or script it does not read
MIN_WORDS_JUDGED = 4


def warn_unknown_script(sentences: Iterable[Sentence], predictor: Predictor, name: str) -> Iterator[Sentence]:
    """The sentences as they come; the first in which the model knows almost none of the words (Serbian in
    Cyrillic to a model trained on Latin script: tagged all O otherwise, without a word) gets a warning."""
    vocab, warned = predictor.vocab, False
    unknown_id = vocab.words.get(UNK)
    for number, sentence in enumerate(sentences, start=1):
        if not warned:
            words = [token for token in sentence.tokens if any(character.isalpha() for character in token)]
            unknown = [word for word in words if vocab.token_ids(word)[0] == unknown_id]  # cached: encoding reuses it
            if len(words) >= MIN_WORDS_JUDGED and len(unknown) > UNKNOWN_WORD_SHARE * len(words):
                print(
                    f"warning: {name}: sentence {number}: the model knows {len(words) - len(unknown)} of its "
                    f"{len(words)} words (not {unknown[0]!r}): a language or script it was not trained on; "
                    "its labels are guesses",
                    file=sys.stderr,
                )
                warned = True
        yield sentence


def _tag_sentences(
    models: list[tuple[str, Predictor]], sentences: Iterable[Sentence], options: TagOptions, workers: int
) -> Iterator[tuple[Sentence, Annotation | None]]:
    targets = [options.output_scheme(predictor) for _, predictor in models]
    if len(models) == 1:
        request = options.confidence_request
        return tag_stream(
            models[0][1], sentences, options.batch_size, options.with_scores, workers, targets[0], request, options.min_confidence
        )
    return ((sentence, None) for sentence in tag_with_models(models, sentences, options.batch_size, targets))


def _tag_files_sharded(model_dir: str, paths: list[str], output: str, options: TagOptions, device: str) -> int:
    import torch

    from tagger import distributed
    from tagger.torch_engine import choose_device

    world = distributed.start(torch.device("cpu"))  # gloo: only barriers are needed
    predictor = Predictor.load(model_dir, str(distributed.device_for(choose_device(device))), options.runtime)
    options.check(len(with_heads([(model_dir, predictor)])))  # a model's several heads tag in one process
    base = output if output != "-" else f".tagger-stdout-{os.environ.get('TORCHELASTIC_RUN_ID', 'run')}"
    parts = [f"{base}.part{index:05d}" for index in range(len(paths))]
    count = 0
    try:
        for index in range(world.rank, len(paths), world.size):
            count += _tag_into(parts[index], [(model_dir, predictor)], [paths[index]], options, 1, index, len(paths) > 1)
        distributed.barrier(world)
        if world.is_main:
            with atomic_output(output) as stream:
                for part in parts:
                    with open(part, encoding="utf-8", newline="") as piece:
                        shutil.copyfileobj(piece, stream)
            for part in parts:
                os.unlink(part)
        distributed.barrier(world)
    finally:
        distributed.stop(world)
    return count
