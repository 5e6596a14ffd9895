"""The `tagger` command line: argument parsing only; the work is done by library calls.

Exit codes: 0 success, 1 failure of the task itself, 2 usage errors and bad input.
"""
from __future__ import annotations

import json
import sys

import click

from tagger.errors import TaggerError

FORMAT_CHOICE = click.Choice(["conll", "conllu"])


class TaggerGroup(click.Group):
    """A click group that turns user-fixable errors into one line on stderr and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TaggerError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(2)
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(1)


@click.group(cls=TaggerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tagger")
def main() -> None:
    """Train, evaluate and run BiLSTM/BiGRU sequence taggers (POS, NER) on CoNLL data.

    \b
    Examples:
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
    "--to", "scheme", required=True, type=click.Choice(["iob1", "iob2", "iobes", "bioes"], case_sensitive=False),
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
