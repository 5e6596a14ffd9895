"""Confidence as a user sees it: tag --confidence / --min-confidence / --nbest, calibrate, evaluate's calibration."""

import json

import pytest

from tagger import Tagger
from tagger.schemes import extract_spans
from tests.conftest import SAMPLES, run_tagger

TEXT = "Maria Lopez flew from Oslo to Lagos on Monday .\nShe met Ahmed Khan at the Nordic Bank in Paris .\n"
NER_DEV = SAMPLES / "sample-ner" / "dev.conll"


def records(result):
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_one_line_error(result, fragment):
    message = result.stderr.strip()
    assert result.returncode == 2 and fragment in message and "\n" not in message and "Traceback" not in message, message


@pytest.fixture(scope="module")
def confident(ner_model):
    return records(run_tagger("tag", ner_model, "--sentence-per-line", "--confidence", "--nbest", "5", input=TEXT))


def test_every_span_and_token_gets_a_probability_and_labels_do_not_change(ner_model, confident):
    plain = records(run_tagger("tag", ner_model, "--sentence-per-line", input=TEXT))
    assert [r["tokens"] for r in plain] == [
        [{k: v for k, v in t.items() if k != "confidence"} for t in r["tokens"]] for r in confident
    ]
    spans = [span for record in confident for span in record["spans"]]
    assert spans and all(0.0 <= span["confidence"] <= 1.0 for span in spans)
    assert all(0.0 <= token["confidence"] <= 1.0 for record in confident for token in record["tokens"])


def test_nbest_lists_labellings_best_first_the_first_being_the_output(confident):
    for record in confident:
        nbest = record["nbest"]
        probabilities = [item["probability"] for item in nbest]
        assert len(nbest) == 5 and probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1 + 1e-6
        assert nbest[0]["labels"] == [token["label"] for token in record["tokens"]]
        assert len({tuple(item["labels"]) for item in nbest}) == 5


def test_min_confidence_writes_doubtful_spans_as_o_and_lists_them(ner_model, confident):
    values = sorted(span["confidence"] for record in confident for span in record["spans"])
    assert values[0] < values[-1], "the sample model should be surer of some spans than of others"
    threshold = (values[0] + values[-1]) / 2
    judged = records(run_tagger("tag", ner_model, "--sentence-per-line", "--min-confidence", threshold, input=TEXT))
    for before, after in zip(confident, judged):
        kept = [span for span in before["spans"] if span["confidence"] >= threshold]
        dropped = [span for span in before["spans"] if span["confidence"] < threshold]
        assert after["spans"] == kept and after["dropped"] == dropped
        labels = [token["label"] for token in after["tokens"]]
        assert len(extract_spans(labels)) == len(kept)  # the dropped spans' tokens are O
    assert any(record["dropped"] for record in judged)


def test_pos_tokens_below_the_threshold_are_marked_not_changed(upos_model):
    plain = records(run_tagger("tag", upos_model, "--confidence", input=TEXT))
    values = sorted(token["confidence"] for record in plain for token in record["tokens"])
    threshold = (values[0] + values[-1]) / 2
    judged = records(run_tagger("tag", upos_model, "--min-confidence", threshold, input=TEXT))
    for before, after in zip(plain, judged):
        assert [t["label"] for t in after["tokens"]] == [t["label"] for t in before["tokens"]]
        assert all(token["doubtful"] == (token["confidence"] < threshold) for token in after["tokens"])
    assert any(token["doubtful"] for record in judged for token in record["tokens"])


def test_column_outputs_gain_the_confidence_of_each_tokens_reading(ner_model, confident):
    conll = run_tagger("tag", ner_model, "--sentence-per-line", "--confidence", "--output-format", "conll", input=TEXT)
    rows = [line.split("\t") for line in conll.stdout.splitlines() if line]
    tokens = [token for record in confident for token in record["tokens"]]
    assert [row[:2] for row in rows] == [[token["text"], token["label"]] for token in tokens]
    by_start = {(span["start"], span["end"]): span["confidence"] for record in confident for span in record["spans"]}
    first = confident[0]["spans"][0]
    inside = [row for row, token in zip(rows, tokens) if first["start"] <= token["start"] and token["end"] <= first["end"]]
    assert all(float(row[2]) == pytest.approx(by_start[(first["start"], first["end"])], abs=1e-4) for row in inside)
    conllu = run_tagger("tag", ner_model, "--confidence", "--output-format", "conllu", input="Maria flew to Oslo .")
    assert all("Confidence=" in line.split("\t")[9] for line in conllu.stdout.splitlines() if line and line[0].isdigit())


