"""Error categories that reconcile with conlleval, and HTML reports whose every figure is the JSON report's."""

import json
import shutil
import sys
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tagger.cli import main
from tagger.metrics import conlleval_spans
from tagger.span_errors import classify, span_errors
from tests.conftest import SAMPLES, run_tagger, write

NER_TEST = SAMPLES / "sample-ner" / "test.conll"
NER_DEV = SAMPLES / "sample-ner" / "dev.conll"
UPOS_TEST = SAMPLES / "sample-upos" / "test.conllu"


def categories(gold, predicted):
    gold_side, predicted_side = classify(gold.split(), predicted.split())
    return [c for _, c in gold_side], [c for _, c in predicted_side]


@pytest.mark.parametrize(
    "gold, predicted, expected",
    [
        ("B-PER I-PER O", "B-PER I-PER O", (["correct"], ["correct"])),
        ("B-PER I-PER O", "B-ORG I-ORG O", (["wrong_type"], ["wrong_type"])),
        ("B-PER I-PER O", "B-PER O O", (["wrong_boundaries"], ["wrong_boundaries"])),
        ("B-PER I-PER O", "O B-LOC I-LOC", (["wrong_both"], ["wrong_both"])),
        ("B-PER O O", "O O B-LOC", (["missed"], ["spurious"])),
        # one gold span, two predictions inside it: each prediction has wrong boundaries
        ("B-ORG I-ORG I-ORG", "B-ORG O B-ORG", (["wrong_boundaries"], ["wrong_boundaries", "wrong_boundaries"])),
    ],
)
def test_each_span_error_category(gold, predicted, expected):
    assert categories(gold, predicted) == expected


TAGS = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-LOC", "S-PER", "I-ORG"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(TAGS, min_size=1, max_size=12), st.lists(TAGS, min_size=12, max_size=12)), max_size=6))
def test_categories_reconcile_with_conlleval_counts(pairs):
    gold = [g for g, _ in pairs]
    predicted = [p[: len(g)] for g, p in pairs]
    counts = conlleval_spans(gold, predicted)["spans"]
    errors = span_errors(gold, predicted).to_json()
    assert errors["gold"]["correct"] == errors["predicted"]["correct"] == counts["correct"]
    assert sum(errors["gold"].values()) == counts["gold"]
    assert sum(errors["predicted"].values()) == counts["predicted"]
    for label, sides in errors["per_type"].items():
        assert sum(sides["gold"].values()) == sum(label == s.label for tags in gold for s in _spans(tags))


def _spans(tags):
    from tagger.schemes import extract_spans

    return extract_spans(tags)


class KeyedFigures(HTMLParser):
    """Collects (data-key, text) of every element with data-key, and what a self-contained page must not have."""

    def __init__(self):
        super().__init__()
        self.figures, self.external, self._open = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "link", "iframe", "img") or any(
            str(attrs.get(name, "")).startswith(("http:", "https:", "//")) for name in ("src", "href")
        ):
            self.external.append(tag)
        self._open.append([attrs.get("data-key"), ""])

    def handle_endtag(self, tag):
        key, text = self._open.pop()
        if key is not None:
            self.figures.append((json.loads(key), text.strip()))
        if self._open:
            self._open[-1][1] += text

    def handle_data(self, data):
        if self._open:
            self._open[-1][1] += data


def parse(path):
    parser = KeyedFigures()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def resolve(data, path):
    for step in path:
        data = data[step]
    return data


def assert_figures_match(parser, data):
    assert parser.figures, "the report shows no keyed figures"
    for path, text in parser.figures:
        value = resolve(data, path)
        shown = float(text.replace(",", ""))
        tolerance = 0.5 if path[-1] == "tokens_per_s" else 0.005
        assert abs(shown - value) <= tolerance + 1e-9, (path, text, value)


def evaluate_with_html(model, files, html, *extra):
    result = run_tagger("evaluate", model, *files, "--json", "--html", html, "--threads", "1", *extra)
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def test_ner_report_shows_exactly_the_json_figures(ner_model, tmp_path):
    html = tmp_path / "report.html"
    reports = evaluate_with_html(ner_model, [NER_TEST, NER_DEV], html)
    info = json.loads(run_tagger("info", ner_model, "--json").stdout)
    parser = parse(html)
    assert_figures_match(parser, {"reports": reports, "model": info})
    shown = {tuple(path[:3]) for path, _ in parser.figures}
    for index in (0, 1):  # both files: summary, per type, error categories, conlleval counts
        assert {("reports", index, "f1"), ("reports", index, "per_label"), ("reports", index, "span_errors")} <= shown
        assert ("reports", index, "spans") in shown
    assert parser.external == []
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") >= 4  # per-type bars, error bars, confusion heatmap per file, learning curves
    for report in reports:
        errors, spans = report["span_errors"], report["spans"]
        assert sum(errors["gold"].values()) == spans["gold"]
        assert sum(errors["predicted"].values()) == spans["predicted"]


