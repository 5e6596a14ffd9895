"""`tagger tag` and `tagger evaluate` as a user runs them, and the Python API."""

import json
import re

import pytest

from tagger import Tagger
from tagger.formats import read_all
from tests.conftest import SAMPLES, run_tagger, write


def tagger(*args, stdin: bytes | None = None):
    return run_tagger(*args, input=stdin, text=False)


TEXT = "Maria Lopez visited Oslo on Monday. Shares of Siemens rose 5 percent.\n\nThe team arrived in Tokyo.\n"


def test_jsonl_from_stdin_offsets_slice_the_input(ner_model):
    result = tagger("tag", str(ner_model), stdin=TEXT.encode())
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(records) == 3
    for record in records:
        assert record["text"] == TEXT[record["tokens"][0]["start"] : record["tokens"][-1]["end"]]
        for token in record["tokens"]:
            assert TEXT[token["start"] : token["end"]] == token["text"]
            assert token["label"] == "O" or token["label"][:2] in ("I-", "B-")
        for span in record["spans"]:
            assert TEXT[span["start"] : span["end"]] == span["text"]


def test_scores_are_probabilities(ner_model):
    result = tagger("tag", str(ner_model), "--scores", stdin=b"Maria Lopez visited Oslo.")
    tokens = json.loads(result.stdout)["tokens"]
    assert all(0.0 < token["score"] <= 1.0 for token in tokens)


def test_inline_and_conll_outputs_parse_back(ner_model, tmp_path):
    source = write(tmp_path / "in.txt", "Maria Lopez visited Oslo .\nJohn Smith left .\n")
    inline = tagger("tag", str(ner_model), str(source), "--input-format", "tokens", "--output-format", "inline")
    lines = inline.stdout.decode().splitlines()
    assert [[item.rsplit("/", 1)[0] for item in line.split()] for line in lines] == [
        ["Maria", "Lopez", "visited", "Oslo", "."],
        ["John", "Smith", "left", "."],
    ]
    out = tmp_path / "out.conll"
    result = tagger(
        "tag", str(ner_model), str(source), "--input-format", "tokens", "--output-format", "conll", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    _, column, sentences = read_all(str(out))
    assert [s.tokens for s in sentences] == [["Maria", "Lopez", "visited", "Oslo", "."], ["John", "Smith", "left", "."]]
    assert [s.labels[column] for s in sentences] == [[item.rsplit("/", 1)[1] for item in line.split()] for line in lines]


def test_conllu_in_conllu_out_changes_only_the_predicted_column(upos_model, tmp_path):
    source = SAMPLES / "sample-upos" / "test.conllu"
    result = tagger("tag", str(upos_model), str(source), "--input-format", "conllu", "--output-format", "conllu")
    assert result.returncode == 0, result.stderr
    original, tagged = source.read_text().splitlines(), result.stdout.decode().splitlines()
    assert len(original) == len(tagged)
    for before, after in zip(original, tagged):
        fields_before, fields_after = before.split("\t"), after.split("\t")
        if len(fields_before) == 10:
            del fields_before[3], fields_after[3]
        assert fields_before == fields_after


def test_conll_input_gets_a_new_column(ner_model):
    source = SAMPLES / "sample-ner" / "dev.conll"
    result = tagger("tag", str(ner_model), str(source), "--input-format", "conll", "--output-format", "conll")
    for before, after in zip(source.read_text().splitlines(), result.stdout.decode().splitlines()):
        if before and not before.startswith("-DOCSTART-"):
            assert after.startswith(before + " ") and len(after.split()) == 5
        else:
            assert after == before


def test_empty_input_gives_empty_output(ner_model):
    result = tagger("tag", str(ner_model), stdin=b"")
    assert result.returncode == 0 and result.stdout == b""


@pytest.mark.parametrize(
    "args, stdin, fragment",
    [
        (["--input-format", "text"], b"ok\n\xff\xfe binary\n", "<stdin>:2: invalid UTF-8"),
        (["--input-format", "text"], b"\x00\x01\x02", "binary data"),
    ],
)
def test_binary_input_is_refused(ner_model, args, stdin, fragment):
    result = tagger("tag", str(ner_model), *args, stdin=stdin)
    assert result.returncode == 2
    assert fragment.split(":")[-1].strip() in result.stderr.decode() and b"Traceback" not in result.stderr


def test_missing_or_incomplete_model_directory(tmp_path, ner_model):
    result = tagger("tag", str(tmp_path / "nothing"), stdin=b"text")
    assert result.returncode == 2 and b"no such model directory" in result.stderr
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "config.json").write_bytes((ner_model / "config.json").read_bytes())
    result = tagger("tag", str(tmp_path / "partial"), stdin=b"text")
    assert result.returncode == 2 and b"not a complete model directory" in result.stderr