def test_python_api_returns_what_the_command_writes(ner_model, confident):
    tagger = Tagger.load(ner_model, device="cpu")
    found = tagger.tag(TEXT, sentence_per_line=True, confidence=True, nbest=5)
    assert [r["spans"] for r in found] == [r["spans"] for r in confident]
    assert [r["nbest"] for r in found] == [r["nbest"] for r in confident]
    with pytest.raises(ValueError, match="--nbest 0"):
        tagger.tag(TEXT, nbest=0)


@pytest.mark.parametrize(
    "options,fragment",
    [
        (["--min-confidence", "1.5"], "--min-confidence 1.5"),
        (["--nbest", "0"], "--nbest 0"),
        (["--nbest", "100000"], "give 1 to 100"),
        (["--nbest", "3", "--output-format", "conll"], "use --output-format jsonl"),
    ],
)
def test_out_of_range_requests_are_one_line_errors(ner_model, options, fragment):
    assert_one_line_error(run_tagger("tag", ner_model, *options, input="Maria flew to Oslo ."), fragment)


def test_bundled_en_ner_says_how_sure_it_is_of_each_entity():
    (record,) = records(run_tagger("tag", "en-ner", "--confidence", input="Angela Merkel visited Paris ."))
    assert [(span["text"], span["label"]) for span in record["spans"]] == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert all(0.0 < span["confidence"] <= 1.0 for span in record["spans"])
    (record,) = records(run_tagger("tag", "en-ner", "--nbest", "3", input="Angela Merkel visited Paris ."))
    probabilities = [item["probability"] for item in record["nbest"]]
    assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.0


def test_nbest_on_a_long_sentence_is_bounded(ner_model):
    long = " ".join(["Maria Lopez flew from Oslo to Lagos , and"] * 300)  # 3,000 tokens
    (record,) = records(run_tagger("tag", ner_model, "--nbest", "100", "--sentence-per-line", input=long, timeout=120))
    probabilities = [item["probability"] for item in record["nbest"]]
    assert 1 <= len(probabilities) <= 100 and probabilities == sorted(probabilities, reverse=True)


def test_training_fits_a_temperature_that_changes_confidences_not_labels(ner_model, tmp_path):
    calibration = json.loads((ner_model / "calibration.json").read_text())
    assert 0.25 <= calibration["temperature"] <= 8.0 and calibration["measure"] == "spans"
    assert "temperature" in run_tagger("info", ner_model).stdout
    copy = tmp_path / "model"
    copy.mkdir()
    for path in ner_model.iterdir():
        if path.is_file() and path.name != "calibration.json":
            (copy / path.name).write_bytes(path.read_bytes())
    untempered = Tagger.load(copy, device="cpu").tag(TEXT, confidence=True)
    tempered = Tagger.load(ner_model, device="cpu").tag(TEXT, confidence=True)
    assert [t["label"] for r in untempered for t in r["tokens"]] == [t["label"] for r in tempered for t in r["tokens"]]
    assert [s["confidence"] for r in untempered for s in r["spans"]] != [s["confidence"] for r in tempered for s in r["spans"]]
    result = run_tagger("calibrate", copy, NER_DEV)
    assert result.returncode == 0 and "confidence temperature" in result.stderr
    assert json.loads((copy / "calibration.json").read_text())["temperature"] == pytest.approx(
        calibration["temperature"], rel=1e-3
    )


def test_a_damaged_calibration_file_is_refused_in_one_line(ner_model, tmp_path):
    copy = tmp_path / "model"
    copy.mkdir()
    for path in ner_model.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    (copy / "calibration.json").write_text('{"temperature": -3}')
    assert_one_line_error(run_tagger("tag", copy, input="Maria flew to Oslo ."), "calibration.json: temperature -3")


