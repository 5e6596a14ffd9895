"""`tagger info`, `tagger models` and `tagger corpora` (stats, convert): what models and corpora hold."""

from __future__ import annotations

import json

import click

from tagger import choices
from tagger.cli.group import TaggerGroup
from tagger.cli.options import (
    force_option,
    format_option,
    label_column_option,
    token_column_option,
)


@click.group(cls=TaggerGroup)
def corpora() -> None:
    """Inspect and convert CoNLL and CoNLL-U corpora."""


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
    if result["ill_formed_tags"]:
        lines = ", ".join(map(str, result["ill_formed_lines"]))
        count = result["ill_formed_tags"]
        more = ", ..." if count > len(result["ill_formed_lines"]) else ""
        click.echo(f"ill-formed {count:,} I- tags after O or another type (line {lines}{more}), each starting a span")
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
    type=click.Choice([*choices.SCHEMES, "bioes"], case_sensitive=False),
    help="The span tagging scheme to write the label column in.",
)
@format_option
@token_column_option
@label_column_option
@force_option
def corpora_convert(
    source: str,
    target: str,
    scheme: str,
    format_name: str | None,
    token_column: str,
    label_column: str | None,
    force: bool,
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
    from tagger.formats import Layout

    layout = Layout(format_name, token_column, label_column)
    count = corpus_tools.convert_file(source, target, scheme, layout, force)
    if target != "-":
        click.echo(f"wrote {count:,} sentences to {target}", err=True)


@click.command("info")
@click.argument("model_dir", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info_command(model_dir: str, as_json: bool) -> None:
    """What MODEL_DIR is: task and columns, labels with their training counts, sizes, data, scores, versions.

    \b
    Examples:
      tagger info runs/sample-ner
      tagger info runs/sample-ner --json
    """
    from tagger.info import format_info, model_info

    info = model_info(model_dir)
    click.echo(json.dumps(info, ensure_ascii=False) if as_json else format_info(info))


@click.command("models")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the list, or the model's card.")
def models_command(name: str | None, as_json: bool) -> None:
    """List the models bundled with tagger, or print NAME's card (data, license, command, scores).

    A bundled model's name works wherever a model directory is taken; a directory of that
    name in the current directory takes precedence.

    \b
    Examples:
      tagger models
      tagger models en-ner
      echo "Maria Lopez flew to Oslo ." | tagger tag en-upos,en-ner --output-format inline
    """
    from tagger import bundled

    if name is None:
        rows = bundled.listing()
        click.echo(json.dumps(rows, ensure_ascii=False) if as_json else bundled.format_listing(rows))
    else:
        click.echo(json.dumps(bundled.card(name), ensure_ascii=False) if as_json else bundled.card_markdown(name).rstrip())
