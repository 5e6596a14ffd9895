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

    def __init__(self, model: TaggerModel, device: torch.device) -> None:
        self.model = model
        self.device = device
        self.onnx: OnnxRunner | None = None

    def use_onnx(self, threads: int | None = None, quantize: bool = False) -> None:
        """Predict through ONNX Runtime on the CPU with this model exported in memory (nothing is written)."""
        from tagger.onnx_export import export_bytes, quantized
        from tagger.onnx_runtime import OnnxRunner

        if self.device.type != "cpu":
            raise TaggerError("--runtime onnx runs on the CPU; leave out --device cuda")
        graph = export_bytes(self.model, decoder=False)  # decoded in NumPy: linear in the sentence's length
        self.onnx = OnnxRunner(quantized(graph) if quantize else graph, threads, self.chain_scores())
        self.name = "onnx-int8" if quantize else "onnx"

    def chain_scores(self) -> ChainScores | None:
        scores = self.model.decoding_scores()
        if scores is None:
            return None
        start, transitions, end = (part.detach().float().cpu().numpy() for part in (scores.start, scores.transitions, scores.end))
        return ChainScores(start, transitions, end, scores.log_softmax)

    def decode(self, batch: ArrayBatch, with_emissions: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Label ids (batch, time) and, if asked, emission scores (batch, time, labels) in float32."""
        tensors = tensor_batch(batch)
        if self.onnx is not None:
            decoded, emissions = self.onnx.decode(tensors, with_emissions)
            return decoded.numpy(), emissions.numpy() if emissions is not None else None
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            tensors = tensors.to(self.device)
            emissions = self.model(tensors)
            decoded = self.model.decode(emissions, tensors.mask)
        self.model.train(was_training)
        return decoded.cpu().numpy(), emissions.float().cpu().numpy() if with_emissions else None