def test_evaluate_reports_calibration_error_and_thresholds(ner_model, tmp_path):
    html = tmp_path / "report.html"
    result = run_tagger("evaluate", ner_model, SAMPLES / "sample-ner" / "test.conll", "--json", "--html", html)
    report = json.loads(result.stdout)
    spans = report["calibration"]["spans"]
    assert 0.0 <= spans["ece"] <= 1.0 and sum(item["count"] for item in spans["bins"]) == spans["count"] > 0
    everything = next(row for row in spans["curve"] if row["threshold"] == 0.0)  # keeping every span: the plain scores
    assert everything["kept"] == spans["count"]
    assert (everything["precision"], everything["recall"]) == pytest.approx((report["precision"], report["recall"]), abs=0.01)
    kept = [row["kept"] for row in spans["curve"]]
    assert kept == sorted(kept, reverse=True)
    assert [row["threshold"] for row in spans["thresholds"]] == [0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
    page = html.read_text()
    assert "Confidence" in page and "share right" in page and page.count("<svg") >= 4


def test_a_token_that_min_confidence_made_o_shows_how_sure_the_model_is_of_o(ner_model):
    """Its confidence is P(O), which the dropped span bounds: P(O at t) <= 1 - P(the span holding t)."""
    judged = records(run_tagger("tag", ner_model, "--sentence-per-line", "--min-confidence", "1", "--confidence", input=TEXT))
    dropped = [(record, span) for record in judged for span in record["dropped"]]
    assert dropped
    for record, span in dropped:
        covered = [token for token in record["tokens"] if span["start"] <= token["start"] < span["end"]]
        assert covered and all(token["label"] == "O" for token in covered)
        assert all(token["confidence"] <= 1 - span["confidence"] + 1e-5 for token in covered), (span, covered)


def test_nbest_on_a_sentence_whose_probabilities_underflow_keeps_its_labellings_by_log_probability(ner_model):
    long = " ".join(["Maria Lopez flew from Oslo to Lagos , and"] * 700)  # 7,000 tokens: even the best is 0.0 in float64
    (record,) = records(run_tagger("tag", ner_model, "--nbest", "3", "--sentence-per-line", input=long, timeout=300))
    logs = [item["log_probability"] for item in record["nbest"]]
    assert len(logs) == 3 and logs == sorted(logs, reverse=True) and all(-1e300 < log <= 0 for log in logs)
    assert record["nbest"][0]["labels"] == [token["label"] for token in record["tokens"]]


def test_score_reads_the_labels_of_a_conll_output_with_its_confidence_column(ner_model, tmp_path):
    """`tag --confidence` writes the confidence after the labels; score used to read it as labels (F1 0)."""
    test_file = SAMPLES / "sample-ner" / "test.conll"
    tagged = run_tagger("tag", ner_model, test_file, "--input-format", "conll", "--output-format", "conll")
    with_confidence = run_tagger(
        "tag", ner_model, test_file, "--input-format", "conll", "--output-format", "conll", "--confidence"
    )
    plain, confident = tmp_path / "plain.conll", tmp_path / "confident.conll"
    plain.write_text(tagged.stdout)
    confident.write_text(with_confidence.stdout)
    scores = [run_tagger("score", test_file, path, "--json") for path in (plain, confident)]
    assert all(result.returncode == 0 for result in scores), scores[1].stderr
    first, second = (json.loads(result.stdout) for result in scores)
    assert second["f1"] == first["f1"] > 50


def test_calibrate_refuses_a_wrong_column_too_few_spans_and_a_fit_at_the_search_bound(ner_model, tmp_path):
    """Each wrote a calibration.json before: 7.994 (the bound) from the POS column, or a temperature from 4 spans."""
    from tagger.model_files import CALIBRATION

    before = (ner_model / CALIBRATION).read_bytes() if (ner_model / CALIBRATION).exists() else None
    all_o = tmp_path / "all-o.conll"
    all_o.write_text(
        "\n".join(
            " ".join(fields[:3] + ["O"]) if len(fields) >= 4 and fields[0] != "-DOCSTART-" else line
            for line in NER_DEV.read_text(encoding="utf-8").splitlines()
            for fields in [line.split()]
        )
        + "\n"
    )
    few = tmp_path / "few.conll"
    few.write_text("\n".join(NER_DEV.read_text(encoding="utf-8").splitlines()[:40]) + "\n")
    for arguments, fragment in (
        ((NER_DEV, "--label-column", "2"), "never predicts"),
        ((few,), "a temperature needs at least 50"),
        ((all_o,), "search bound"),
    ):
        assert_one_line_error(run_tagger("calibrate", ner_model, *arguments), fragment)
    after = (ner_model / CALIBRATION).read_bytes() if (ner_model / CALIBRATION).exists() else None
    assert after == before
