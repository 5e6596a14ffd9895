"""Making a bundled model from a trained run directory: compact weights, scores, card (maintainers' tool).

Outside the installed package; the text of each model's card is data, in tools/bundles/NAME.toml.

    python tools/bundle.py en-ner RUN_DIR --command "tagger train ..."

copies the run's config, vocabulary and metrics, stores the weights in float16 when
that moves the test score by at most 0.05 points (float32 otherwise), scores dev and
test with the bundled copy as `tagger evaluate` does, and writes card.json and CARD.md.
A run trained with a named vector source (tune_vectors "seen") reads, once bundled, the
shared table `models/shared/<source>-top<K>k.safetensors`: the source's K most frequent
words (written when missing), which every bundled model of that source shares; its own
training words keep their trained rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from tagger.bundled import BUNDLED_DIR, CARD_JSON, CARD_MARKDOWN, SHARED_DIR, SHARED_TABLE
from tagger.config import DataConfig, TrainingCorpus, dev_corpora, read_toml, training_corpora
from tagger.contractions import CONTRACTIONS
from tagger.evaluate import EvaluateOptions, evaluate_file
from tagger.info import model_info
from tagger.metrics import main_metric
from tagger.model_files import CALIBRATION, describe_network, read_json_object
from tagger.predict import Predictor
from tagger.store import CONFIG, METRICS, VOCAB, WEIGHTS, load_model, save_table, uses_table, write_json, write_weights
from tagger.task import Task
from tagger.training.data import read_dev_set
from tagger.vector_sources import NAMED_SOURCES
from tagger.vectors import VectorTable, load_table

MAX_SCORE_CHANGE = 0.05  # points of the test score that compact storage may cost
# GloVe's rows are in frequency order; the bundled models read its most frequent words. Measured
# with en-ner (run of configs/conll03-btc-ner-glove.toml, seed 1) on eng.testb / btc.test F1:
# 100k words 90.23 / 72.45 (11 MB), 150k 90.33 / 72.60, 180k 90.42 / 72.62 (20 MB), 250k 90.51 /
# 72.69 (28 MB), all 400k 90.58 / 72.79 (45 MB). 180k is the most that fits the 30 MB budget of
# the two bundled models together.
SHARED_TABLE_WORDS = 180_000
TOKENIZATION = (
    "Raw text goes through tagger's rule-based tokenizer (`tagger tag`, input format text), which "
    "follows the training corpora's conventions: punctuation split off, don't -> do n't, it's -> it 's; "
    "URLs, e-mail addresses, numbers with separators, abbreviations, @user and #hashtag kept whole; "
    "sentences split after . ! or ? when what follows starts a new sentence. Pre-tokenized input "
    "(--input-format tokens, conll, conllu) is taken as it is. "
)
SPECS_DIR = Path(__file__).with_name("bundles")  # one TOML file per bundled model: its card's text


def load_specs(directory: Path = SPECS_DIR) -> dict[str, dict]:
    """The bundle specs by model name; each card's conventions start with the tokenizer's."""
    specs = {}
    for path in sorted(directory.glob("*.toml")):
        spec = read_toml(path)
        spec["conventions"] = TOKENIZATION + spec["conventions"]
        specs[path.stem] = spec
    return specs


SPECS = load_specs()


def compact_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's tensors with float32 ones stored as float16 (loading casts them back)."""
    return {name: tensor.half() if tensor.dtype == torch.float32 else tensor for name, tensor in model.state_dict().items()}


@dataclass(frozen=True)
class ScoredFile:
    """A labelled file the card scores: its split, how to read it, the types it leaves out."""

    split: str  # "dev" or "test"
    path: str
    label_column: str | None = None  # None: the model's own
    ignore_types: tuple[str, ...] = ()
    token_column: int | None = None  # None: the model's own
    mapped: bool = False  # a copy of a dev file with its types renamed as training renamed them
    head: str | None = None  # the head that labels it, of a model with several (None: the first)


