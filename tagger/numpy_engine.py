"""The tagger network in NumPy: a trained model's emission scores without torch.

The layers run as tagger.network describes them, from the same safetensors files the torch
modules load, in float32: word embeddings (trained rows, then the frozen pretrained table
for ids beyond them), case embeddings, the character CNN or BiLSTM, the BiLSTM or BiGRU
stack and the output layer. Inference only: no dropout. Each recurrent direction runs on
the padded batch, the backward one over each sentence reversed within its length, so a
sentence's states never see its padding (as tagger.recurrent does in torch); where the rows
are sorted by length (prediction's batches, and the character BiLSTM's words, sorted for
it), a step runs only the rows not yet past their end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger import network
from tagger.batching import ArrayBatch
from tagger.bundled import table_file
from tagger.char_lm import sentence_sequences
from tagger.config import Config
from tagger.decoding import ChainScores, viterbi
from tagger.model_definition import load_definition, read_arrays, read_table_arrays, uses_table, weights_file
from tagger.network import DIRECTIONS, GATES, Layer
from tagger.task import Task
from tagger.vocab import Vocab


def reverse_index(lengths: np.ndarray, steps: int) -> np.ndarray:
    """(batch, time) positions that reverse each sequence within its length (padding stays in place)."""
    positions = np.arange(steps)[None]
    last = lengths[:, None] - 1
    return np.where(positions <= last, last - positions, positions)


def gather_time(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values (batch, time, features) reordered along time by index (batch, time)."""
    return np.take_along_axis(values, index[:, :, None], axis=1)