def test_odd_text_is_tagged_with_exact_offsets(ner_model):
    text = "Emoji 😀 and cafe\u0301, \u05e9\u05dc\u05d5\u05dd, tab\there,\u200bzero-width.\r\nNext line " + "y" * 100000
    result = tagger("tag", str(ner_model), stdin=text.encode())
    assert result.returncode == 0, result.stderr
    for record in map(json.loads, result.stdout.decode().splitlines()):
        for token in record["tokens"]:
            assert text[token["start"] : token["end"]] == token["text"]


def test_python_api(ner_model):
    model = Tagger.load(ner_model, device="cpu")
    records = model.tag("Maria Lopez visited Oslo. John left.")
    assert [len(r["tokens"]) for r in records] == [5, 3]
    assert records[0]["tokens"][0] == {**records[0]["tokens"][0], "text": "Maria", "start": 0, "end": 5}
    by_tokens = model.tag_tokens([["Maria", "Lopez", "visited", "Oslo", "."]])
    assert [t["label"] for t in by_tokens[0]["tokens"]] == [t["label"] for t in records[0]["tokens"]]


@pytest.mark.parametrize(
    "call, error, fragment",
    [
        (lambda t: t.tag_tokens(["Maria", "Lopez"]), TypeError, "each sentence must be a list of token strings"),
        (lambda t: t.tag_tokens("Maria Lopez"), TypeError, "got a string"),
        (lambda t: t.tag_tokens([["Maria", 7]]), TypeError, "tokens must be non-empty strings"),
        (lambda t: t.tag(["Maria", "Lopez"]), TypeError, "tag(text): expected a str"),
    ],
)
def test_python_api_refuses_wrong_shapes_naming_the_argument(ner_model, call, error, fragment):
    """A flat token list was tagged one character per sentence; now it is refused with what to pass instead."""
    with pytest.raises(error, match=re.escape(fragment)):
        call(Tagger.load(ner_model))


def test_python_api_refuses_a_batch_size_below_one(ner_model):
    with pytest.raises(ValueError, match="batch_size"):
        Tagger.load(ner_model, batch_size=0)


def test_threads_beyond_the_cores_are_bounded_not_a_crash(ner_model):
    result = run_tagger("tag", ner_model, "--threads", "100000", "--runtime", "torch", input="Maria flew to Oslo .\n")
    assert result.returncode == 0 and "Maria" in result.stdout, result.stderr


def test_evaluate_json_and_output(ner_model, tmp_path):
    test_file = SAMPLES / "sample-ner" / "test.conll"
    out = tmp_path / "pred.conll"
    result = tagger("evaluate", str(ner_model), str(test_file), "--json", "--output", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"f1", "precision", "recall", "accuracy", "per_label", "sentences", "tokens", "tokens_per_s"} <= report.keys()
    assert report["sentences"] == 100
    rescored = json.loads(tagger("score", str(test_file), str(out), "--json").stdout)
    assert rescored["f1"] == pytest.approx(report["f1"]) and rescored["accuracy"] == pytest.approx(report["accuracy"])
    for before, after in zip(test_file.read_text().splitlines(), out.read_text().splitlines()):
        assert before.split()[:-1] == after.split()[:-1]


def test_evaluate_several_files_as_markdown(upos_model):
    files = [str(SAMPLES / "sample-upos" / name) for name in ("dev.conllu", "test.conllu")]
    result = tagger("evaluate", str(upos_model), *files, "--markdown")
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("| file |") and len(lines) == 4
    report = json.loads(tagger("evaluate", str(upos_model), files[0], "--json").stdout)
    assert report["accuracy"] > 50 and "NOUN" in report["per_label"] and "f1" not in report


def test_a_sentence_in_a_script_the_model_never_read_is_tagged_with_a_warning(ner_model):
    """Serbian in Cyrillic came out all O without a word; now the first such sentence of an input is named."""
    cyrillic = run_tagger("tag", ner_model, input="Mr. Smith went to Paris .\nАлександар Вучић је посетио Београд .\n")
    assert cyrillic.returncode == 0 and len(cyrillic.stdout.splitlines()) == 2
    warnings = [line for line in cyrillic.stderr.splitlines() if line.startswith("warning")]
    assert len(warnings) == 1 and "sentence 2" in warnings[0] and "not trained on" in warnings[0]
    english = run_tagger("tag", ner_model, input="Peter Blackburn works in Brussels .\n")
    assert english.returncode == 0 and "warning" not in english.stderr
