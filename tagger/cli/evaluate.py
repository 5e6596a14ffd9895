"""`tagger evaluate`, `tagger compare` and `tagger score`."""

from __future__ import annotations

import json
import os

import click

from tagger import choices
from tagger.cli.options import (
    batch_size_option,
    device_option,
    examples_option,
    force_option,
    format_option,
    html_option,
    label_column_option,
    mode_option,
    model_format_option,
    model_token_column_option,
    quiet_option,
    runtime_option,
    scheme_option,
    set_prediction_threads,
    threads_option,
    token_column_option,
)


def _print_reports(reports: list[dict], as_json: bool, markdown: bool) -> None:
    from tagger.reports import format_report, summary_table

    for report in reports:
        for warning in report.get("warnings", ()):
            click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(reports[0] if len(reports) == 1 else reports, ensure_ascii=False))
    elif markdown:
        click.echo(summary_table(reports, markdown=True))
    else:
        for report in reports:
            click.echo(format_report(report) + "\n")
        if len(reports) > 1:
            click.echo(summary_table(reports))


@click.command("evaluate")
@click.argument("model_dir", type=click.Path())
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object, or a list for several files).")
@click.option("--markdown", is_flag=True, help="Print one Markdown table row per file.")
@click.option("--output", default=None, help="Write the predictions here, in the input's format (one input file only).")
@html_option
@examples_option
@force_option
@batch_size_option
@device_option
@model_format_option
@model_token_column_option
@click.option("--label-column", default=None, help="Gold label column (default: the model's training column).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="CPU processes for prediction.")
@click.option("--head", default=None, help="Which head to score, of a model with several (default: its first).")
@click.option(
    "--ignore-type",
    "ignore_types",
    multiple=True,
    metavar="TYPE",
    help="Leave a span type out of the scores, gold and predicted (repeatable): for a file that does not annotate it.",
)
@mode_option
@scheme_option
@threads_option
@runtime_option
@quiet_option
def evaluate_command(
    model_dir: str,
    files: tuple[str, ...],
    as_json: bool,
    markdown: bool,
    output: str | None,
    html: str | None,
    examples: int,
    force: bool,
    batch_size: int,
    device: str,
    format_name: str | None,
    token_column: str | None,
    label_column: str | None,
    workers: int,
    head: str | None,
    ignore_types: tuple[str, ...],
    mode: str,
    scheme: str,
    threads: int | None,
    runtime: str,
    quiet: bool,
) -> None:
    """Predict the label column of FILES with MODEL_DIR and report the scores.

    FILES (or directories, or quoted patterns) are read in the model's training format and columns unless --format,
    --token-column or --label-column say otherwise. Span labels (NER, chunks) get
    precision, recall and F1 per type and averaged; every label column gets token
    accuracy, per-label scores and the most frequent errors.

    \b
    Examples:
      tagger evaluate runs/sample-ner corpora/sample-ner/test.conll
      tagger evaluate runs/conll03-ner eng.testa eng.testb --markdown
      tagger evaluate runs/ewt-upos en_ewt-ud-test.conllu --json --output predicted.conllu
      tagger evaluate runs/ner uner-test.iob2 --token-column 2 --label-column 3
      tagger evaluate runs/conll03-ner eng.testb --html report.html
      tagger evaluate en-ner btc.test --label-column 2 --ignore-type MISC
      tagger evaluate runs/pt-upos-ner pt_bosque-ud-test.iob2 --head ner
    """
    set_prediction_threads(threads, workers, runtime or choices.default_runtime(device))
    from tagger.evaluate import EvaluateOptions, evaluate_files
    from tagger.files import expand_inputs

    files = expand_inputs(list(files))
    if output is not None and len(files) > 1:
        raise click.UsageError("--output takes one input file")
    _check_html(html, files, force)
    if html is not None and output is not None and os.path.realpath(html) == os.path.realpath(output):
        raise click.UsageError("--output and --html name the same file; give each its own")
    if choices.runtime_problem(runtime, workers):
        raise click.UsageError(choices.runtime_problem(runtime, workers))
    options = EvaluateOptions(batch_size, mode, scheme.upper(), output, force, workers, examples, ignore_types)
    reports = evaluate_files(model_dir, files, options, format_name, token_column, label_column, device, runtime, head)
    if html is not None:
        from tagger.html_report import write_evaluation_report

        write_evaluation_report(html, reports, model_dir)
    _print_reports(reports, as_json, markdown)


def _check_html(html: str | None, inputs: list[str], force: bool) -> None:
    """Before any prediction: the report can be written and charts drawn."""
    if html is None:
        return
    from tagger.charts import require
    from tagger.files import check_output

    if html == "-":
        raise click.UsageError("--html needs a file name (standard output carries the text report)")
    check_output(html, inputs, force)
    require()


@click.command("compare")
@click.argument("models", nargs=-1, required=True, type=click.Path())
@click.option("--files", "files", multiple=True, required=True, help="A file to evaluate every model on (repeat for several).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--markdown", is_flag=True, help="Print a Markdown table.")
@html_option
@force_option
@batch_size_option
@device_option
@mode_option
@scheme_option
@threads_option
def compare_command(
    models: tuple[str, ...],
    files: tuple[str, ...],
    as_json: bool,
    markdown: bool,
    html: str | None,
    force: bool,
    batch_size: int,
    device: str,
    mode: str,
    scheme: str,
    threads: int | None,
) -> None:
    """Evaluate several MODELS on the same --files and compare them side by side.

    Each file is read the way each model was trained (format and columns). Prints the
    main score (span F1, or token accuracy) per model and file with the difference to
    the first model; --html adds per-label scores side by side, with charts.

    \b
    Examples:
      tagger compare runs/lstm runs/gru --files eng.testa --files eng.testb
      tagger compare runs/crf runs/softmax --files eng.testb --html cmp.html
    """
    set_prediction_threads(threads, runtime=choices.default_runtime(device))
    from tagger.compare import compare_model_files, comparison_table
    from tagger.evaluate import EvaluateOptions
    from tagger.files import expand_inputs

    paths = expand_inputs(list(files))
    _check_html(html, paths, force)
    options = EvaluateOptions(batch_size, mode, scheme.upper(), examples=0)
    comparison = compare_model_files(models, paths, options, device)
    if html is not None:
        from tagger.html_report import write_comparison_report

        write_comparison_report(html, comparison)
    if as_json:
        click.echo(json.dumps(comparison, ensure_ascii=False))
    else:
        click.echo(comparison_table(comparison, markdown))


@click.command("score")
@click.argument("gold", type=click.Path(allow_dash=True))
@click.argument("predicted", required=False, type=click.Path(allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@format_option
@token_column_option
@label_column_option
@mode_option
@scheme_option
def score_command(
    gold: str,
    predicted: str | None,
    as_json: bool,
    format_name: str | None,
    token_column: str,
    label_column: str | None,
    mode: str,
    scheme: str,
) -> None:
    """Score predictions without a model: GOLD PREDICTED, or one file in conlleval's layout.

    With one file, its last two columns are the gold and predicted labels (conlleval's
    input). With two, both must hold the same tokens; the label column is read from each.

    \b
    Examples:
      tagger score output.txt                      # token ... gold predicted
      tagger score eng.testb predicted.conll --json
      tagger score gold.conllu pred.conllu --label-column upos
    """
    from tagger.evaluate import score_conlleval_file, score_files

    if predicted is None:
        report = score_conlleval_file(gold, mode, scheme.upper())
    else:
        report = score_files(gold, predicted, label_column, format_name, mode, scheme.upper(), token_column)
    _print_reports([report], as_json, markdown=False)
