"""Options that several commands share, and the thread settings of prediction and training."""

from __future__ import annotations

import click

from tagger import choices

FORMAT_CHOICE = click.Choice(choices.FORMATS)


DEVICE_CHOICE = click.Choice(choices.DEVICES)


format_option = click.option(
    "--format", "format_name", type=FORMAT_CHOICE, default=None, help="File format; detected from the content when not given."
)


token_column_option = click.option(
    "--token-column", default="1", show_default=True, help="Column of the tokens in column files, counted from 1."
)


model_token_column_option = click.option(
    "--token-column", default=None, help="Column of the tokens in column files (default: the model's training column)."
)


model_format_option = click.option(
    "--format", "format_name", type=FORMAT_CHOICE, default=None, help="File format (default: the model's training format)."
)


batch_size_option = click.option(
    "--batch-size", default=256, show_default=True, type=click.IntRange(1), help="Sentences per batch."
)


device_option = click.option("--device", type=DEVICE_CHOICE, default="auto", show_default=True)


runtime_option = click.option(
    "--runtime",
    type=click.Choice(choices.RUNTIMES),
    default=None,
    help="Predict with NumPy (the default on the CPU: torch is not loaded), PyTorch (the default with --device cuda), "
    "or ONNX Runtime on the CPU (onnx-int8: int8 weights; the onnx extra; exported in memory).",
)


force_option = click.option("--force", is_flag=True, help="Overwrite an existing output file (--output, --html).")


html_option = click.option(
    "--html", default=None, help="Also write a self-contained HTML report (charts, errors, examples) here."
)


examples_option = click.option(
    "--examples",
    default=5,
    show_default=True,
    type=click.IntRange(0),
    help="Example sentences per error category in --json/--html.",
)


threads_option = click.option(
    "--threads",
    type=click.IntRange(1),
    default=None,
    help="Torch threads (default: the cores not busy now, by the load average; 1 with --workers).",
)


quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no informational messages (warnings stay).")


label_column_option = click.option(
    "--label-column",
    default=None,
    help="Label column: a number or 'last' in column files (default: last); a field name "
    "(upos, xpos, deprel, ...) or MISC key in CoNLL-U (default: upos).",
)


mode_option = click.option(
    "--mode",
    type=click.Choice(choices.SCORING_MODES),
    default="conlleval",
    show_default=True,
    help="Span scoring: conlleval counts spans as conlleval does (default is an alias); strict (seqeval) "
    "needs well-formed tags of --scheme.",
)


scheme_option = click.option(
    "--scheme",
    type=click.Choice(choices.STRICT_SCHEMES, case_sensitive=False),
    default="IOB2",
    show_default=True,
    help="The tagging scheme seqeval's --mode strict checks the tags against (not the model's scheme).",
)


def set_prediction_threads(threads: int | None, workers: int = 1, runtime: str | None = "torch") -> None:
    """Threads for predicting: torch's for the torch runtimes; for NumPy, its BLAS pool's, where still unset."""
    from tagger.world import choose_threads, set_blas_threads, set_engine_threads

    count = choose_threads(threads, workers)
    if runtime in (None, "numpy"):
        set_blas_threads(1)  # the engine runs batches on `count` threads of its own; BLAS threads would compete
        set_engine_threads(count)
        return
    import torch

    torch.set_num_threads(count)


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        from tagger.world import bounded_threads

        torch.set_num_threads(bounded_threads(threads))