def test_token_label_report_has_known_word_accuracy_and_confusion_examples(upos_model, tmp_path):
    # gold NOUN relabelled ADJ: a model right on its own test set still makes errors to show
    lines = [line.split("\t") for line in UPOS_TEST.read_text(encoding="utf-8").split("\n")]
    relabelled = "\n".join(
        "\t".join(f[:3] + ["ADJ" if f[3] == "NOUN" else f[3]] + f[4:]) if len(f) == 10 else "\t".join(f) for f in lines
    )
    test_file = write(tmp_path / "test.conllu", relabelled)
    html = tmp_path / "upos.html"
    (report,) = evaluate_with_html(upos_model, [test_file], html, "--examples", "2")
    assert report["confusions"][0]["gold"] == "ADJ"
    known = report["known_words"]
    assert known["known"]["tokens"] + known["unknown"]["tokens"] == report["tokens"]
    assert "span_errors" not in report
    pairs = {f"{c['gold']} -> {c['predicted']}" for c in report["confusions"][:5]}
    assert {example["category"] for example in report["examples"]} == pairs
    for example in report["examples"]:
        gold, predicted = example["category"].split(" -> ")
        assert (gold, predicted) in zip(example["gold"], example["predicted"])
    info = json.loads(run_tagger("info", upos_model, "--json").stdout)
    assert_figures_match(parse(html), {"reports": [report], "model": info})
    page = html.read_text(encoding="utf-8")
    assert 'class="error"' in page and "known words" in page


def test_labels_and_model_names_with_dollar_signs_are_drawn_as_written(upos_model, tmp_path):
    odd = "$\\foo{$"
    lines = [line.split("\t") for line in UPOS_TEST.read_text(encoding="utf-8").split("\n")]
    relabelled = "\n".join(
        "\t".join(f[:3] + [odd if f[3] == "NOUN" else f[3]] + f[4:]) if len(f) == 10 else "\t".join(f) for f in lines
    )
    test_file = write(tmp_path / "test.conllu", relabelled)
    html = tmp_path / "odd.html"
    result = run_tagger("evaluate", upos_model, test_file, "--html", html)
    assert result.returncode == 0, result.stderr
    assert ">$\\foo{$</text>" in html.read_text(encoding="utf-8")  # the chart's tick label, as written
    model = tmp_path / "m_$\\foo{$"
    shutil.copytree(upos_model, model)
    compared = run_tagger("compare", upos_model, model, "--files", UPOS_TEST, "--html", tmp_path / "c.html")
    assert compared.returncode == 0, compared.stderr


def test_examples_mark_gold_and_predicted_spans_in_the_text(tmp_path):
    from tagger.evaluate import score_files

    gold = write(tmp_path / "gold.conll", "John B-PER\nlives O\nin O\nBerlin B-LOC\n\nAcme B-ORG\nsells O\n")
    predicted = write(tmp_path / "pred.conll", "John B-ORG\nlives O\nin O\nBerlin B-LOC\n\nAcme O\nsells O\n")
    report = score_files(str(gold), str(predicted), label_column="2")
    from tagger.html_report import evaluation_page

    page = evaluation_page([report])
    assert [example["category"] for example in report["examples"]] == ["wrong_type", "missed"]
    assert "John<sub>PER</sub></mark>" in page and "John<sub>ORG</sub></mark>" in page
    assert "Acme<sub>ORG</sub></mark>" in page


def test_comparison_of_two_models_on_two_files(ner_model, tmp_path):
    html = tmp_path / "cmp.html"
    result = run_tagger("compare", ner_model, ner_model, "--files", NER_TEST, "--files", NER_DEV, "--json", "--html", html)
    assert result.returncode == 0, result.stderr
    comparison = json.loads(result.stdout)
    assert comparison["metric"] == "f1" and len(comparison["results"]) == 2
    assert [len(row) for row in comparison["results"]] == [2, 2]
    assert comparison["results"][0] == comparison["results"][1]  # the same model twice scores the same
    parser = parse(html)
    assert_figures_match(parser, comparison)
    assert "+0.00" in html.read_text(encoding="utf-8")
    table = run_tagger("compare", ner_model, ner_model, "--files", NER_TEST, "--markdown")
    assert table.stdout.startswith("| model | f1 ")


def test_html_without_matplotlib_names_the_extra_before_predicting(ner_model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(main, ["evaluate", str(ner_model), str(NER_TEST), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "pip install 'tagger[report]'" in result.output
    assert not (tmp_path / "r.html").exists()


def test_html_report_is_not_written_over_an_existing_file_without_force(ner_model, tmp_path):
    html = write(tmp_path / "r.html", "mine")
    result = run_tagger("evaluate", ner_model, NER_TEST, "--html", html)
    assert result.returncode == 2 and "--force" in result.stderr
    assert html.read_text() == "mine"


def test_a_damaged_training_log_is_drawn_from_its_valid_epochs_and_says_what_was_skipped(ner_model, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(ner_model, model)
    log = model / "metrics.jsonl"
    valid = log.read_text().splitlines()
    damaged = [
        '{"epoch": NaN, "train_loss": 1.0}',
        '{"epoch": 2, "train_loss": {"value": 1}}',
        '{"epoch": "3", "train_loss": 1.0, "dev": {"f1": 50}}',
        '{"epoch": 4, "train_loss": 1.0, "dev": {"f1": "high"}}',
        "[1, 2",
    ]
    log.write_text("\n".join(valid[:2] + damaged + valid[2:]) + "\n")
    html = tmp_path / "r.html"
    result = run_tagger("evaluate", model, NER_TEST, "--html", html)
    assert result.returncode == 0, result.stderr
    page = html.read_text(encoding="utf-8")
    assert "5 damaged line(s) of metrics.jsonl skipped." in page and "<svg" in page.split("<h3>Training</h3>")[1]
