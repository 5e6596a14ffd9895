"""The reference engine: a trained TaggerModel in PyTorch (any device), or its ONNX export through ONNX Runtime.

Training, `calibrate`, `export` and `--runtime torch|onnx|onnx-int8` label through it; it
takes the same array batches as the NumPy engine and gives back NumPy arrays, so what
follows decoding (label probabilities, confidences, n-best) is shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from tagger.batching import ArrayBatch, tensor_batch
from tagger.decoding import ChainScores
from tagger.errors import TaggerError
from tagger.model import TaggerModel

if TYPE_CHECKING:
    from tagger.onnx_runtime import OnnxRunner


def choose_device(name: str) -> torch.device:
    """cpu, cuda, or auto (cuda when available)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TaggerError("--device cuda: no CUDA device is available on this machine")
    return torch.device(name)


class TorchEngine:
    """Emissions and decoded labels from a TaggerModel, or from ONNX Runtime after `use_onnx`."""

    name = "torch"

    def __init__(self, model: TaggerModel, device: torch.device, head: str | None = None) -> None:
        self.model = model
        self.device = device
        self.head = head  # which head it decodes, of a model with several (None: the first)
        self.onnx: OnnxRunner | None = None

    def for_head(self, head: str, labels: list[str], scheme: str | None) -> TorchEngine:
        """An engine over the same model that decodes another head (torch only)."""
        if self.onnx is not None:
            raise TaggerError("a model with several heads is not exported to ONNX: use --runtime numpy or torch")
        return TorchEngine(self.model, self.device, head)

    def use_onnx(self, threads: int | None = None, quantize: bool = False) -> None:
        """Predict through ONNX Runtime on the CPU with this model exported in memory (nothing is written)."""
        from tagger.onnx_export import export_bytes, quantized
        from tagger.onnx_runtime import OnnxRunner

        if self.device.type != "cpu":
            raise TaggerError("--runtime onnx runs on the CPU; leave out --device cuda")
        if len(self.model.heads):
            raise TaggerError("a model with several heads is not exported to ONNX: use --runtime numpy or torch")
        graph = export_bytes(self.model, decoder=False)  # decoded in NumPy: linear in the sentence's length
        self.onnx = OnnxRunner(quantized(graph) if quantize else graph, threads, self.chain_scores())
        self.name = "onnx-int8" if quantize else "onnx"

    def chain_scores(self) -> ChainScores | None:
        scores = self.model.decoding_scores(self.head)
        if scores is None:
            return None
        start, transitions, end = (part.detach().float().cpu().numpy() for part in (scores.start, scores.transitions, scores.end))
        return ChainScores(start, transitions, end, scores.log_softmax)

    def states(self, batch: ArrayBatch) -> torch.Tensor:
        """The encoder's states (batch, time, 2 * hidden) on the device, to decode several heads from one pass."""
        with torch.inference_mode():
            was_training = self.model.training
            self.model.eval()
            states = self.model.encode(tensor_batch(batch).to(self.device))
            self.model.train(was_training)
        return states

    def decode(
        self, batch: ArrayBatch, with_emissions: bool, states: torch.Tensor | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Label ids (batch, time) and, if asked, emission scores (batch, time, labels) in float32."""
        tensors = tensor_batch(batch)
        if self.onnx is not None:
            decoded, emissions = self.onnx.decode(tensors, with_emissions)
            return decoded.numpy(), emissions.numpy() if emissions is not None else None
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            tensors = tensors.to(self.device)
            states = self.model.encode(tensors) if states is None else states
            emissions = self.model.head_emissions(states, self.head)
            decoded = self.model.decode(emissions, tensors.mask, self.head)
        self.model.train(was_training)
        return decoded.cpu().numpy(), emissions.float().cpu().numpy() if with_emissions else None