@dataclass(frozen=True)
class Recurrent:
    """Both directions of one bidirectional layer, stacked (forward first), ready to step through time.

    weights (2, features + hidden, gates): the input weights above the recurrent ones, torch's transposed, so that
    one product of [input, state] gives a step's gates; input_bias and recurrent_bias (2, 1, gates). They are
    scaled so that exp serves every gate (NumPy's float32 exp is vectorised, its tanh is not): each sigmoid
    gate's rows negated, sigmoid(x) = 1 / (1 + exp(-x)), and each tanh gate's times -2, tanh(x) = 2 / (1 +
    exp(-2x)) - 1.
    """

    cell: str  # lstm or gru
    weights: np.ndarray
    input_bias: np.ndarray
    recurrent_bias: np.ndarray

    @property
    def hidden(self) -> int:
        return self.weights.shape[2] // GATES[self.cell]

    @property
    def input(self) -> np.ndarray:
        """(2, features, gates)"""
        return self.weights[:, : -self.hidden]

    @property
    def recurrent(self) -> np.ndarray:
        """(2, hidden, gates)"""
        return self.weights[:, -self.hidden :]

    @classmethod
    def of(cls, arrays: dict[str, np.ndarray], prefix: str, depth: int, cell: str) -> Recurrent:
        """Layer `depth` of the recurrent parameters under `prefix` (`rnn`, `chars.lstm`)."""
        hidden = arrays[f"{prefix}.weight_hh_l{depth}"].shape[1]
        scale = np.full(GATES[cell] * hidden, -1.0, np.float32)  # LSTM: input, forget, output; GRU: reset, update
        scale[2 * hidden : 3 * hidden] = -2.0  # the tanh gate: the cell gate (LSTM), the new gate (GRU)

        def scaled(name: str) -> np.ndarray:
            """(2, ...) both directions of one parameter, scaled by gate."""
            stacked = np.stack([arrays[f"{prefix}.{name}_l{depth}{suffix}"] for suffix in DIRECTIONS])
            return stacked * (scale[:, None] if stacked.ndim == 3 else scale)

        weights = np.concatenate([scaled("weight_ih"), scaled("weight_hh")], axis=2).transpose(0, 2, 1)
        input_bias, recurrent_bias = scaled("bias_ih"), scaled("bias_hh")
        if cell == "lstm":  # both biases are added before the gates: one sum
            input_bias, recurrent_bias = input_bias + recurrent_bias, np.zeros_like(recurrent_bias)
        return cls(cell, np.ascontiguousarray(weights), input_bias[:, None, :], recurrent_bias[:, None, :])

    def run(self, inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """inputs (batch, time, features), lengths (batch,) -> states (batch, time, 2 hidden): the forward
        direction's, then the backward one's, which reads each sequence from its end; 0 past each sequence's end
        where the rows are sorted by length (prediction's batches), else what the padding gives."""
        reverse = reverse_index(lengths, inputs.shape[1])
        with np.errstate(over="ignore"):  # exp overflows to inf for a saturated gate, which then reads 0 or -1
            if self.cell == "lstm":
                return _lstm_steps(self, inputs, reverse, lengths)
            both = np.stack([inputs, gather_time(inputs, reverse)])
            _, batch, steps, features = both.shape
            projected = np.matmul(both.reshape(2, batch * steps, features), self.input).reshape(2, batch, steps, -1)
            projected += self.input_bias[:, :, None]
            states = _gru_steps(self, projected)
            return np.concatenate([states[0], gather_time(states[1], reverse)], axis=2)


def _sigmoid_of_negated(values: np.ndarray) -> np.ndarray:
    """values holding -x -> sigmoid(x), in place."""
    np.exp(values, out=values)
    values += 1.0
    return np.reciprocal(values, out=values)


def _tanh_of_minus_twice(values: np.ndarray) -> np.ndarray:
    """values holding -2x -> tanh(x), in place."""
    np.exp(values, out=values)
    values += 1.0
    np.divide(2.0, values, out=values)
    values -= 1.0
    return values


def _lstm_steps(layer: Recurrent, inputs: np.ndarray, reverse: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """inputs (batch, time, features), reverse (batch, time), lengths (batch,) -> states (batch, time, 2 hidden);
    gates in torch's order: input, forget, cell, output. Each step is one product of [input, state] with the
    joined weights (the inputs are not projected for all steps at once: that array would be larger than the
    caches), and the backward direction reads and writes its step's positions through `reverse` (no reversed
    copies). Rows sorted by length skip the steps past their end: a step runs the rows still inside."""
    batch, steps, features = inputs.shape
    hidden = layer.hidden
    rows = np.arange(batch)
    ascending = bool(np.all(lengths[1:] >= lengths[:-1]))
    firsts = np.searchsorted(lengths, np.arange(steps), side="right") if ascending else np.zeros(steps, np.int64)
    joined = np.zeros((2, batch, features + hidden), np.float32)  # a step's inputs, then the state before it
    cell, squashed = (np.zeros((2, batch, hidden), np.float32) for _ in range(2))
    gates = np.empty((2, batch, layer.weights.shape[2]), np.float32)
    states = np.zeros((batch, steps, 2 * hidden), np.float32)
    for t, first in enumerate(firsts):
        inside, step_joined = rows[first:], joined[:, first:]
        step_gates, step_cell, step_squashed = gates[:, first:], cell[:, first:], squashed[:, first:]
        step_joined[0, :, :features] = inputs[first:, t]
        step_joined[1, :, :features] = inputs[inside, reverse[first:, t]]
        np.matmul(step_joined, layer.weights, out=step_gates)
        step_gates += layer.input_bias
        _sigmoid_of_negated(step_gates)  # the cell gate's 1 / (1 + exp(-2x)) becomes its tanh below
        new = step_gates[..., 2 * hidden : 3 * hidden]
        new *= 2.0
        new -= 1.0
        step_cell *= step_gates[..., hidden : 2 * hidden]
        step_cell += step_gates[..., :hidden] * new
        np.multiply(step_cell, -2.0, out=step_squashed)
        _tanh_of_minus_twice(step_squashed)
        state = step_joined[..., features:]
        np.multiply(step_gates[..., 3 * hidden :], step_squashed, out=state)
        states[first:, t, :hidden] = state[0]
        states[inside, reverse[first:, t], hidden:] = state[1]
    return states


def _gru_steps(layer: Recurrent, projected: np.ndarray) -> np.ndarray:
    """projected inputs (2, batch, time, 3 hidden), scaled as Recurrent says -> states (2, batch, time, hidden);
    gates in torch's order: reset, update, new."""
    _, batch, steps, width = projected.shape
    hidden = layer.hidden
    state = np.zeros((2, batch, hidden), np.float32)
    from_state = np.empty((2, batch, width), np.float32)
    states = np.empty((2, batch, steps, hidden), np.float32)
    for t in range(steps):
        np.matmul(state, layer.recurrent, out=from_state)
        from_state += layer.recurrent_bias
        gates = _sigmoid_of_negated(projected[:, :, t, : 2 * hidden] + from_state[..., : 2 * hidden])
        new = projected[:, :, t, 2 * hidden :] + gates[..., :hidden] * from_state[..., 2 * hidden :]
        _tanh_of_minus_twice(new)
        state = new + gates[..., hidden:] * (state - new)
        states[:, :, t] = state
    return states


def bidirectional(layers: list[Recurrent], inputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A bidirectional stack: inputs (batch, time, features), lengths (batch,) -> (batch, time, 2 hidden),
    forward then backward states, 0 past each sequence's end."""
    for layer in layers:
        inputs = layer.run(inputs, lengths)
    real = np.arange(inputs.shape[1])[None] < lengths[:, None]
    return inputs * real[:, :, None]


def char_cnn(arrays: dict[str, np.ndarray], chars: np.ndarray) -> np.ndarray:
    """Characters (words, max characters) ids, 0-padded -> (words, hidden): a width-3 convolution, max-pooled
    over each word's characters; positions outside the word read zeros.

    As in torch, the words are convolved as one sequence, each followed by one padding
    character, rather than each padded to the longest word.
    """
    lengths = (chars != 0).sum(axis=1)
    with_separator = np.pad(chars, ((0, 0), (0, 1)))
    sequence = with_separator[np.arange(with_separator.shape[1])[None] <= lengths[:, None]]  # word 1, 0, word 2, 0, ...
    real = sequence != 0
    embedded = np.pad(arrays["chars.embedding.weight"][sequence] * real[:, None], ((1, 1), (0, 0)))
    windows = np.concatenate([embedded[:-2], embedded[1:-1], embedded[2:]], axis=1)  # (positions, 3 dim)
    kernel = arrays["chars.conv.weight"]  # (hidden, dim, 3)
    features = (windows @ kernel.transpose(2, 1, 0).reshape(-1, kernel.shape[0]) + arrays["chars.conv.bias"])[real]
    pooled = np.zeros((len(chars), kernel.shape[0]), np.float32)
    present = lengths > 0
    starts = np.concatenate([[0], np.cumsum(lengths[present])[:-1]])
    pooled[present] = np.maximum.reduceat(features, starts, axis=0)
    return pooled


def char_lstm(lstm: Recurrent, arrays: dict[str, np.ndarray], chars: np.ndarray) -> np.ndarray:
    """Characters (words, max characters) -> (words, 2 hidden): a BiLSTM's final forward and backward states."""
    lengths = np.maximum((chars != 0).sum(axis=1), 1)
    order = np.argsort(lengths, kind="stable")  # sorted by length, each word's steps stop at its end
    lengths = lengths[order]
    states = lstm.run(arrays["chars.embedding.weight"][chars[order]], lengths)
    hidden = lstm.hidden
    # the forward direction ends at the last character, the backward one (reading from the end) at the first
    sorted_words = np.concatenate([states[np.arange(len(chars)), lengths - 1, :hidden], states[:, 0, hidden:]], axis=1)
    words = np.empty_like(sorted_words)
    words[order] = sorted_words
    return words


def char_lm_features(lstm: Recurrent, embedding: np.ndarray, batch: ArrayBatch) -> np.ndarray:
    """A frozen character LM's features (tokens, 2 hidden): each word's forward state at the space after it and
    backward state at the space before it (tagger.char_lm)."""
    sequences = sentence_sequences(batch.chars, batch.mask)
    states = bidirectional([lstm], embedding[sequences.ids], sequences.lengths)
    flat = states.reshape(-1, states.shape[2])
    hidden = lstm.hidden
    return np.concatenate([flat[sequences.after, :hidden], flat[sequences.before, hidden:]], axis=1)


@dataclass
class NumpyNetwork:
    """A trained network's layers and weights (float32 arrays), ready to score batches."""

    layers: list[Layer]
    arrays: dict[str, np.ndarray]
    # the frozen pretrained vectors (rows, word_dim) for ids beyond the trained words, kept as stored (float16)
    table: np.ndarray | None = None

    def word_vectors(self, ids: np.ndarray) -> np.ndarray:
        """ids (batch, time) -> (batch, time, word_dim): trained rows, or the frozen table's for ids beyond them."""
        trained = self.arrays["words.weight"]
        count = trained.shape[0]
        vectors = trained[np.minimum(ids, count - 1)]
        if self.table is not None:
            beyond = ids >= count
            if beyond.any():
                vectors[beyond] = self.table[ids[beyond] - count]  # float16 rows, widened here
        return vectors

    def features(self, batch: ArrayBatch) -> np.ndarray:
        """Token features (batch, time, word + case + character + character LM features)."""
        parts = [self.word_vectors(batch.words)]
        for layer in self.layers:
            if layer.name == "cases":
                parts.append(self.arrays["cases.weight"][batch.cases])
                continue
            if layer.kind == "char_cnn":
                per_token = char_cnn(self.arrays, batch.chars)
            elif layer.kind == "char_lstm":
                per_token = char_lstm(self.char_lstm, self.arrays, batch.chars)
            elif layer.kind == "char_lm":
                per_token = char_lm_features(self.char_lm, self.arrays["char_lm.embedding.weight"], batch)
            else:
                continue
            grid = np.zeros((*batch.words.shape, per_token.shape[1]), np.float32)
            grid[batch.mask] = per_token
            parts.append(grid)
        return np.concatenate(parts, axis=2)

    def __post_init__(self) -> None:
        layer = next(layer for layer in self.layers if layer.name == "rnn")
        self.recurrent = [Recurrent.of(self.arrays, "rnn", depth, layer.kind) for depth in range(network.recurrent_layers(layer))]
        # prepared once: transposing and stacking the weights per batch was work on every call
        has_char_lstm = any(layer.kind == "char_lstm" for layer in self.layers)
        self.char_lstm = Recurrent.of(self.arrays, "chars.lstm", 0, "lstm") if has_char_lstm else None
        has_char_lm = any(layer.kind == "char_lm" for layer in self.layers)
        self.char_lm = Recurrent.of(self.arrays, "char_lm.lstm", 0, "lstm") if has_char_lm else None

    def states(self, batch: ArrayBatch) -> np.ndarray:
        """The encoder's states (batch, time, 2 hidden): what every head reads."""
        return bidirectional(self.recurrent, self.features(batch), batch.lengths)

    def emissions(self, batch: ArrayBatch, head: str | None = None, states: np.ndarray | None = None) -> np.ndarray:
        """A head's emission scores (batch, time, labels), from the encoder's `states` where given."""
        states = self.states(batch) if states is None else states
        prefix = head_prefix(head)
        return states @ self.arrays[f"{prefix}output.weight"].T + self.arrays[f"{prefix}output.bias"]

    def chain_scores(self, labels: list[str], scheme: str | None, head: str | None = None) -> ChainScores | None:
        """The head's chain (CRF scores and constraints, or a softmax head's constraints); see ChainScores.of_head."""
        prefix = head_prefix(head)
        has_crf = any(layer.name == f"{prefix}crf" for layer in self.layers)
        crf = tuple(self.arrays[f"{prefix}crf.{name}"] for name in ("start", "transitions", "end")) if has_crf else None
        return ChainScores.of_head(labels, scheme, crf)


def head_prefix(head: str | None) -> str:
    """Where a head's parameters are: `heads.NAME.` for a head after the first, "" for the first (None)."""
    return f"heads.{head}." if head else ""


@dataclass
class LoadedArrays:
    """A model directory read without torch."""

    config: Config
    vocab: Vocab
    task: Task
    network: NumpyNetwork


def load_arrays(directory: str | Path) -> LoadedArrays:
    """A model directory's definition and weights as NumPy arrays, every file checked (tagger.model_definition)."""
    directory = Path(directory)
    config, vocab, task = load_definition(directory)
    more_heads = {name: len(vocab.heads[name]) for name in task.head_names[1:]}
    layers = network.layers(config.model, len(vocab.words), len(vocab.chars), len(vocab.labels), more_heads)
    expected = {name: (shape, "float32") for name, shape in network.parameter_shapes(layers).items()}
    arrays = read_arrays(weights_file(directory), expected)
    table = None
    if uses_table(config):
        vectors = read_table_arrays(table_file(directory), config.model.word_dim)
        vocab.attach_table(vectors.index, vectors.lowercase)
        table = vectors.matrix
    return LoadedArrays(config, vocab, task, NumpyNetwork(layers, arrays, table))


class NumpyEngine:
    """Emissions and decoded labels from a NumpyNetwork: the default engine for tagging, torch-free.

    `head`: which head it decodes, of a model with several (None: the first).
    """

    name = "numpy"
    device = None  # not a torch device: the CPU, through NumPy

    def __init__(
        self, network: NumpyNetwork, labels: list[str], scheme: str | None, threads: int = 1, head: str | None = None
    ) -> None:
        self.network = network
        self.head = head
        self.scores = network.chain_scores(labels, scheme, head)
        self.threads = threads  # batches labelled side by side (see tagger.world.in_threads)

    def for_head(self, head: str, labels: list[str], scheme: str | None) -> NumpyEngine:
        """An engine over the same network that decodes another head."""
        return NumpyEngine(self.network, labels, scheme, self.threads, head)

    def chain_scores(self) -> ChainScores | None:
        return self.scores

    def states(self, batch: ArrayBatch) -> np.ndarray:
        """The encoder's states (batch, time, 2 hidden), to decode several heads from one pass."""
        return self.network.states(batch)

    def decode(
        self, batch: ArrayBatch, with_emissions: bool, states: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Label ids (batch, time) and, if asked, emission scores (batch, time, labels); from `states` where given."""
        emissions = self.network.emissions(batch, self.head, states)
        if self.scores is None:
            decoded = emissions.argmax(axis=2) * batch.mask
        else:
            decoded = viterbi(self.scores.emissions(emissions), batch.lengths, self.scores)
        return decoded, emissions if with_emissions else None
