"""`evaluate`, `tag` and `benchmark speed` read files in the columns the model was trained on."""

import json

import pytest

from tagger import config as config_module
from tagger import store, training
from tagger.evaluate import evaluate_file
from tagger.formats import read_all
from tagger.predict import Predictor
from tagger.task import Task
from tagger.vocab import Vocab
from tests import helpers
from tests.conftest import SAMPLES, run_tagger, write


def id_token_label_file(source, target):
    """The sample rewritten as `id<TAB>token<TAB>label<TAB>x#label<TAB>s` rows with `#` comments (Universal NER style)."""
    lines = []
    for number, sentence in enumerate(read_all(str(source), label_column="4").sentences):
        lines.append(f"# sent_id = {number}")
        for index, (token, label) in enumerate(zip(sentence.tokens, sentence.labels["4"]), start=1):
            lines.append(f"{index}\t{token}\t{label}\tx#{label}\ts")
        lines.append("")
    return write(target, "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def id_layout_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("idlayout")
    train = id_token_label_file(SAMPLES / "sample-ner" / "train.conll", directory / "train.tsv")
    dev = id_token_label_file(SAMPLES / "sample-ner" / "dev.conll", directory / "dev.tsv")
    config = config_module.from_dict(
        {
            "data": {"train": str(train), "dev": str(dev), "format": "conll", "token_column": 2, "label_column": "3"},
            "model": {"word_dim": 24, "char_dim": 12, "char_hidden": 16, "hidden": 32, "case_dim": 4, "dropout": 0.2},
            "train": {"epochs": 4, "batch_size": 16, "lr": 0.01, "device": "cpu", "threads": 1},
        },
        "test",
    )
    metrics = training.train(config, directory / "run", show_progress=False, log=lambda message: None)
    return directory, metrics


def run_cli(*args):
    return helpers.cli(*args, catch_exceptions=False)


def test_evaluate_reads_the_trained_token_column_and_reproduces_the_dev_score(id_layout_run):
    directory, metrics = id_layout_run
    result = run_cli("evaluate", directory / "run", directory / "dev.tsv", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["token_column"] == "2" and report["label_column"] == "3"
    assert report["f1"] == pytest.approx(metrics["best_dev_score"], abs=1e-9)
    assert report["warnings"] == []


def test_tag_conll_input_writes_the_labels_evaluate_predicts(id_layout_run, tmp_path):
    directory, _ = id_layout_run
    evaluated = tmp_path / "evaluated.tsv"
    assert run_cli("evaluate", directory / "run", directory / "dev.tsv", "--output", evaluated).exit_code == 0
    tagged = tmp_path / "tagged.tsv"
    result = run_cli(
        "tag", directory / "run", directory / "dev.tsv", "--input-format", "conll", "--output-format", "conll", "--output", tagged
    )
    assert result.exit_code == 0, result.output
    predicted = [s.labels["3"] for s in read_all(str(evaluated), format_name="conll", token_column=2, label_column="3").sentences]
    appended = [
        s.labels["last"] for s in read_all(str(tagged), format_name="conll", token_column=2, label_column="last").sentences
    ]
    assert appended == predicted


def test_reading_the_id_column_as_tokens_is_warned_about(id_layout_run):
    directory, _ = id_layout_run
    result = run_cli("evaluate", directory / "run", directory / "dev.tsv", "--token-column", "1", "--json")
    assert result.exit_code == 0
    assert "sentence positions" in result.stderr and "--token-column" in result.stderr
    assert json.loads(result.stdout)["warnings"]


def test_gold_labels_the_model_never_predicts_are_warned_about(ner_model):
    result = run_cli("evaluate", ner_model, SAMPLES / "sample-ner" / "test.conll", "--label-column", "2")
    assert result.exit_code == 0
    assert "gold labels in column 2 are labels the model never predicts" in result.stderr


def test_benchmark_speed_reads_the_trained_token_column(id_layout_run):
    directory, _ = id_layout_run
    result = run_cli("benchmark", "speed", directory / "run", directory / "dev.tsv", "--passes", "1", "--json")
    assert result.exit_code == 0, result.output
    expected = sum(len(s) for s in read_all(str(directory / "dev.tsv"), token_column=2, label_column="3").sentences)
    assert json.loads(result.stdout)["tokens"] == expected


def test_python_api_reads_the_trained_columns(id_layout_run):
    directory, metrics = id_layout_run
    report = evaluate_file(Predictor.load(directory / "run", "cpu"), str(directory / "dev.tsv"))
    assert report["f1"] == pytest.approx(metrics["best_dev_score"], abs=1e-9)


def untrained_predictor(train_path, label_column):
    """A model with the vocabulary and labels of a real training file (the warnings look at nothing else)."""
    format_name, column, sentences = read_all(str(train_path), label_column=label_column)
    labels = sorted({label for s in sentences for label in s.labels[column]})
    scheme = "IOB1" if any(label.startswith("I-") for label in labels) else None
    internal = [f"{p}-{label[2:]}" for label in labels if label != "O" for p in "BIES"] + ["O"] if scheme else labels
    vocab = Vocab.build((s.tokens for s in sentences), [internal], True)
    config = config_module.from_dict({"model": {"hidden": 8, "word_dim": 8, "char_dim": 4, "char_hidden": 4}}, "test")
    task = Task(column, format_name, scheme, "IOBES" if scheme else None)
    return Predictor.of_model(store.build_model(config, vocab, task), vocab, task, config, __import__("torch").device("cpu"))


@pytest.mark.shared
@pytest.mark.parametrize(
    "train, test, label_column",
    [
        ("conll2003-en/eng.train", "conll2003-en/eng.testb", "4"),
        ("conll2003-en/eng.train", "btc-en/btc.test", "2"),
        ("ud-en-ewt/en_ewt-ud-train.conllu", "ud-en-ewt/en_ewt-ud-test.conllu", "upos"),
    ],
)
def test_no_layout_warning_on_the_shared_corpora(shared_corpora, train, test, label_column):
    predictor = untrained_predictor(shared_corpora / train, "4" if train.startswith("conll") else "upos")
    layout = predictor.layout(token_column=1, label_column=label_column)
    report = evaluate_file(predictor, str(shared_corpora / test), layout)
    assert report["warnings"] == []
    assert report["unknown_tokens"] < 0.3


def test_ignored_types_are_left_out_of_gold_and_predictions(ner_model, tmp_path):
    test_file = SAMPLES / "sample-ner" / "test.conll"
    full = json.loads(run_tagger("evaluate", ner_model, test_file, "--json").stdout)
    output = tmp_path / "predicted.conll"
    result = run_tagger("evaluate", ner_model, test_file, "--json", "--ignore-type", "MISC", "--output", output)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "MISC" in full["per_type"] and "MISC" not in report["per_type"]
    assert report["spans"]["gold"] == full["spans"]["gold"] - full["per_type"]["MISC"]["support"]
    assert report["ignored_types"] == ["MISC"]
    assert "MISC" in output.read_text(encoding="utf-8")  # the written predictions keep every label


def test_evaluate_files_from_python_gives_the_reports_of_tagger_evaluate(ner_model, tmp_path):
    """The library call behind `tagger evaluate`: the same report per file, read in the model's columns or in given ones."""
    from tagger.evaluate import EvaluateOptions, evaluate_files

    test_file = SAMPLES / "sample-ner" / "test.conll"
    moved = id_token_label_file(test_file, tmp_path / "moved.tsv")
    expected = []
    for args in ([test_file], [moved, "--token-column", "2", "--label-column", "3"]):
        shown = run_tagger("evaluate", ner_model, *args, "--json")
        assert shown.returncode == 0, shown.stderr
        expected.append(json.loads(shown.stdout))
    options = EvaluateOptions(calibration=True)
    own = evaluate_files(str(ner_model), [str(test_file)], options, device="cpu")
    given = evaluate_files(str(ner_model), [str(moved)], options, token_column=2, label_column="3", device="cpu")
    keys = ("f1", "per_label", "tokens", "file", "token_column")
    assert [[report[key] for key in keys] for report in own + given] == [[report[key] for key in keys] for report in expected]


def test_compare_model_files_from_python_gives_the_table_of_tagger_compare(ner_model):
    from tagger.compare import compare_model_files
    from tagger.evaluate import EvaluateOptions

    files = [str(SAMPLES / "sample-ner" / "test.conll")]
    shown = run_tagger("compare", ner_model, ner_model, "--files", files[0], "--json")
    assert shown.returncode == 0, shown.stderr
    comparison = compare_model_files([str(ner_model), str(ner_model)], files, EvaluateOptions(examples=0), "cpu")
    assert comparison["results"] == json.loads(shown.stdout)["results"]
    assert comparison["metric"] == "f1"
