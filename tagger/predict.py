"""Predicting labels with a loaded model: batched, length-sorted, results in input order."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from tagger import schemes
from tagger.batching import Encoded, bucketed_array_batches, encode
from tagger.bundled import resolve_model, split_head
from tagger.choices import default_runtime
from tagger.confidence import Confidence
from tagger.config import Config, training_corpora
from tagger.contractions import Contractions, read_contractions
from tagger.decoding import ChainScores
from tagger.errors import TaggerError
from tagger.formats import CONLL, Layout
from tagger.model_files import read_calibration
from tagger.posterior import Chain, batch_confidences, label_probabilities
from tagger.task import Task
from tagger.vocab import UNK, Vocab
from tagger.world import engine_threads, in_threads

if TYPE_CHECKING:
    from tagger.batching import ArrayBatch
    from tagger.model import TaggerModel


class Engine(Protocol):
    """What labels a batch: the NumPy engine (tagger.numpy_engine) or torch / ONNX Runtime (tagger.torch_engine)."""

    name: str

    def chain_scores(self) -> ChainScores | None: ...

    def decode(self, batch: ArrayBatch, with_emissions: bool, states=None) -> tuple[np.ndarray, np.ndarray | None]: ...

    def states(self, batch: ArrayBatch): ...

    def for_head(self, head: str, labels: list[str], scheme: str | None) -> Engine: ...


def _torch_engine(directory: Path, device: str, runtime: str) -> tuple[Config, Vocab, Task, Engine]:
    """The model rebuilt in torch on `device`, predicting through torch or ONNX Runtime (torch's threads)."""
    import torch

    from tagger.store import load_model
    from tagger.torch_engine import TorchEngine, choose_device

    target = choose_device(device)
    config, vocab, task, model = load_model(directory, target)
    engine = TorchEngine(model, target)
    if runtime != "torch":
        engine.use_onnx(torch.get_num_threads(), quantize=runtime == "onnx-int8")
    return config, vocab, task, engine


# Padded tokens per batch are capped at batch_size times this, so that a run of long
# sentences does not multiply memory (typical sentences are 10 to 30 tokens).
TOKENS_PER_SENTENCE_BUDGET = 32


def length_sorted_batches(items: Sequence[Encoded], batch_size: int) -> Iterator[ArrayBatch]:
    """Prediction's batches: sentences of similar length, at most batch_size x TOKENS_PER_SENTENCE_BUDGET padded tokens."""
    return bucketed_array_batches(items, batch_size, max_tokens=batch_size * TOKENS_PER_SENTENCE_BUDGET)


@dataclass(frozen=True)
class ConfidenceRequest:
    """Confidences to compute with the labels: token and span probabilities, and the `nbest` best labellings."""

    nbest: int = 0


@dataclass
class Predictions:
    """Per sentence, in input order: labels, label probabilities (--scores) and confidences, where asked."""

    labels: list[list[str]]
    scores: list[list[float]] | None = None
    confidences: list[Confidence] | None = None

    @classmethod
    def empty(cls, size: int, with_scores: bool, with_confidence: bool) -> Predictions:
        return cls([[]] * size, [[]] * size if with_scores else None, [None] * size if with_confidence else None)


@dataclass
class Predictor:
    """A model with its vocabulary and task, ready to label token lists."""

    engine: Engine
    vocab: Vocab
    task: Task
    config: Config
    source: Path | None = None  # the model directory, where the model was loaded from one
    temperature: float = 1.0  # confidences come from the chain's scores divided by this
    contractions: Contractions = Contractions({})  # raw text's contractions as the training treebank split them
    head_temperatures: dict[str, float] = dataclasses.field(default_factory=dict)  # heads after the first, where fitted
    head_name: str = ""  # the head it labels, when chosen (head(), MODEL:HEAD) of a model with several

    @classmethod
    def of_model(cls, model: TaggerModel, vocab: Vocab, task: Task, config: Config, device) -> Predictor:
        """A predictor over a torch model in memory (training's dev evaluation)."""
        from tagger.torch_engine import TorchEngine

        return cls(TorchEngine(model, device), vocab, task, config)

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto", runtime: str | None = None) -> Predictor:
        """The model in `directory` (or the bundled model of that name).

        runtime: "numpy" (the default on the CPU: torch is not imported), "torch" (the
        default for --device cuda), or "onnx" / "onnx-int8" through ONNX Runtime.
        `MODEL:HEAD` (no directory of that name) is one head of a model with several.
        """
        directory, head = split_head(directory)
        if head is not None:
            return cls.load(directory, device, runtime).head(head)
        directory = Path(resolve_model(directory))
        runtime = runtime or default_runtime(device)
        if runtime == "numpy":
            if device.startswith("cuda"):
                raise TaggerError("--device cuda runs with --runtime torch; the numpy runtime labels on the CPU")
            from tagger.numpy_engine import NumpyEngine, load_arrays

            loaded = load_arrays(directory)
            config, vocab, task = loaded.config, loaded.vocab, loaded.task
            engine = NumpyEngine(loaded.network, vocab.labels.symbols, task.internal_scheme, engine_threads())
        else:
            config, vocab, task, engine = _torch_engine(directory, device, runtime)
        calibration = read_calibration(directory) or {}
        temperature = calibration.get("temperature", 1.0)
        heads = calibration.get("heads", {})
        return cls(engine, vocab, task, config, directory, temperature, read_contractions(directory), heads)

    def head(self, name: str) -> Predictor:
        """The predictor of one head of a model with several (sharing this one's engine and encoder)."""
        if not self.task.heads:
            raise TaggerError(f"{self.source or 'the model'}: has one head; there is no head {name!r}")
        if name not in self.task.head_names:
            raise TaggerError(f"{self.source or 'the model'}: no head {name!r}; its heads are {', '.join(self.task.head_names)}")
        task, vocab = self.task.head(name), self.vocab.for_head(name)
        if name == self.task.head_names[0]:  # the model's own output layer: the same engine, this head alone
            return dataclasses.replace(self, vocab=vocab, task=task, head_name=name)
        engine = self.engine.for_head(name, vocab.labels.symbols, task.internal_scheme)
        temperature = self.head_temperatures.get(name, 1.0)
        return dataclasses.replace(self, engine=engine, vocab=vocab, task=task, temperature=temperature, head_name=name)

    def heads(self) -> list[tuple[str, Predictor]]:
        """Each head's name and predictor, the first head's first; [] for a model with one head."""
        return [(name, self.head(name)) for name in self.task.head_names]

    @property
    def model(self) -> TaggerModel:
        """The torch model (torch and ONNX runtimes only)."""
        model = getattr(self.engine, "model", None)
        if model is None:
            raise TaggerError(f"the {self.engine.name} runtime has no torch model; load with runtime 'torch'")
        return model

    @property
    def device(self):
        """The torch device of the torch runtime; None for the NumPy one (the CPU)."""
        return getattr(self.engine, "device", None)

    def use_onnx(self, threads: int | None = None, quantize: bool = False) -> None:
        """Predict through ONNX Runtime (a predictor of the torch runtime; see TorchEngine.use_onnx)."""
        self.engine.use_onnx(threads, quantize)

    def layout(
        self,
        format_name: str | None = None,
        token_column: str | int | None = None,
        label_column: str | None = None,
        labelled: bool = True,
    ) -> Layout:
        """How to read a file for this model: the format and columns it was trained on, unless overridden.

        The token column is the training one for column files; a labelled file in
        another format than the training files needs its label column named.
        """
        task = self.task
        format_name = format_name or task.format
        same_format = format_name == task.format
        if labelled and label_column is None and not same_format:
            raise TaggerError(
                f"--format {format_name}: the model was trained on {task.format} files; "
                "name the gold label column with --label-column"
            )
        if token_column is None:
            token_column = self.training_token_column() if same_format and format_name == CONLL else 1
        column = (label_column or task.label_column) if labelled else None
        return Layout(format_name, token_column, column, last_if_missing=labelled and label_column is None)

    def training_token_column(self) -> int:
        """The token column of the model's training files (of its head's first one, for a model with several heads)."""
        if not self.task.heads and not self.head_name:
            return self.config.data.token_column
        corpora = training_corpora(self.config.data)
        return next(corpus for corpus in corpora if corpus.head == (self.head_name or corpora[0].head)).token_column

    def known_corpus_labels(self) -> set[str]:
        """The labels this model can write, in any span scheme (its labels themselves for token labels)."""
        symbols = self.vocab.labels.symbols
        if not self.task.spans:
            return set(symbols)
        return set(schemes.span_labels(symbols))

    def known_tokens(self, token_lists: Sequence[Sequence[str]]) -> list[list[bool]]:
        """For each token, whether its word is in the model's vocabulary (as the model looks words up)."""
        unknown = self.vocab.words.get(UNK)
        return [[self.vocab.word_id(token) != unknown for token in tokens] for tokens in token_lists]

    def pretrained_only_share(self, token_lists: Sequence[Sequence[str]]) -> float:
        """The share of tokens outside the training words that find their vector in the model's pretrained table."""
        trained = len(self.vocab.words)
        found = sum(self.vocab.word_id(token) >= trained for tokens in token_lists for token in tokens)
        return found / max(sum(map(len, token_lists)), 1)

    def encode(self, token_lists: Sequence[Sequence[str]]) -> list[Encoded]:
        return [encode(tokens, self.vocab) for tokens in token_lists]

    def predict_encoded(
        self,
        items: Sequence[Encoded],
        batch_size: int = 256,
        with_scores: bool = False,
        confidence: ConfidenceRequest | None = None,
    ) -> Predictions:
        """Labels (in the corpus's scheme) for encoded sentences; their label probabilities and confidences if asked."""
        predictions = Predictions.empty(len(items), with_scores, confidence is not None)
        batches = length_sorted_batches(items, batch_size)
        decode = functools.partial(self._decode, with_scores=with_scores, confidence=confidence)
        for batch, (decoded, probabilities, confidences) in in_threads(decode, batches, getattr(self.engine, "threads", 1)):
            self._fill(predictions, batch, decoded, probabilities, confidences)
        return predictions

    def _fill(
        self,
        predictions: Predictions,
        batch: ArrayBatch,
        decoded: np.ndarray,
        probabilities: np.ndarray | None = None,
        confidences: list[Confidence] | None = None,
    ) -> None:
        """Put a batch's labels (decoded ids, batch x time), scores and confidences in their sentences' places."""
        symbols = self.vocab.labels.symbols
        rows, lengths = decoded.tolist(), batch.lengths.tolist()  # one conversion per batch, not per row
        for row, position in enumerate(batch.positions):
            length = lengths[row]
            predictions.labels[position] = self.task.to_corpus([symbols[i] for i in rows[row][:length]])
            if probabilities is not None:
                predictions.scores[position] = probabilities[row, np.arange(length), decoded[row, :length]].tolist()
            if confidences is not None:
                predictions.confidences[position] = self._in_corpus_scheme(confidences[row])

    def _decode(
        self, batch: ArrayBatch, with_scores: bool, confidence: ConfidenceRequest | None
    ) -> tuple[np.ndarray, np.ndarray | None, list[Confidence] | None]:
        """Label ids (batch, time), each label's probabilities (batch, time, labels) and the confidences, if asked."""
        decoded, emissions = self.engine.decode(batch, with_emissions=with_scores or confidence is not None)
        if emissions is None:
            return decoded, None, None
        scores = self.engine.chain_scores()
        probabilities = label_probabilities(scores, emissions, batch.mask) if with_scores else None
        confidences = None
        if confidence is not None:
            chain = Chain.of(scores, emissions, batch.mask)
            labels, scheme = self.vocab.labels.symbols, self.task.internal_scheme
            confidences = batch_confidences(chain, labels, decoded, scheme, confidence.nbest, self.temperature)
        return decoded, probabilities, confidences

    def _in_corpus_scheme(self, confidence: Confidence) -> Confidence:
        if not confidence.nbest or self.task.corpus_scheme == self.task.internal_scheme:
            return confidence
        nbest = [(self.task.to_corpus(labels), *rest) for labels, *rest in confidence.nbest]
        return dataclasses.replace(confidence, nbest=nbest)

    def predict(self, token_lists: Sequence[Sequence[str]], batch_size: int = 256) -> list[list[str]]:
        """Labels for each token list, in the order given."""
        return self.predict_encoded(self.encode(token_lists), batch_size).labels


def predict_heads(heads: Sequence[Predictor], items: Sequence[Encoded], batch_size: int = 256) -> list[Predictions]:
    """The labels of several heads of one model (Predictor.heads) for encoded sentences: the encoder runs once per
    batch and each head decodes its states."""
    results = [Predictions.empty(len(items), False, False) for _ in heads]
    batches = length_sorted_batches(items, batch_size)
    engine = heads[0].engine

    def decode(batch: ArrayBatch) -> list[np.ndarray]:
        states = engine.states(batch)
        return [head.engine.decode(batch, False, states)[0] for head in heads]

    for batch, decoded in in_threads(decode, batches, getattr(engine, "threads", 1)):
        for head, predictions, labels in zip(heads, results, decoded):
            head._fill(predictions, batch, labels)
    return results