def scored_files(data: DataConfig, task: Task, spec: dict, mapped_dir: Path) -> list[ScoredFile]:
    """The run's dev files read as training read them, its test file, and the spec's other test files.

    A dev file whose entry renames types (label_map) is scored from a copy with its labels
    mapped as training mapped them, written into `mapped_dir` under the same name.
    """
    train = training_corpora(data) if data.train else None
    files = [_dev_file(corpus, data, task, mapped_dir) for corpus in dev_corpora(data, train)]
    files.append(ScoredFile("test", data.test))
    return files + [
        ScoredFile(
            "test",
            extra["path"],
            extra.get("label_column"),
            tuple(extra.get("ignore_types", ())),
            extra.get("token_column"),
            head=extra.get("head"),
        )
        for extra in spec.get("more_tests", ())
    ]


def _dev_file(corpus: TrainingCorpus, data: DataConfig, task: Task, mapped_dir: Path) -> ScoredFile:
    head = corpus.head if task.heads else None
    if not corpus.label_map:
        column = corpus.label_column or None
        return ScoredFile("dev", corpus.path, column, tuple(corpus.unannotated), _own_column(corpus, data), head=head)
    task = task.head(head or "")
    dev = read_dev_set(corpus, task.format, "gold", task.spans, log=lambda message: None)
    copy = mapped_dir / Path(corpus.path).name
    with open(copy, "w", encoding="utf-8") as stream:
        for sentence in dev.sentences:
            stream.writelines(f"{token}\t{label}\n" for token, label in zip(sentence.tokens, sentence.labels["gold"]))
            stream.write("\n")
    return ScoredFile("dev", str(copy), "2", tuple(corpus.unannotated), 1, mapped=True, head=head)


def _own_column(corpus: TrainingCorpus, data: DataConfig) -> int | None:
    """A dev file's token column where it is not the model's (data.token_column), else None."""
    return corpus.token_column if corpus.token_column != data.token_column else None


def _report(predictor: Predictor, file: ScoredFile) -> dict:
    predictor = predictor.head(file.head) if file.head else predictor
    named = file.label_column or file.token_column
    layout = predictor.layout(token_column=file.token_column, label_column=file.label_column) if named else None
    return evaluate_file(predictor, file.path, layout, EvaluateOptions(ignore_types=file.ignore_types))


def _score_entry(file: ScoredFile, report: dict, spec: dict) -> dict:
    metric = main_metric(report) if file.head else spec["metric"]
    scorer = spec.get("head_scorers", {}).get(file.head, spec["scorer"])  # a model with several heads: per head
    if file.mapped:
        scorer = f"{scorer}, its types mapped as training mapped them (the config's label_map)"
    if file.ignore_types:
        scorer = f"{scorer}, {', '.join(file.ignore_types)} left out (tagger evaluate --ignore-type)"
    entry = {"metric": metric, "value": round(float(report[metric]), 4), "file": Path(file.path).name, "scorer": scorer}
    coverage = {key: round(report[key], 4) for key in ("unknown_tokens", "pretrained_only_tokens") if key in report}
    return {**entry, **coverage}


