"""The `tagger` command line: argument parsing only; the work is done by library calls.

Exit codes: 0 success, 1 an internal error (a bug: please report the traceback), 2 usage
errors and bad input, 130 Ctrl-C (SIGINT), 141 output pipe closed early, 143 SIGTERM.
One module per subject registers its commands here; none of them imports torch until a
command runs.
"""

from __future__ import annotations

import signal
import warnings

import click

from tagger.cli import benchmark, evaluate, models, pretrain, tag, train
from tagger.cli.group import TaggerGroup
from tagger.errors import Terminated


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


for command in (
    models.corpora,
    train.train_command,
    evaluate.evaluate_command,
    train.calibrate_command,
    pretrain.pretrain_command,
    pretrain.vectors_command,
    evaluate.compare_command,
    evaluate.score_command,
    tag.tag_command,
    tag.export_command,
    models.info_command,
    models.models_command,
    benchmark.benchmark,
):
    main.add_command(command)
