"""The names a user may choose from (formats, devices, cells, schemes): one torch-free home for the CLI and the library."""

from __future__ import annotations

CONLL, CONLLU = "conll", "conllu"
FORMATS = (CONLL, CONLLU)
INPUT_FORMATS = ("text", "tokens", *FORMATS)
OUTPUT_FORMATS = ("jsonl", "inline", *FORMATS)
DEVICES = ("cpu", "cuda", "auto")
CELLS = ("lstm", "gru")
CHAR_ENCODERS = ("cnn", "lstm", "none")
OPTIMIZERS = ("adam", "sgd")
SCHEMES = ("iob1", "iob2", "iobes")  # span tagging schemes (model.scheme, corpora convert --to)
STRICT_SCHEMES = ("IOB2", "IOBES")  # what seqeval's strict mode checks tags against
SCORING_MODES = ("conlleval", "strict", "default")  # default: the old name of conlleval
RUNTIMES = ("numpy", "torch", "onnx", "onnx-int8")  # onnx-int8: ONNX Runtime with int8 weights
TUNE_VECTORS = ("seen", "all")
KEEP = ("best", "last")  # train.keep: the weights of the best dev epoch, or of the last one


def default_runtime(device: str) -> str:
    """The engine a prediction uses unless told: torch on a GPU, else NumPy (no torch imported)."""
    return "torch" if device.startswith("cuda") else "numpy"


def runtime_problem(runtime: str, workers: int, torchrun: bool = False) -> str | None:
    """Why a runtime cannot run as asked, or None: ONNX Runtime labels in one process (the one check of it)."""
    if runtime in ("onnx", "onnx-int8") and (workers > 1 or torchrun):
        return "--runtime onnx runs in one process; give it --threads instead of --workers or torchrun"
    return None
