"""`tagger tag` and `tagger export`."""

from __future__ import annotations

import click

from tagger import choices
from tagger.cli.options import (
    batch_size_option,
    device_option,
    force_option,
    model_token_column_option,
    quiet_option,
    runtime_option,
    set_prediction_threads,
    threads_option,
)


@click.command("tag")
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
@click.option(
    "--scores",
    "with_scores",
    is_flag=True,
    help="Add each token's label probability, as before --confidence (jsonl output only).",
)
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
    "scheme",
    type=click.Choice(["IOB1", "IOB2", "IOBES"], case_sensitive=False),
    default=None,
    help="Scheme of span labels (NER): default IOB2 for text and tokens input, the model's training scheme for column files.",
)
@threads_option
@runtime_option
@quiet_option
def tag_command(model_dir: str, files: tuple[str, ...], output: str, device: str, threads: int | None, **options: object) -> None:
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
    runtime = options["runtime"] or choices.default_runtime(device)
    set_prediction_threads(threads, options["workers"], runtime)  # before numpy is imported: it sets BLAS's pool
    from tagger.tagging import TagOptions, tag_files

    tag_files(model_dir, list(files) or ["-"], output, TagOptions(**options), device)


@click.command("export")
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
