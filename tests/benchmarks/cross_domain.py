"""Cross-domain NER benchmark (not a test): a model on every labelled test set of a language in ../shared.

    python tests/benchmarks/cross_domain.py MODEL [MODEL ...] [--language en] [--json]

The test sets and the maps from their types to PER / LOC / ORG / MISC are data, in
tests/benchmarks/cross_domain.toml. Each file is read in its own columns, its types
mapped (a type the map leaves out becomes O), and scored with conlleval F1; a type the
model predicts but the file does not annotate (MISC where the map has none) is left out
of gold and predictions, as `tagger evaluate --ignore-type` does. One table per
language, one column per model; a file a model was trained or chosen on (its config's
train and dev files) is marked with *, and the mean is over the files no model in the
table was trained on, so that the columns compare.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

from tagger.config import dev_corpora, read_toml, training_corpora
from tagger.evaluate import EvaluateOptions, evaluate_file
from tagger.formats import CONLL, Layout, read_layout
from tagger.predict import Predictor
from tagger.schemes import OUTSIDE, split_tag

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT.parent / "shared" / "corpora"
SETS = Path(__file__).with_name("cross_domain.toml")


def mapped_tag(tag: str, type_map: dict[str, str], io: bool) -> str:
    """One gold tag in the model's types: B-politician -> B-PER, an unmapped type -> O; IO tags (PER, 0) -> I-PER, O."""
    if tag in (OUTSIDE, "0"):
        return OUTSIDE
    prefix, kind = ("I", tag) if io else split_tag(tag)
    target = type_map.get(kind)
    return OUTSIDE if target is None else f"{prefix}-{target}"


def mapped_copy(entry: dict, type_map: dict[str, str], target: Path) -> Path:
    """The test file as `token<TAB>tag` lines with its types mapped."""
    layout = Layout(CONLL, entry.get("token_column", 1), entry["label_column"])
    _, column, sentences = read_layout(str(CORPORA / entry["path"]), layout)
    io = entry.get("scheme") == "io"
    with open(target, "w", encoding="utf-8") as stream:
        for sentence in sentences:
            for token, tag in zip(sentence.tokens, sentence.labels[column]):
                stream.write(f"{token}\t{mapped_tag(tag, type_map, io)}\n")
            stream.write("\n")
    return target


def model_types(predictor: Predictor) -> set[str]:
    return {split_tag(label)[1] for label in predictor.vocab.labels.symbols if label != OUTSIDE and "-" in label}


def seen_files(predictor: Predictor) -> set[str]:
    """The names under ../shared/corpora of the files the model was trained or chosen on."""
    data = predictor.config.data
    paths = [corpus.path for corpus in training_corpora(data) + dev_corpora(data)]
    return {str(Path(path).resolve().relative_to(CORPORA.resolve())) for path in paths if "shared/corpora" in str(path)}


def scores(model: str, entries: list[dict], maps: dict, scratch: Path) -> list[float]:
    """Each file's F1, negated for a file the model was trained or chosen on."""
    predictor = Predictor.load(model, "cpu")
    seen = seen_files(predictor)
    layout = predictor.layout("conll", 1, "2")
    results = []
    for index, entry in enumerate(entries):
        type_map = maps[entry["map"]]
        copy = mapped_copy(entry, type_map, scratch / f"{index}.tsv")
        ignored = tuple(sorted(model_types(predictor) - set(type_map.values())))
        options = EvaluateOptions(ignore_types=ignored, calibration=False)
        f1 = evaluate_file(predictor, str(copy), layout, options)["f1"]
        results.append(-f1 if entry["path"] in seen else f1)  # negative: seen in training
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--language", default="en", help="the language's table in cross_domain.toml (en, sv, pt, hr, sr, sk, zh)")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")  # notes on '#' tokens read as tokens: the files are read as they are meant
    data = read_toml(SETS)
    entries = data[arguments.language]
    with tempfile.TemporaryDirectory() as scratch:
        table = {model: scores(model, entries, data["maps"], Path(scratch)) for model in arguments.models}
    if arguments.json:
        names = [entry["name"] for entry in entries]
        rows = {
            model: {name: {"f1": abs(value), "seen": value < 0} for name, value in zip(names, values)}
            for model, values in table.items()
        }
        print(json.dumps(rows, indent=2))
        return
    print("| test set | " + " | ".join(arguments.models) + " |")
    print("|---|" + "---|" * len(arguments.models))
    for index, entry in enumerate(entries):
        cells = [f"{abs(table[model][index]):.2f}" + ("*" if table[model][index] < 0 else "") for model in arguments.models]
        print(f"| {entry['name']} | " + " | ".join(cells) + " |")
    unseen = [index for index in range(len(entries)) if all(values[index] >= 0 for values in table.values())]
    means = [sum(values[index] for index in unseen) / max(len(unseen), 1) for values in table.values()]
    label = f"**mean of the {len(unseen)} files no model here was trained on**"
    print(f"| {label} | " + " | ".join(f"**{mean:.2f}**" for mean in means) + " |")


if __name__ == "__main__":
    main()
