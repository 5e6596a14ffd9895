"""Prediction through ONNX Runtime (the `tagger[onnx]` extra): a session over an exported graph.

The graph is built by onnx_export.py; this room only feeds it collated batches and reads
its two outputs, so choosing the runtime needs no exporter.
"""

from __future__ import annotations

import threading

import torch

from tagger.batching import Batch
from tagger.decoding import ChainScores, viterbi
from tagger.errors import TaggerError

OUTPUTS = ("labels", "emissions")
SIGNAL_POLL_SECONDS = 0.05  # how often the waiting main thread lets Python's signal handlers run
# How long an interrupted run may take to stop (it checks between nodes): a process that ends
# while a session still runs is aborted by ONNX Runtime (exit 134) instead of exiting 143.
SIGNAL_GRACE_SECONDS = 10.0


def require_onnx() -> None:
    """Fail with the extra to install when ONNX Runtime or the exporter's packages are missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise TaggerError("ONNX export and --runtime onnx need onnx and onnxruntime: pip install 'tagger[onnx]'") from None


def batch_inputs(batch: Batch) -> dict[str, torch.Tensor]:
    """The graph's inputs for a collated batch (its per-token character rows laid out per sentence)."""
    grid = batch.chars.new_zeros(*batch.words.shape, batch.chars.size(1))
    grid[batch.mask] = batch.chars
    return {"words": batch.words, "cases": batch.cases, "chars": grid, "lengths": batch.lengths}


class OnnxRunner:
    """An ONNX Runtime session on the CPU that labels collated batches like the PyTorch path.

    A graph without the `labels` output (export_bytes(decoder=False)) gives emissions, which
    `chain` decodes in NumPy (tagger.decoding, as the NumPy engine does).
    """

    def __init__(self, graph: bytes, threads: int | None = None, chain: ChainScores | None = None) -> None:
        require_onnx()
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: its notes on dynamic output shapes are not the user's concern
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.inputs = {node.name for node in self.session.get_inputs()}  # a model without characters has no `chars`
        self.decodes = "labels" in {node.name for node in self.session.get_outputs()}
        self.chain = chain

    def decode(self, batch: Batch, with_emissions: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Label ids (batch, time) for a batch on the CPU, and its emission scores (batch, time, labels) if asked."""
        feeds = {name: tensor.numpy() for name, tensor in batch_inputs(batch).items() if name in self.inputs}
        if not self.decodes:
            (emissions,) = self.run(["emissions"], feeds)
            lengths = batch.lengths.numpy()
            if self.chain is None:
                labels = emissions.argmax(axis=2) * batch.mask.numpy()
            else:
                labels = viterbi(self.chain.emissions(emissions), lengths, self.chain)
            return torch.from_numpy(labels), torch.from_numpy(emissions) if with_emissions else None
        if not with_emissions:
            (labels,) = self.run(["labels"], feeds)
            return torch.from_numpy(labels), None
        labels, emissions = self.run(list(OUTPUTS), feeds)
        return torch.from_numpy(labels), torch.from_numpy(emissions)

    def run(self, outputs: list[str], feeds: dict) -> list:
        """session.run in a thread of its own, so that Ctrl-C and SIGTERM are honoured while it runs.

        Python runs signal handlers in the main thread between bytecodes, never inside a C call:
        a run of tens of seconds (a sentence of 100,000 tokens) would hold the signal until it
        returned. The main thread waits here instead; on an interrupt it tells the run to stop
        (RunOptions.terminate), waits a moment for it, and raises the interrupt.
        """
        import onnxruntime

        options = onnxruntime.RunOptions()
        result: dict[str, object] = {}
        done = threading.Event()  # not Thread.join: a join that an interrupt cut short leaves is_alive() wrong

        def work() -> None:
            try:
                result["outputs"] = self.session.run(outputs, feeds, options)
            except Exception as error:  # noqa: BLE001 (handed to the main thread)
                result["error"] = error
            finally:
                done.set()

        threading.Thread(target=work, name="onnxruntime-run", daemon=True).start()
        try:
            while not done.wait(SIGNAL_POLL_SECONDS):
                pass
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM raised as Terminated
            options.terminate = True  # ONNX Runtime checks it between nodes
            done.wait(SIGNAL_GRACE_SECONDS)
            raise
        if "error" in result:
            raise result["error"]
        return result["outputs"]
