"""The `tagger` command line: argument parsing only; the work is done by library calls.

Exit codes: 0 success, 1 failure of the task itself, 2 usage errors and bad input.
"""

from __future__ import annotations

import json
import sys

import click

from tagger.errors import Interrupted, TaggerError

FORMAT_CHOICE = click.Choice(["conll", "conllu"])


class TaggerGroup(click.Group):
    """A click group that turns user-fixable errors into one line on stderr and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Interrupted as error:
            click.echo(f"{error}", err=True)
            ctx.exit(130)
        except TaggerError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(1)


@click.group(cls=TaggerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tagger")
def main() -> None:
    """Train, evaluate and run BiLSTM/BiGRU sequence taggers (POS, NER) on CoNLL data.

    \b
    Examples:
      tagger train configs/sample-ner.toml --out runs/sample-ner
      tagger corpora stats corpora/sample-ner/train.conll
      tagger corpora convert eng.train eng.train.iob2 --to iob2
    """


@main.group(cls=TaggerGroup)
def corpora() -> None:
    """Inspect and convert CoNLL and CoNLL-U corpora."""


format_option = click.option(
    "--format", "format_name", type=FORMAT_CHOICE, default=None, help="File format; detected from the content when not given."
)
token_column_option = click.option(
    "--token-column", default="1", show_default=True, help="Column of the tokens in column files, counted from 1."
)
label_column_option = click.option(
    "--label-column",
    default=None,
    help="Label column: a number or 'last' in column files (default: last); a field name "
    "(upos, xpos, deprel, ...) or MISC key in CoNLL-U (default: upos).",
)


@corpora.command("stats")
@click.argument("file", type=click.Path(dir_okay=True, allow_dash=True))
@format_option
@token_column_option
@label_column_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def corpora_stats(file: str, format_name: str | None, token_column: str, label_column: str | None, as_json: bool) -> None:
    """Count sentences, tokens, labels and entities of FILE ("-" reads stdin).

    \b
    Examples:
      tagger corpora stats corpora/sample-ner/train.conll
      tagger corpora stats en_ewt-ud-train.conllu --label-column xpos --json
    """
    from tagger import corpora as corpus_tools

    result = corpus_tools.stats(file, format_name, label_column, token_column).as_dict()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"sentences  {result['sentences']:,}")
    click.echo(f"tokens     {result['tokens']:,}")
    click.echo(f"labels     {len(result['labels'])} distinct")
    click.echo(f"scheme     {result['scheme'] or 'none (token labels)'}")
    if result["scheme"]:
        click.echo(f"entities   {result['entity_total']:,}")
        for label, count in result["entities"].items():
            click.echo(f"  {label:<12} {count:>9,}")
    click.echo("label counts:")
    for label, count in sorted(result["labels"].items(), key=lambda item: -item[1]):
        click.echo(f"  {label:<12} {count:>9,}")


@corpora.command("convert")
@click.argument("source", type=click.Path(allow_dash=True))
@click.argument("target", type=click.Path(allow_dash=True))
@click.option(
    "--to",
    "scheme",
    required=True,
    type=click.Choice(["iob1", "iob2", "iobes", "bioes"], case_sensitive=False),
    help="Target tagging scheme.",
)
@format_option
@token_column_option
@label_column_option
def corpora_convert(
    source: str, target: str, scheme: str, format_name: str | None, token_column: str, label_column: str | None
) -> None:
    """Write SOURCE to TARGET with the label column in another tagging scheme.

    Every other byte (other columns, comments, -DOCSTART- lines, line endings) is kept.
    TARGET is written atomically; "-" writes to stdout.

    \b
    Examples:
      tagger corpora convert eng.train eng.train.iob2 --to iob2
      tagger corpora convert ner.conll - --to iobes --label-column 2
    """
    from tagger import corpora as corpus_tools

    count = corpus_tools.convert(source, target, scheme, format_name, label_column, token_column)
    if target != "-":
        click.echo(f"wrote {count:,} sentences to {target}", err=True)


@main.command("train")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config value (repeatable).")
@click.option("--out", default=None, help="Model directory to write (default: the config's `out`).")
@click.option("--resume", "resume_dir", default=None, help="Continue the interrupted run in this directory.")
@click.option("--train", "train_file", default=None, help="Training file (instead of, or over, the config's).")
@click.option("--dev", "dev_file", default=None, help="Dev file for evaluation after each epoch and early stopping.")
@format_option
@label_column_option
@click.option("--cell", type=click.Choice(["lstm", "gru"]), default=None, help="Recurrent cell.")
@click.option("--crf/--no-crf", default=None, help="CRF output layer (default) or a softmax per token.")
@click.option("--epochs", type=int, default=None, help="Maximum number of epochs.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default=None, help="Where to train.")
@click.option("--threads", type=int, default=None, help="CPU threads (default: torch's choice).")
@click.option("--seed", type=int, default=None, help="Random seed; the same seed gives the same model on CPU.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_command(
    config_file: str | None,
    overrides: tuple[str, ...],
    out: str | None,
    resume_dir: str | None,
    train_file: str | None,
    dev_file: str | None,
    format_name: str | None,
    label_column: str | None,
    cell: str | None,
    crf: bool | None,
    epochs: int | None,
    device: str | None,
    threads: int | None,
    seed: int | None,
    quiet: bool,
) -> None:
    """Train a tagger from CONFIG_FILE (TOML) and/or flags; writes a model directory.

    The model directory holds config.json, vocab.json, model.safetensors, metrics.json,
    metrics.jsonl (one record per epoch) and checkpoint/ (to resume). Ctrl-C keeps the
    last finished epoch's checkpoint.

    \b
    Examples:
      tagger train configs/sample-ner.toml
      tagger train configs/conll03-ner.toml --set model.cell=gru --out runs/ner-gru
      tagger train --train train.conll --dev dev.conll --label-column 4 --epochs 10 --out runs/x
      tagger train --resume runs/ner
    """
    from tagger import training
    from tagger.training_setup import config_for_run

    flags = {
        "data.train": train_file,
        "data.dev": dev_file,
        "data.format": format_name,
        "data.label_column": label_column,
        "model.cell": cell,
        "model.crf": crf,
        "train.epochs": epochs,
        "train.device": device,
        "train.threads": threads,
        "train.seed": seed,
    }
    config, target = config_for_run(config_file, list(overrides), flags, out, resume_dir)
    metrics = training.train(config, target, resume=resume_dir is not None, show_progress=not quiet)
    click.echo(
        f"best dev {metrics['best_dev_metric']} {metrics['best_dev_score']:.2f} at epoch {metrics['best_epoch']}; "
        f"model in {target}",
        err=True,
    )