def bundle(name: str, run_dir: Path, command: str, target_root: Path = BUNDLED_DIR) -> Path:
    """Make `target_root/NAME` from a trained run directory; returns the new directory."""
    spec = SPECS[name]
    config, _, task, model = load_model(run_dir)
    with tempfile.TemporaryDirectory(prefix="tagger-bundle-") as mapped_dir:
        files = scored_files(config.data, task, spec, Path(mapped_dir))
        test = next(file for file in files if file.split == "test")
        target = target_root / name
        staging = target_root / f".{name}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for file in (CONFIG, VOCAB, METRICS, CALIBRATION, CONTRACTIONS):
            if file not in (CALIBRATION, CONTRACTIONS) or (run_dir / file).exists():
                shutil.copyfile(run_dir / file, staging / file)
        vectors = _share_vectors(config.model.vectors, staging) if uses_table(config) else None
        staged, test_report, storage = _store_weights(model, run_dir, staging, test, spec["metric"])
        entries = [(file, _score_entry(file, test_report if file == test else _report(staged, file), spec)) for file in files]
        first = {split: next(entry for file, entry in entries if file.split == split) for split in ("dev", "test")}
        more = [{"split": file.split, **entry} for file, entry in entries if entry is not first[file.split]]
        scores = {**first, "more": more}
        _record_test(staging, test.path, test_report)
        card = _card(name, spec, staging, command, scores, storage, vectors)
        write_json(staging / CARD_JSON, card)
        (staging / CARD_MARKDOWN).write_text(card_markdown(card), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        return target


def shared_table_name(source: str, words: int) -> str:
    return f"{source}-top{words // 1000}k"


def top_words(table: VectorTable, words: int) -> VectorTable:
    """The first `words` rows of a table in frequency order (as GloVe's are)."""
    source = f"{table.source} ({words:,} most frequent words)"
    return VectorTable(table.words[:words], table.matrix[:words].clone(), source, table.lowercase)


def _share_vectors(source: str, staging: Path) -> dict:
    """vectors.json naming the shared table of `source` (written when missing); the card's vectors entry."""
    if source not in NAMED_SOURCES:
        raise SystemExit(f"{source}: a bundled model's vectors must come from a named source ({', '.join(NAMED_SOURCES)})")
    name = shared_table_name(source, SHARED_TABLE_WORDS)
    path = SHARED_DIR / f"{name}.safetensors"
    if not path.is_file():
        SHARED_DIR.mkdir(parents=True, exist_ok=True)
        save_table(path, top_words(load_table(source, lowercase=True), SHARED_TABLE_WORDS))
    write_json(staging / SHARED_TABLE, {"shared": name})
    return {
        "source": source,
        "attribution": NAMED_SOURCES[source].attribution,
        "shared_table": f"tagger/models/shared/{path.name}",
        "table_words": SHARED_TABLE_WORDS,
        "table_bytes": path.stat().st_size,
    }


def _store_weights(
    model: torch.nn.Module, run_dir: Path, staging: Path, test: ScoredFile, metric: str
) -> tuple[Predictor, dict, str]:
    """float16 weights in `staging` unless they move the test score too far.

    Both precisions are scored as bundled (with the shared vector table, if the model reads one).
    Returns a predictor holding the stored weights, their test report and a line saying how they are stored.
    """
    shutil.copyfile(run_dir / WEIGHTS, staging / WEIGHTS)
    full_predictor = Predictor.load(staging, "cpu")
    full = _report(full_predictor, test)
    write_weights(staging / WEIGHTS, compact_weights(model))
    compact_predictor = Predictor.load(staging, "cpu")
    compact = _report(compact_predictor, test)
    if abs(compact[metric] - full[metric]) <= MAX_SCORE_CHANGE:
        stored = f"weights stored as float16 (test {metric} {compact[metric]:.2f}; {full[metric]:.2f} in float32)"
        return compact_predictor, compact, stored
    shutil.copyfile(run_dir / WEIGHTS, staging / WEIGHTS)
    stored = f"weights in float32 (float16 would move test {metric} from {full[metric]:.2f} to {compact[metric]:.2f})"
    return full_predictor, full, stored


def _record_test(directory: Path, test: str, report: dict) -> None:
    """metrics.json's test entry as the bundled weights score it (what `tagger info` shows)."""
    metrics = json.loads((directory / METRICS).read_text(encoding="utf-8"))
    keys = ("precision", "recall", "f1", "accuracy")
    metrics["test"] = {"file": test, **{key: round(report[key], 4) for key in keys if key in report}}
    write_json(directory / METRICS, metrics)


def _card(name: str, spec: dict, directory: Path, command: str, scores: dict, storage: str, vectors: dict | None) -> dict:
    info = model_info(directory)
    metrics = json.loads((directory / METRICS).read_text(encoding="utf-8"))
    settings = info["model_settings"]
    return {
        "name": name,
        "task": spec["task"],
        "labels": _label_types(info, directory),
        "languages": spec["languages"],
        "data": spec["data"],
        "command": command,
        "commit": metrics["versions"]["commit"],
        "versions": metrics["versions"],
        "best_epoch": metrics["best_epoch"],
        "epochs_run": metrics["epochs_run"],
        **({"kept_epoch": metrics["kept_epoch"]} if "kept_epoch" in metrics else {}),
        "scores": scores,
        "architecture": describe_network(settings),
        "conventions": spec["conventions"],
        "vectors": vectors,
        "size": {
            "bytes": sum(path.stat().st_size for path in directory.iterdir() if path.is_file()),
            "parameters": info["sizes"]["parameters"],
            "words": info["sizes"]["words"],
            "storage": storage,
        },
    }


def _label_types(info: dict, directory: Path) -> list[str]:
    """The labels a model writes, span types without their prefixes; every head's, for a model with several."""
    labels = set(info["labels"])
    for head_labels in read_json_object(directory / VOCAB).get("heads", {}).values():
        labels.update(head_labels)
    return sorted({label.split("-", 1)[-1] for label in labels if label != "O"})


def _kept(card: dict) -> str:
    """Which epoch's weights the model holds: the best dev epoch's, or the last one's (train.keep = "last")."""
    best = f"best dev at epoch {card['best_epoch']} of {card['epochs_run']}"
    kept = card.get("kept_epoch", card["best_epoch"])
    last = f'the weights of epoch {kept} of {card["epochs_run"]} (train.keep = "last")'
    return best if kept == card["best_epoch"] else f"{last}; {best}"


def card_markdown(card: dict) -> str:
    """The card as a short Markdown file."""
    data, dev, test = card["data"], card["scores"]["dev"], card["scores"]["test"]
    return "\n".join(
        [
            f"# {card['name']}: {card['task']}",
            "",
            f"Labels: {', '.join(card['labels'])}. Languages: {', '.join(card['languages'])}.",
            "",
            "## Data and license",
            f"- Corpus: {data['corpus']}",
            f"- Trained on {data['train']}; model chosen on {data['model_choice']}; tested on {data['test']}.",
            f"- License: {data['license']}. {data['terms']}",
            *_vectors_markdown(card.get("vectors")),
            "",
            "## Scores",
            *[
                f"- {split} ({entry['file']}): {entry['metric']} {entry['value']:.2f}; {entry['scorer']}{_coverage(entry)}"
                for split, entry in [("dev", dev), ("test", test)]
                + [(more["split"], more) for more in card["scores"].get("more", [])]
            ],
            "",
            "## How it was made",
            f"- {card['architecture']}; {_kept(card)}.",
            f"- Command: `{card['command']}`",
            f"- Commit: {card['commit']} (torch {card['versions']['torch']}, Python {card['versions']['python']})",
            f"- Size: {card['size']['bytes'] / 2**20:.1f} MB, {card['size']['parameters']:,} parameters, "
            f"{card['size']['words']:,} words; {card['size']['storage']}.",
            "",
            "## Input conventions",
            card["conventions"],
            "",
        ]
    )


def _coverage(entry: dict) -> str:
    if "pretrained_only_tokens" not in entry:
        return ""
    return (
        f" (tokens outside the training words found in the vectors {entry['pretrained_only_tokens']:.1%}, "
        f"unknown {entry['unknown_tokens']:.1%})"
    )


def _vectors_markdown(vectors: dict | None) -> list[str]:
    if not vectors:
        return []
    return [
        f"- Vectors: {vectors['attribution']}. The training words' rows start from them and are trained; every "
        f"other word looks itself up, lowercased, in the {vectors['table_words']:,} most frequent GloVe words, frozen "
        f"(`{vectors['shared_table']}`, {vectors['table_bytes'] / 2**20:.1f} MB, shared by the bundled models that "
        "use these vectors). Tagging needs neither the glove extra nor pyarrow."
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python tools/bundle.py", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(SPECS))
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--command", required=True, help="The command that trained RUN_DIR, for the card.")
    arguments = parser.parse_args(argv)
    target = bundle(arguments.name, arguments.run_dir, arguments.command)
    print(json.dumps(json.loads((target / CARD_JSON).read_text(encoding="utf-8"))["scores"]), file=sys.stderr)


if __name__ == "__main__":
    main()
