"""`tagger benchmark speed` and `tagger benchmark train`."""

from __future__ import annotations

import json

import click

from tagger import choices
from tagger.cli.group import TaggerGroup
from tagger.cli.options import (
    device_option,
    model_token_column_option,
    set_threads,
)
from tagger.world import set_blas_threads, set_engine_threads


@click.group(cls=TaggerGroup)
def benchmark() -> None:
    """Measure tagging and training speed on this machine."""


@benchmark.command("speed")
@click.argument("model_dir", type=click.Path())
@click.argument("file", type=click.Path(allow_dash=False))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1))
@device_option
@click.option("--passes", default=5, show_default=True, type=click.IntRange(1), help="Timed passes (median reported).")
@click.option(
    "--input-format",
    type=click.Choice(choices.INPUT_FORMATS),
    default=None,
    help="Format of FILE (default: the model's training format).",
)
@model_token_column_option
@click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads (default: torch's choice).")
@click.option(
    "--runtime",
    "runtimes",
    type=click.Choice(choices.RUNTIMES),
    multiple=True,
    help="numpy (the default on the CPU), torch (with --device cuda), onnx or onnx-int8; repeat to measure several "
    "in one run, with the ratio to the first.",
)
@click.option("--json", "as_json", is_flag=True)
def benchmark_speed(
    model_dir: str,
    file: str,
    batch_size: int,
    device: str,
    passes: int,
    input_format: str | None,
    token_column: str | None,
    threads: int | None,
    runtimes: tuple[str, ...],
    as_json: bool,
) -> None:
    """Tagging throughput of MODEL_DIR on FILE: tokens/s, sentences/s, load time, peak memory.

    \b
    Examples:
      tagger benchmark speed runs/conll03-ner ../shared/corpora/conll2003-en/eng.testb
      tagger benchmark speed runs/conll03-ner eng.testb --device cuda --batch-size 4096 --json
      tagger benchmark speed runs/conll03-ner eng.testb --runtime torch --runtime numpy --runtime onnx --batch-size 1
    """
    set_blas_threads(1)  # before NumPy is imported: the NumPy engine runs batches on threads of its own
    if threads:
        set_engine_threads(threads)
    from tagger.benchmark import compare_runtimes, format_result, tagging_speed

    runtimes = runtimes or (choices.default_runtime(device),)
    if threads and set(runtimes) - {"numpy"}:
        set_threads(threads)
    results = [
        tagging_speed(model_dir, file, batch_size, device, passes, input_format, token_column, runtime) for runtime in runtimes
    ]
    if as_json:
        click.echo(json.dumps(results[0] if len(results) == 1 else compare_runtimes(results)))
    else:
        click.echo("\n".join(format_result(result) for result in results))
        if len(results) > 1:
            ratios = compare_runtimes(results)["ratios"]
            click.echo("; ".join(f"{name} / {results[0]['runtime']}: {ratio:.2f}x" for name, ratio in ratios.items()))


@benchmark.command("train")
@click.argument("config_file", type=click.Path(dir_okay=False))
@click.option("--epochs", default=1, show_default=True, type=click.IntRange(1))
@click.option("--max-batches", default=None, type=click.IntRange(1), help="Stop each epoch after this many batches.")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config value.")
@click.option("--json", "as_json", is_flag=True)
def benchmark_train(config_file: str, epochs: int, max_batches: int | None, overrides: tuple[str, ...], as_json: bool) -> None:
    """Training throughput of CONFIG_FILE on this machine (tokens/s per epoch); writes nothing.

    \b
    Examples:
      tagger benchmark train configs/conll03-ner.toml
      tagger benchmark train configs/conll03-ner.toml --set train.batch_size=256 --set train.device=cuda --json
    """
    from tagger import config as config_module
    from tagger.benchmark import format_result, training_speed

    result = training_speed(config_module.load(config_file, list(overrides)), epochs, max_batches)
    click.echo(json.dumps(result) if as_json else format_result(result))
