"""At home in the shell: outputs say which input they came from, logs stay clean, models describe themselves."""

import json

import conllu

from tagger.formats import read_all
from tests.conftest import SAMPLES, run_tagger, write
from tests.helpers import cli

NER = SAMPLES / "sample-ner"


def test_jsonl_records_name_their_input_file_and_join_back(ner_model, tmp_path):
    texts = {"a.txt": "Maria flew to Oslo. She stayed.\n", "b.txt": "Ahmed works at Acme.\n"}
    paths = [write(tmp_path / name, text) for name, text in texts.items()]
    result = cli("tag", ner_model, *paths)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file"], r["doc"], r["sentence"]) for r in records] == [
        (str(paths[0]), 0, 0),
        (str(paths[0]), 0, 1),
        (str(paths[1]), 1, 0),
    ]
    for record in records:
        source = texts[record["file"].rsplit("/", 1)[-1]]
        assert all(source[t["start"] : t["end"]] == t["text"] for t in record["tokens"])


def test_directories_and_quoted_patterns_are_read_in_sorted_order(ner_model, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in ("b.txt", "a.txt", ".hidden"):
        write(folder / name, f"{name} is here.\n")
    by_directory = cli("tag", ner_model, folder)
    by_pattern = cli("tag", ner_model, str(folder / "*.txt"))
    for result in (by_directory, by_pattern):
        assert result.exit_code == 0, result.output
        assert [json.loads(line)["file"] for line in result.stdout.splitlines()] == [str(folder / "a.txt"), str(folder / "b.txt")]
    nothing = cli("tag", ner_model, str(folder / "*.csv"))
    assert nothing.exit_code == 2 and "no file matches" in nothing.stderr


def test_conllu_from_raw_text_has_ids_text_and_space_after_and_detokenizes_back(ner_model):
    text = "Maria (from Oslo) didn't go, did she?"
    result = cli("tag", ner_model, "--output-format", "conllu", stdin=text + "\n")
    assert result.exit_code == 0, result.output
    sentences = conllu.parse(result.stdout)
    assert sentences[0].metadata["newdoc id"] == "-" and sentences[0].metadata["sent_id"] == "stdin-1"
    rebuilt = ""
    for sentence in sentences:
        assert sentence.metadata["text"]
        for token in sentence:
            rebuilt += token["form"] + ("" if (token["misc"] or {}).get("SpaceAfter") == "No" else " ")
        rebuilt = rebuilt.rstrip() + " "
    assert rebuilt.strip() == text


def test_several_column_files_are_marked_where_each_begins(ner_model):
    files = [NER / "dev.conll", NER / "test.conll"]
    result = cli("tag", ner_model, *files, "--input-format", "conll", "--output-format", "conll")
    assert result.exit_code == 0
    assert [line for line in result.stdout.splitlines() if line.startswith("# file = ")] == [f"# file = {f}" for f in files]


def test_a_redirected_training_log_holds_no_carriage_returns(tmp_path):
    log = tmp_path / "train.log"
    with open(log, "w") as stream:
        code = run_tagger(
            "train",
            "configs/sample-ner.toml",
            "--epochs",
            2,
            "--hidden",
            16,
            "--threads",
            1,
            "--out",
            tmp_path / "run",
            stdout=stream,
            stderr=stream,
        ).returncode
    assert code == 0
    text = log.read_text()
    assert "\r" not in text and "epoch   2" in text


def test_tag_progress_stays_out_of_a_redirected_stderr(ner_model, tmp_path):
    text = write(tmp_path / "in.txt", "Maria flew to Oslo.\n" * 50)
    result = run_tagger("tag", ner_model, text, "--output", tmp_path / "out.jsonl")
    assert result.returncode == 0 and result.stderr == ""


def test_flags_set_the_common_hyperparameters_and_a_test_file_is_scored_once(tmp_path):
    result = run_tagger(
        "train",
        "--train",
        NER / "train.conll",
        "--dev",
        NER / "dev.conll",
        "--test",
        NER / "test.conll",
        "--label-column",
        4,
        "--epochs",
        2,
        "--lr",
        0.005,
        "--batch-size",
        8,
        "--hidden",
        12,
        "--patience",
        7,
        "--threads",
        1,
        "--quiet",
        "--out",
        tmp_path / "run",
    )
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert (config["train"]["lr"], config["train"]["batch_size"], config["model"]["hidden"]) == (0.005, 8, 12)
    assert config["train"]["patience"] == 7
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    report = json.loads(cli("evaluate", tmp_path / "run", NER / "test.conll", "--json").stdout)
    assert test["file"] == str(NER / "test.conll") and test["f1"] == round(report["f1"], 4)
    assert f"test {NER / 'test.conll'}: precision" in result.stderr


def test_info_describes_a_trained_model(ner_model):
    result = cli("info", ner_model, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    vocab = json.loads((ner_model / "vocab.json").read_text())
    metrics = json.loads((ner_model / "metrics.json").read_text())
    assert info["task"]["label_column"] == "4" and info["task"]["corpus_scheme"] == "IOB1"
    training = read_all(str(NER / "train.conll"), label_column="4").sentences
    assert sum(info["labels"].values()) == sum(len(sentence) for sentence in training)
    assert info["sizes"]["words"] == len(vocab["words"]) and info["sizes"]["parameters"] > 0
    assert info["best_dev"]["best_epoch"] == metrics["best_epoch"]
    assert info["training_data"]["train"].endswith("train.conll")
    text = cli("info", ner_model).stdout
    assert "span scheme IOB1 (learnt as IOBES)" in text and "best dev" in text


def test_info_of_a_missing_directory_is_one_line(tmp_path):
    result = cli("info", tmp_path / "nothing")
    assert result.exit_code == 2 and "no such model directory" in result.stderr


def test_markdown_summary_has_f1_per_type_and_json_names_the_model(ner_model):
    result = cli("evaluate", ner_model, NER / "dev.conll", NER / "test.conll", "--markdown")
    header = result.stdout.splitlines()[0]
    assert all(f"f1 {kind}" in header for kind in ("LOC", "MISC", "ORG", "PER"))
    report = json.loads(cli("evaluate", ner_model, NER / "test.conll", "--json").stdout)
    assert report["model"] == str(ner_model)
    assert "after a warm-up" in cli("evaluate", ner_model, NER / "test.conll").stdout
