"""Predicting labels with a loaded model: batched, length-sorted, results in input order."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from tagger import schemes
from tagger.batching import Batch, Encoded, bucketed_batches, encode
from tagger.bundled import resolve_model
from tagger.confidence import Confidence
from tagger.config import Config
from tagger.errors import TaggerError
from tagger.formats import CONLL, Layout
from tagger.model import TaggerModel
from tagger.model_files import read_calibration
from tagger.posterior import batch_confidences
from tagger.store import load_model
from tagger.task import Task
from tagger.vocab import UNK, Vocab

if TYPE_CHECKING:
    from tagger.onnx_runtime import OnnxRunner


def choose_device(name: str) -> torch.device:
    """cpu, cuda, or auto (cuda when available)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TaggerError("--device cuda: no CUDA device is available on this machine")
    return torch.device(name)


def choose_threads(requested: int | None = None, workers: int = 1) -> int:
    """Torch threads for prediction: as requested, else one per core that is free now.

    Two processes with 2 threads each on 2 cores run about 10 times slower than with one
    each (their OpenMP threads spin against each other), so the default leaves out the
    cores the 1-minute load average says are busy; worker processes use one thread each
    and the parent, which only hands out chunks, one too.
    """
    if requested:
        return requested
    if workers > 1:
        return 1
    cores = torch.get_num_threads()
    busy = round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
    return max(1, min(cores, (os.cpu_count() or cores) - busy))


# Padded tokens per batch are capped at batch_size times this, so that a run of long
# sentences does not multiply memory (typical sentences are 10 to 30 tokens).
TOKENS_PER_SENTENCE_BUDGET = 32


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

    model: TaggerModel
    vocab: Vocab
    task: Task
    config: Config
    device: torch.device
    source: Path | None = None  # the model directory, where the model was loaded from one
    onnx: OnnxRunner | None = None  # set by use_onnx: predictions come from ONNX Runtime
    temperature: float = 1.0  # confidences come from the chain's scores divided by this

    def use_onnx(self, threads: int | None = None, quantize: bool = False) -> None:
        """Predict through ONNX Runtime on the CPU with this model exported in memory (nothing is written)."""
        from tagger.onnx_export import export_bytes, quantized
        from tagger.onnx_runtime import OnnxRunner

        if self.device.type != "cpu":
            raise TaggerError("--runtime onnx runs on the CPU; leave out --device cuda")
        graph = export_bytes(self.model)
        self.onnx = OnnxRunner(quantized(graph) if quantize else graph, threads)

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto", runtime: str = "torch") -> Predictor:
        """The model in `directory` (or the bundled model of that name).

        With runtime "onnx" or "onnx-int8" it predicts through ONNX Runtime (torch's threads).
        """
        target = choose_device(device)
        directory = resolve_model(directory)
        config, vocab, task, model = load_model(directory, target)
        calibration = read_calibration(Path(directory))
        temperature = calibration["temperature"] if calibration else 1.0
        predictor = cls(model, vocab, task, config, target, Path(directory), temperature=temperature)
        if runtime != "torch":
            predictor.use_onnx(torch.get_num_threads(), quantize=runtime == "onnx-int8")
        return predictor

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
            token_column = self.config.data.token_column if same_format and format_name == CONLL else 1
        column = (label_column or task.label_column) if labelled else None
        return Layout(format_name, token_column, column, last_if_missing=labelled and label_column is None)

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
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for batch in bucketed_batches(items, batch_size, max_tokens=batch_size * TOKENS_PER_SENTENCE_BUDGET):
                decoded, probabilities, confidences = self._decode(batch, with_scores, confidence)
                rows, lengths = decoded.tolist(), batch.lengths.tolist()  # one conversion per batch, not per row
                for row, position in enumerate(batch.positions):
                    length = lengths[row]
                    predictions.labels[position] = self.task.to_corpus([self.vocab.labels.symbols[i] for i in rows[row][:length]])
                    if probabilities is not None:
                        predictions.scores[position] = probabilities[row, torch.arange(length), decoded[row, :length]].tolist()
                    if confidences is not None:
                        predictions.confidences[position] = self._in_corpus_scheme(confidences[row])
        self.model.train(was_training)
        return predictions

    def _decode(
        self, batch: Batch, with_scores: bool, confidence: ConfidenceRequest | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, list[Confidence] | None]:
        """Label ids (batch, time) on the CPU, each label's probabilities (batch, time, labels) and the confidences, if asked."""
        if self.onnx is not None:
            decoded, emissions = self.onnx.decode(batch, with_emissions=with_scores or confidence is not None)
        else:
            batch = batch.to(self.device)
            emissions = self.model(batch)
            decoded = self.model.decode(emissions, batch.mask)
        probabilities = self.model.label_probabilities(emissions, batch.mask).cpu() if with_scores else None
        confidences = None
        if confidence is not None:
            model, mask = self.model, batch.mask.to(emissions.device)
            confidences = batch_confidences(
                model,
                emissions,
                mask,
                decoded.to(emissions.device),
                self.task.internal_scheme,
                confidence.nbest,
                self.temperature,
            )
        return decoded.cpu(), probabilities, confidences

    def _in_corpus_scheme(self, confidence: Confidence) -> Confidence:
        if not confidence.nbest or self.task.corpus_scheme == self.task.internal_scheme:
            return confidence
        nbest = [(self.task.to_corpus(labels), probability) for labels, probability in confidence.nbest]
        return dataclasses.replace(confidence, nbest=nbest)

    def predict(self, token_lists: Sequence[Sequence[str]], batch_size: int = 256) -> list[list[str]]:
        """Labels for each token list, in the order given."""
        return self.predict_encoded(self.encode(token_lists), batch_size).labels
