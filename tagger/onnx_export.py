"""ONNX export of a tagger, decoding included (the `tagger[onnx]` extra; onnx_runtime.py runs the graph).

The exported graph maps ids to label ids: inputs `words` and `cases` (batch, time),
`chars` (batch, time, characters) and `lengths` (batch,), all int64, built as
`vocab.json` says (the sidecar is that file plus an `onnx` section); outputs `labels`
(batch, time), indices into the sidecar's `labels` (the model's internal scheme), 0
past each sentence's end, and `emissions` (batch, time, labels), the scores that
confidences are computed from with the sidecar's `chain` (forward-backward, as
posterior.py does). Batch, time and characters are dynamic.

The network is rewritten without packed sequences, which ONNX cannot express: the
backward direction of each recurrent layer runs over each sentence reversed within its
length (a gather), and the character CNN's boolean indexing becomes NonZero and Gather.
Viterbi is compiled with TorchScript so that its loops become ONNX Loops.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from tagger.bundled import resolve_model
from tagger.crf import viterbi
from tagger.errors import TaggerError
from tagger.files import atomic_output
from tagger.model import CharCNN, CharLSTM, TaggerModel
from tagger.onnx_runtime import OUTPUTS, require_onnx
from tagger.recurrent import SplitBidirectional
from tagger.store import load_model
from tagger.vocab import CASES, MAX_WORD_CHARS, PAD_ID, UNKNOWN_ID, Vocab

INPUTS = ("words", "cases", "chars", "lengths")
OPSET = 18  # ScatterElements with max reduction


class SequenceCharCNN(nn.Module):
    """The CharCNN as trained: the batch's words convolved as one sequence, each followed by one padding character.

    The boolean indexing of the training code becomes NonZero and Gather, the max-pooling
    a ScatterElements with max reduction; padding each word to the longest one instead
    did 4 to 8 times the work (on EWT, 58 % of the ONNX graph's time).
    """

    def __init__(self, encoder: CharCNN) -> None:
        super().__init__()
        self.embedding, self.conv = encoder.embedding, encoder.conv

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """(words, characters) ids, left-aligned -> (words, hidden); 0 for a word without characters."""
        lengths = (chars != PAD_ID).sum(1)
        with_separator = nn.functional.pad(chars, (0, 1))
        keep = torch.arange(with_separator.size(1)).unsqueeze(0) <= lengths.unsqueeze(1)
        where = keep.nonzero()  # (positions, 2): word, character
        sequence = with_separator[where[:, 0], where[:, 1]]  # word 1, 0, word 2, 0, ...
        features = self.conv(self.embedding(sequence).T.unsqueeze(0)).squeeze(0).T  # (positions, hidden)
        features = features.masked_fill((sequence == PAD_ID).unsqueeze(1), float("-inf"))
        pooled = torch.full((chars.size(0), features.size(1)), float("-inf"))
        pooled = pooled.scatter_reduce(0, where[:, :1].expand_as(features), features, "amax")
        return torch.where(lengths.unsqueeze(1) > 0, pooled, torch.zeros_like(pooled))


class PaddedCharLSTM(nn.Module):
    """The CharLSTM without packing: the final state of each direction, read at each word's own end."""

    def __init__(self, encoder: CharLSTM) -> None:
        super().__init__()
        self.embedding, self.rnn = encoder.embedding, SplitBidirectional(encoder.lstm)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """(words, characters) ids -> (words, 2 * hidden)."""
        lengths = (chars != PAD_ID).sum(1).clamp(min=1)
        states = self.rnn(self.embedding(chars), lengths)
        half = states.size(2) // 2
        last = states[:, :, :half].gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, half)).squeeze(1)
        return torch.cat([last, states[:, 0, half:]], dim=1)


