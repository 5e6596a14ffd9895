"""Model directories written by earlier versions load and tag exactly as they did."""

import json

import pytest

from tests.conftest import ROOT, SAMPLES, run_tagger

V1 = ROOT / "tests" / "data" / "v1-models"


def tag(model, *args):
    result = run_tagger("tag", model, *args, text=False, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def without_input_fields(jsonl: bytes) -> bytes:
    """jsonl as written before records named their input (file, doc, sentence were added later, by #17)."""
    records = [json.loads(line) for line in jsonl.decode().splitlines()]
    for record in records:
        assert list(record)[:3] == ["file", "doc", "sentence"]
        del record["file"], record["doc"], record["sentence"]
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode()


@pytest.mark.parametrize("name", ["ner-crf", "ner-softmax"])
def test_a_v1_model_directory_tags_byte_for_byte_as_before(name):
    model = V1 / name
    # Raw text was written in the training file's IOB1 before #30 and in IOB2 since; --scheme IOB1 gives the old bytes.
    assert without_input_fields(tag(model, V1 / "input.txt", "--scheme", "IOB1")) == (model / "expected.jsonl").read_bytes()
    inline = tag(model, V1 / "input.txt", "--output-format", "inline", "--scheme", "IOB1")
    assert inline == (model / "expected.inline").read_bytes()
    conll = tag(model, SAMPLES / "sample-ner" / "test.conll", "--input-format", "conll", "--output-format", "conll")
    assert conll == (model / "expected-test.conll").read_bytes()


@pytest.mark.parametrize("name", ["ner-crf", "ner-softmax"])
def test_a_v1_model_gives_the_same_label_scores(name):
    model = V1 / name
    now = [json.loads(line) for line in tag(model, V1 / "input.txt", "--scores", "--scheme", "IOB1").splitlines()]
    before = [json.loads(line) for line in (model / "expected-scores.jsonl").read_text().splitlines()]
    assert [[t["label"] for t in s["tokens"]] for s in now] == [[t["label"] for t in s["tokens"]] for s in before]
    pairs = [(a["score"], b["score"]) for s, r in zip(now, before) for a, b in zip(s["tokens"], r["tokens"])]
    # Scores are written with 6 decimals. Other kernels round float32 differently: another CPU
    # moved the last decimal by 1 (AMD EPYC), and the recurrent layers' oneDNN kernels on padded
    # input (tagger/recurrent.py, instead of packed sequences) by up to 3. The CRF's expected
    # marginals were rewritten at issue #29: they come from a float64 forward-backward now, exact to
    # 1e-13, where the float32 log-space one that wrote the first file was off by up to 2.5e-5.
    assert all(a == pytest.approx(b, abs=5e-6) for a, b in pairs)
