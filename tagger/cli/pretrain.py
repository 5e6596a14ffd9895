"""`tagger pretrain` and `tagger vectors`: a character language model and word vectors from plain text."""

from __future__ import annotations

import math

import click

from tagger.cli.options import set_threads


@click.command("pretrain")
@click.argument("text_files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--out", default=None, help="Directory to write the language model to.")
@click.option("--resume", "resume_dir", default=None, help="Continue the pretraining run in this directory.")
@click.option("--steps", type=click.IntRange(1), default=None, help="Optimizer steps to plan (default: what fits --max-minutes).")
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None, help="Wall-clock bound of this process.")
@click.option("--hidden", type=click.IntRange(1, 8192), default=256, show_default=True, help="LSTM units per direction.")
@click.option("--dim", type=click.IntRange(1, 8192), default=32, show_default=True, help="Character embedding size.")
@click.option("--window", type=click.IntRange(2, 100_000), default=250, show_default=True, help="Characters per training window.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=32, show_default=True, help="Windows per step.")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=0.002, show_default=True, help="Adam's learning rate.")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True, help="Random seed (initial weights, windows).")
@click.option("--threads", type=click.IntRange(0), default=None, help="CPU threads (default: torch's choice).")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def pretrain_command(
    text_files: tuple[str, ...],
    out: str | None,
    resume_dir: str | None,
    steps: int | None,
    max_minutes: float | None,
    hidden: int,
    dim: int,
    window: int,
    batch_size: int,
    lr: float,
    seed: int,
    threads: int | None,
    quiet: bool,
) -> None:
    """Train a forward and a backward character LSTM language model on plain TEXT_FILES.

    A tagger reads it through a config's `model.char_lm = "DIR"`: each word gets the two
    models' states around it, frozen, beside its other features; the model directory
    keeps a copy of the weights it uses. Unlabelled text of the domain you tag (your
    posts, contracts, notes) is what it is for. Held-out perplexity is printed as it
    trains; --max-minutes bounds each process, and --resume continues the plan.

    \b
    Examples:
      tagger pretrain novels.txt.xz --out runs/lm-en --max-minutes 45 --threads 1
      tagger pretrain a.txt b.txt --out runs/lm --steps 20000 --max-minutes 45
      tagger pretrain --resume runs/lm --max-minutes 45
    """
    from tagger.pretrain import PretrainOptions, pretrain

    set_threads(threads)
    if resume_dir is not None:
        if text_files or out:
            raise click.UsageError("--resume continues a run with its own files and settings; leave out TEXT_FILES and --out")
        record = pretrain(resume_dir, None, show_progress=not quiet, max_minutes=max_minutes)
        target = resume_dir
    else:
        if not text_files or out is None:
            raise click.UsageError("name the TEXT_FILES and the --out directory (or --resume DIR)")
        options = PretrainOptions(
            files=list(text_files),
            hidden=hidden,
            dim=dim,
            window=window,
            batch_size=batch_size,
            lr=lr,
            steps=steps or 0,
            max_minutes=max_minutes or 0.0,
            seed=seed,
        )
        record = pretrain(out, options, show_progress=not quiet)
        target = out
    perplexity = record["held_out_perplexity"] or {"forward": math.inf, "backward": math.inf}
    click.echo(
        f"held-out perplexity forward {perplexity['forward']:.3f} backward {perplexity['backward']:.3f} "
        f"after {record['steps']:,} steps; language model in {target}",
        err=True,
    )


@click.command("vectors")
@click.argument("text_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", required=True, help="The word2vec text file to write (a config's model.vectors).")
@click.option(
    "--contractions-from",
    "contractions_from",
    multiple=True,
    metavar="CONLLU",
    help="A UD treebank's training file: split contractions as it does (repeatable).",
)
@click.option("--dim", type=click.IntRange(1, 4096), default=100, show_default=True, help="Vector size (the config's word_dim).")
@click.option("--window", type=click.IntRange(1, 100), default=5, show_default=True, help="Context words on each side.")
@click.option("--min-count", type=click.IntRange(1), default=3, show_default=True, help="Words seen fewer times get no vector.")
@click.option("--max-words", type=click.IntRange(0), default=0, help="At most the N most frequent words (0: all).")
@click.option("--epochs", type=click.IntRange(1, 1000), default=5, show_default=True, help="Passes over the text.")
@click.option("--cased", is_flag=True, help="Keep case (for a config with model.lowercase = false).")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True, help="Random seed.")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True, help="Worker threads.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out file.")
def vectors_command(text_files: tuple[str, ...], out: str, contractions_from: tuple[str, ...], **settings) -> None:
    """Train word vectors on plain TEXT_FILES for a tagger's `model.vectors`.

    Unlabelled text of the language or domain you tag gives the words of your labelled data,
    and the words it never saw, a start: a config names the file as `model.vectors` with
    `model.word_dim` equal to --dim. Words are read as `tagger tag` reads raw text; with a UD
    treebank's training file, contractions are split as the treebank splits them. Needs
    gensim (pip install 'tagger[vectors]').

    \b
    Examples:
      tagger vectors my-posts.txt --out runs/vectors-posts.txt
      tagger vectors novels-pt.txt.xz --contractions-from pt_bosque-ud-train.conllu --out runs/vectors-pt.txt
    """
    from tagger.files import check_output
    from tagger.vector_training import VectorOptions, train_vectors

    check_output(out, list(text_files), settings.pop("force"))
    lowercase = not settings.pop("cased")
    options = VectorOptions(list(text_files), out, list(contractions_from), lowercase=lowercase, **settings)
    record = train_vectors(options, lambda message: click.echo(message, err=True))
    click.echo(
        f"{record['words']:,} words x {record['dim']} from {record['tokens']:,} in {record['minutes']:.1f} min: {out}", err=True
    )