class ExportableTagger(nn.Module):
    """A trained TaggerModel (in eval mode) from ids to label ids, in operations ONNX can express."""

    def __init__(self, model: TaggerModel, decoder: bool = True) -> None:
        super().__init__()
        self.with_decoder = decoder
        self.words, self.cases, self.output = model.words, model.cases, model.output
        if isinstance(model.chars, CharCNN):
            self.chars: nn.Module | None = SequenceCharCNN(model.chars)
        elif isinstance(model.chars, CharLSTM):
            self.chars = PaddedCharLSTM(model.chars)
        else:
            self.chars = None
        self.rnn = SplitBidirectional(model.rnn)
        self.crf = model.crf  # registered here, so that the tracer takes its scores as the graph's weights
        self.decoding_scores = model.decoding_scores
        self.decoder = torch.jit.script(viterbi)

    def forward(
        self, words: torch.Tensor, cases: torch.Tensor, chars: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """words, cases (batch, time), chars (batch, time, characters), lengths (batch,) ->
        label ids (batch, time) and emission scores (batch, time, labels)."""
        parts = [self.words(words)]
        if self.cases is not None:
            parts.append(self.cases(cases))
        if self.chars is not None:
            batch, steps, width = chars.shape
            parts.append(self.chars(chars.reshape(batch * steps, width)).reshape(batch, steps, -1))
        emissions = self.output(self.rnn(torch.cat(parts, dim=2), lengths))
        if not self.with_decoder:
            return emissions
        mask = torch.arange(words.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
        return self._decode(emissions, mask), emissions

    def _decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.decoding_scores()
        if scores is None:
            return emissions.argmax(dim=2) * mask.long()
        return self.decoder(scores.emissions(emissions), mask, scores.start, scores.transitions, scores.end)


def _example_inputs() -> tuple[torch.Tensor, ...]:
    words = torch.tensor([[2, 3, 4], [2, 3, PAD_ID]])
    chars = torch.tensor([[[2, 3], [2, 0], [3, 3]], [[2, 0], [3, 0], [0, 0]]])
    return words, torch.ones_like(words), chars, torch.tensor([3, 2])


def export_bytes(model: TaggerModel, decoder: bool = True) -> bytes:
    """The ONNX graph of `model` (from ids to label ids), as bytes.

    Without `decoder`, the graph stops at the emission scores (for tagger's own ONNX Runtime
    path, which decodes in NumPy): the scripted Viterbi becomes ONNX Loops whose backpointers
    ORT appends to a sequence, copied at each step, so its time grows with the square of the
    sentence (100,000 tokens: minutes), and ORT runs those loops even when only the
    emissions are fetched.
    """
    if model.char_lm is not None:
        raise TaggerError(
            "a model that reads a character language model (model.char_lm) has no ONNX form yet; "
            "tag it with the default engine (--runtime numpy) or --runtime torch"
        )
    require_onnx()
    buffer = io.BytesIO()
    axes = {"words": {0: "batch", 1: "time"}, "cases": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}
    axes["chars"] = {0: "batch", 1: "time", 2: "characters"}
    axes["emissions"] = {0: "batch", 1: "time"}
    if decoder:
        axes["labels"] = {0: "batch", 1: "time"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on deprecation and RNN batch order are not the user's
        exportable = ExportableTagger(model.cpu().eval(), decoder).eval()
        torch.onnx.export(
            exportable,
            _example_inputs(),
            buffer,
            input_names=list(INPUTS),
            output_names=list(OUTPUTS) if decoder else ["emissions"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter turns the scripted Viterbi loops into ONNX Loops
        )
    return buffer.getvalue()


def graph_inputs(graph: bytes) -> list[str]:
    """The input names the exported graph takes (the exporter drops inputs a model does not use)."""
    import onnx

    return [node.name for node in onnx.load_from_string(graph).graph.input]


def chain_scores(model: TaggerModel) -> dict:
    """The scores that turn the graph's `emissions` into the model's chain (see posterior.py), constraints included."""
    scores = model.decoding_scores()
    if scores is None:  # softmax without a scheme: every transition scores 0
        size = len(model.labels)
        return {"emissions": "log_softmax", "start": [0.0] * size, "transitions": [[0.0] * size] * size, "end": [0.0] * size}
    return {
        "emissions": "log_softmax" if scores.log_softmax else "as output",
        "start": scores.start.tolist(),
        "transitions": scores.transitions.tolist(),
        "end": scores.end.tolist(),
    }


def sidecar(vocab: Vocab, scheme: str | None, inputs: list[str], model: TaggerModel | None = None) -> dict:
    """vocab.json plus what a consumer outside Python needs to build the inputs (and, given the model, its chain).

    A model with a frozen pretrained table lists its words: a token outside `words` whose
    word (lowercased with `table_lowercase`) is the table's row r gets the id len(words) + r.
    """
    table = {} if vocab.table is None else {"table_words": vocab.table.symbols, "table_lowercase": vocab.table_lowercase}
    return {
        **vocab.to_json(),
        **table,
        "onnx": {
            "inputs": inputs,
            "output": "labels",
            "padding_id": PAD_ID,
            "unknown_id": UNKNOWN_ID,
            "case_classes": list(CASES),
            "max_word_characters": MAX_WORD_CHARS,
            "labels_scheme": scheme,
            "how": "see the README, section ONNX",
            **({"chain": chain_scores(model)} if model is not None else {}),
        },
    }


def quantized(graph: bytes) -> bytes:
    """The graph with int8 weights for its matrix products and recurrent layers (ONNX Runtime's dynamic quantization)."""
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="tagger-onnx-") as directory:
        source, target = Path(directory) / "model.onnx", Path(directory) / "model-int8.onnx"
        source.write_bytes(graph)
        logging.disable(logging.WARNING)  # its advice to pre-process image models goes to the root logger
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        return target.read_bytes()


def export(model_dir: str | Path, output: str | Path, force: bool = False, quantize: bool = False) -> tuple[Path, Path]:
    """Write `output` (.onnx, int8 weights with `quantize`) and its sidecar `output`.json (vocab.json's data, input notes)."""
    from tagger.files import check_output

    output = Path(output)
    side = output.with_name(output.name + ".json")
    for path in (output, side):
        check_output(str(path), [], force)
    loaded = load_model(resolve_model(model_dir), torch.device("cpu"))
    if len(loaded.model.heads):
        heads = ", ".join(loaded.task.head_names)
        raise TaggerError(
            f"{model_dir}: a model with several heads ({heads}) is not exported to ONNX; it tags with numpy or torch"
        )
    graph = export_bytes(loaded.model)
    inputs = graph_inputs(graph)
    if quantize:
        graph = quantized(graph)
    with atomic_output(output, "wb") as stream:
        stream.write(graph)
    with atomic_output(side) as stream:
        json.dump(sidecar(loaded.vocab, loaded.task.internal_scheme, inputs, loaded.model), stream, ensure_ascii=False)
    return output, side
