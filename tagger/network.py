"""The tagger network's layers as data: names, kinds and parameter shapes, in the order they run.

Both engines read this one description: the torch modules (tagger.model) take their sizes
from it, and the torch-free engine (tagger.numpy_engine) runs its layers from it. A model
directory's weights are checked against it before either engine is built, so a stored
model is accepted or refused alike by both. A new layer is described here once; the tests
compare it with the torch modules' parameters for every kind of network.
"""

from __future__ import annotations

from dataclasses import dataclass

from tagger.config import ModelConfig
from tagger.vocab import CASES

DIRECTIONS = ("", "_reverse")  # parameter suffixes of a bidirectional layer's two directions
GATES = {"lstm": 4, "gru": 3}  # gate blocks stacked in the rows of a recurrent layer's weights


@dataclass(frozen=True)
class Layer:
    """One layer: its parameter prefix (`words` for `words.weight`), its kind, and its parameters' shapes."""

    name: str
    kind: str  # embedding, char_cnn, char_lstm, char_lm, lstm, gru, linear, crf
    parameters: dict[str, tuple[int, ...]]  # full parameter name -> shape, in stored order
    output_dim: int = 0  # features per token (per word for the character encoders)


def recurrent_shapes(prefix: str, cell: str, input_dim: int, hidden: int, layers: int) -> dict[str, tuple[int, ...]]:
    """The parameters of a bidirectional nn.LSTM / nn.GRU, in its own order."""
    rows = GATES[cell] * hidden
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(layers):
        size = input_dim if layer == 0 else 2 * hidden
        for suffix in DIRECTIONS:
            shapes[f"{prefix}.weight_ih_l{layer}{suffix}"] = (rows, size)
            shapes[f"{prefix}.weight_hh_l{layer}{suffix}"] = (rows, hidden)
            shapes[f"{prefix}.bias_ih_l{layer}{suffix}"] = (rows,)
            shapes[f"{prefix}.bias_hh_l{layer}{suffix}"] = (rows,)
    return shapes


def char_layer(config: ModelConfig, chars: int) -> Layer | None:
    """The character encoder: a width-3 convolution max-pooled over the word, or a BiLSTM's final states."""
    embedding = {"chars.embedding.weight": (chars, config.char_dim)}
    if config.char_encoder == "cnn":
        convolution = {"chars.conv.weight": (config.char_hidden, config.char_dim, 3), "chars.conv.bias": (config.char_hidden,)}
        return Layer("chars", "char_cnn", {**embedding, **convolution}, config.char_hidden)
    if config.char_encoder == "lstm":
        lstm = recurrent_shapes("chars.lstm", "lstm", config.char_dim, config.char_hidden, 1)
        return Layer("chars", "char_lstm", {**embedding, **lstm}, 2 * config.char_hidden)
    return None


def layers(config: ModelConfig, words: int, chars: int, labels: int, more_heads: dict[str, int] | None = None) -> list[Layer]:
    """The network of a model config and its vocabulary sizes, input to output.

    `more_heads`: a model with several heads, each head after the first by name with its
    label count; each gets an output layer (and CRF) of its own, `heads.NAME.output`.
    """
    network = [Layer("words", "embedding", {"words.weight": (words, config.word_dim)}, config.word_dim)]
    if config.case_dim:
        network.append(Layer("cases", "embedding", {"cases.weight": (len(CASES), config.case_dim)}, config.case_dim))
    characters = char_layer(config, chars)
    if characters is not None:
        network.append(characters)
    if config.char_lm_hidden:
        lm = {"char_lm.embedding.weight": (chars, config.char_lm_dim)}
        lm.update(recurrent_shapes("char_lm.lstm", "lstm", config.char_lm_dim, config.char_lm_hidden, 1))
        network.append(Layer("char_lm", "char_lm", lm, 2 * config.char_lm_hidden))
    features = feature_dim(network)
    recurrent = recurrent_shapes("rnn", config.cell, features, config.hidden, config.layers)
    network.append(Layer("rnn", config.cell, recurrent, 2 * config.hidden))
    network += head_layers("", config, labels)
    for name, count in (more_heads or {}).items():
        network += head_layers(f"heads.{name}.", config, count)
    return network


def head_layers(prefix: str, config: ModelConfig, labels: int) -> list[Layer]:
    """One head: the output layer over the recurrent states, and its CRF; `prefix` "" for the first head."""
    output = {f"{prefix}output.weight": (labels, 2 * config.hidden), f"{prefix}output.bias": (labels,)}
    head = [Layer(f"{prefix}output", "linear", output, labels)]
    if config.crf:
        crf = {f"{prefix}crf.transitions": (labels, labels), f"{prefix}crf.start": (labels,), f"{prefix}crf.end": (labels,)}
        head.append(Layer(f"{prefix}crf", "crf", crf))
    return head


def feature_dim(network: list[Layer]) -> int:
    """Features per token that the recurrent layers read: word, case, character and character LM features side by side."""
    return sum(layer.output_dim for layer in network if layer.name in ("words", "cases", "chars", "char_lm"))


def parameter_shapes(network: list[Layer]) -> dict[str, tuple[int, ...]]:
    """Every parameter of the network by its stored name, in order."""
    return {name: shape for layer in network for name, shape in layer.parameters.items()}


def recurrent_layers(layer: Layer) -> int:
    """How many stacked bidirectional layers a recurrent layer holds."""
    return sum(1 for name in layer.parameters if name.startswith(f"{layer.name}.weight_ih_l") and name.endswith("_reverse"))
