"""`tagger benchmark`: tagging and training throughput on this machine, reported for people and as JSON."""

from __future__ import annotations

import platform
import resource
import statistics
import sys
import time

from tagger.config import Config
from tagger.predict import Predictor
from tagger.tagging import read_input
from tagger.world import engine_threads


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _machine(device) -> dict:
    """Where a benchmark ran: a torch device (None: the NumPy engine on the CPU), its name and threads."""
    cpu = platform.processor() or platform.machine()
    if device is None:
        import numpy

        return {"device": "cpu", "device_name": cpu, "threads": engine_threads(), "numpy": numpy.__version__}
    import torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu
    return {"device": str(device), "device_name": name, "threads": torch.get_num_threads(), "torch": torch.__version__}


def _sync(device) -> None:
    if device is not None and device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def tagging_speed(
    model_dir: str,
    path: str,
    batch_size: int = 256,
    device: str = "auto",
    passes: int = 5,
    input_format: str | None = None,
    token_column: str | int | None = None,
    runtime: str | None = None,
) -> dict:
    """Tokens/s and sentences/s of tokens -> labels (encoding included), median of `passes` after a warm-up.

    FILE is read in the model's training format and token column unless `input_format` / `token_column` say otherwise.
    With `runtime` "onnx", the load time includes exporting the model in memory.
    """
    started = time.perf_counter()
    predictor = Predictor.load(model_dir, device, runtime)
    load_seconds = time.perf_counter() - started
    input_format = input_format or predictor.task.format
    layout = predictor.layout(input_format, token_column, labelled=False)
    sentences = [s.tokens for s in read_input(path, input_format, layout)]
    tokens = sum(map(len, sentences))
    predictor.predict(sentences[: batch_size * 2], batch_size)
    timings = []
    for _ in range(passes):
        _sync(predictor.device)
        begin = time.perf_counter()
        predictor.predict(sentences, batch_size)
        _sync(predictor.device)
        timings.append(time.perf_counter() - begin)
    seconds = statistics.median(timings)
    result = {
        "kind": "tag",
        "runtime": runtime,
        "model": model_dir,
        "file": path,
        "batch_size": batch_size,
        "sentences": len(sentences),
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "sentences_per_s": len(sentences) / seconds,
        "pass_seconds": timings,
        "load_seconds": load_seconds,
        "peak_rss_mib": _peak_rss_mib(),
        **_machine(predictor.device),
    }
    if predictor.device is not None and predictor.device.type == "cuda":
        import torch

        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated(predictor.device) / 2**20
    return result


def compare_runtimes(results: list[dict]) -> dict:
    """Several runtimes' results on the same model and file, with tokens/s of each relative to the first."""
    first = results[0]["tokens_per_s"]
    return {"results": results, "ratios": {r["runtime"]: r["tokens_per_s"] / first for r in results[1:]}}


def training_speed(config: Config, epochs: int = 1, max_batches: int | None = None) -> dict:
    """Training tokens/s per epoch for a config (no dev evaluation, nothing written)."""
    from tagger.training import prepare_run, set_process_state
    from tagger.training.epoch import run_epoch

    set_process_state(config)
    run = prepare_run(config, None, log=lambda message: None)
    items = run.train_items
    if max_batches is not None:
        items = items[: max_batches * config.train.batch_size]
    per_epoch = []
    for epoch in range(1, epochs + 1):
        _sync(run.device)
        loss, tokens, seconds, _ = run_epoch(run, epoch, items=items)
        _sync(run.device)
        per_epoch.append({"epoch": epoch, "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds, "loss": loss})
    return {
        "kind": "train",
        "batch_size": config.train.batch_size,
        "epochs": per_epoch,
        "tokens_per_s": statistics.median(e["tokens_per_s"] for e in per_epoch),
        "peak_rss_mib": _peak_rss_mib(),
        **_machine(run.device),
    }


def format_result(result: dict) -> str:
    lines = [
        f"{result['kind']}{' with ' + result['runtime'] if 'runtime' in result else ''} on {result['device']} "
        f"({result['device_name']}, {result['threads']} threads), "
        f"batch size {result['batch_size']}"
    ]
    if result["kind"] == "tag":
        lines.append(
            f"{result['tokens_per_s']:,.0f} tokens/s, {result['sentences_per_s']:,.0f} sentences/s "
            f"(median of {len(result['pass_seconds'])} passes over {result['tokens']:,} tokens)"
        )
        lines.append(f"model load {result['load_seconds']:.2f}s, peak RSS {result['peak_rss_mib']:,.0f} MiB")
    else:
        for epoch in result["epochs"]:
            lines.append(f"epoch {epoch['epoch']}: {epoch['tokens_per_s']:,.0f} tokens/s, {epoch['seconds']:.1f}s")
        lines.append(f"peak RSS {result['peak_rss_mib']:,.0f} MiB")
    return "\n".join(lines)
