"""ONNX export: the same labels as PyTorch for every token, and a graph usable without this package."""

import json
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tagger import config as config_module
from tagger import schemes, training
from tagger.cli import main
from tagger.formats import read_layout
from tagger.predict import Predictor
from tests.conftest import SAMPLES, run_tagger

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

NER_TEST = SAMPLES / "sample-ner" / "test.conll"
UPOS_TEST = SAMPLES / "sample-upos" / "test.conllu"


def train_variant(directory, corpus, label_column, **model):
    suffix = "conll" if corpus == "sample-ner" else "conllu"
    config = config_module.from_dict(
        {
            "data": {"train": str(SAMPLES / corpus / f"train.{suffix}"), "label_column": label_column},
            "model": {"word_dim": 16, "char_dim": 8, "char_hidden": 8, "hidden": 16, "case_dim": 4, **model},
            "train": {"epochs": 2, "batch_size": 16, "lr": 0.01, "device": "cpu", "threads": 1},
        },
        "test",
    )
    training.train(config, directory, show_progress=False, log=lambda message: None)
    return directory


@pytest.fixture(scope="module")
def variants(tmp_path_factory, ner_model, upos_model):
    """Every head and encoder the exporter rewrites: CRF, constrained softmax, plain softmax, GRU, char LSTM, 2 layers."""
    root = tmp_path_factory.mktemp("onnx")
    return {
        "ner-crf": (ner_model, NER_TEST),
        "upos-softmax": (upos_model, UPOS_TEST),
        "ner-softmax-gru-charlstm-2layers": (
            train_variant(root / "a", "sample-ner", "4", crf=False, cell="gru", char_encoder="lstm", layers=2),
            NER_TEST,
        ),
        "upos-no-chars-no-case": (train_variant(root / "b", "sample-upos", "upos", char_encoder="none", case_dim=0), UPOS_TEST),
    }


@pytest.mark.parametrize("name", ["ner-crf", "upos-softmax", "ner-softmax-gru-charlstm-2layers", "upos-no-chars-no-case"])
def test_onnx_runtime_gives_the_pytorch_label_of_every_token(variants, name):
    model, test_file = variants[name]
    predictor = Predictor.load(model, "cpu", "torch")
    _, _, sentences = read_layout(str(test_file), predictor.layout())
    token_lists = [s.tokens for s in sentences]
    expected = predictor.predict(token_lists)
    predictor.use_onnx(threads=1)
    assert predictor.predict(token_lists) == expected
    assert predictor.predict(token_lists, batch_size=1)[:20] == expected[:20]


def test_evaluate_with_onnx_runtime_writes_the_same_file_and_nothing_on_stderr(ner_model, tmp_path):
    outputs = {}
    for runtime in ("torch", "onnx"):
        out = tmp_path / f"{runtime}.conll"
        result = run_tagger("evaluate", ner_model, NER_TEST, "--runtime", runtime, "--output", out, "--threads", "1")
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""  # the exporter's and ONNX Runtime's own notes are not shown to users
        outputs[runtime] = out.read_bytes()
    assert outputs["onnx"] == outputs["torch"]


# A consumer that knows only ONNX Runtime, numpy and the sidecar: what a user deploys.
STANDALONE = r"""
import json, sys
import numpy as np
import onnxruntime

CASES_BY_RULE = ["number", "has_digit", "other", "lower", "upper", "title", "mixed"]

def case_class(token, classes):
    if token.isdigit() or token.replace(",", "").replace(".", "").isdigit():
        name = "number"
    elif any(c.isdigit() for c in token):
        name = "has_digit"
    elif not any(c.isalpha() for c in token):
        name = "other"
    elif token.islower():
        name = "lower"
    elif token.isupper():
        name = "upper"
    elif token[0].isupper() and token[1:].islower():
        name = "title"
    else:
        name = "mixed"
    return classes.index(name)

graph, sidecar_path, sentences_path = sys.argv[1:4]
side = json.load(open(sidecar_path, encoding="utf-8"))
notes = side["onnx"]
words = {w: i for i, w in enumerate(side["words"])}
chars = {c: i for i, c in enumerate(side["chars"])}
limit = notes["max_word_characters"]
sentences = json.load(open(sentences_path, encoding="utf-8"))
batch, steps = len(sentences), max(map(len, sentences))
clipped = [[t if len(t) <= limit else t[: limit // 2] + t[-(limit // 2):] for t in s] for s in sentences]
width = max(len(t) for s in clipped for t in s)
inputs = {
    "words": np.zeros((batch, steps), np.int64),
    "cases": np.zeros((batch, steps), np.int64),
    "chars": np.zeros((batch, steps, width), np.int64),
    "lengths": np.array([len(s) for s in sentences], np.int64),
}
for b, sentence in enumerate(sentences):
    for t, token in enumerate(sentence):
        key = token.lower() if side["lowercase"] else token
        inputs["words"][b, t] = words.get(key, notes["unknown_id"])
        inputs["cases"][b, t] = case_class(token, notes["case_classes"])
        for c, char in enumerate(clipped[b][t]):
            inputs["chars"][b, t, c] = chars.get(char, notes["unknown_id"])
session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
(labels,) = session.run([notes["output"]], {name: inputs[name] for name in notes["inputs"]})
assert not any(name == "tagger" or name.startswith("tagger.") for name in sys.modules)
print(json.dumps([[side["labels"][i] for i in row[: len(s)]] for row, s in zip(labels.tolist(), sentences)]))
"""


@pytest.mark.parametrize("quantize", [False, True])
def test_exported_file_runs_in_plain_onnxruntime_with_the_sidecar(ner_model, tmp_path, quantize):
    graph = tmp_path / "ner.onnx"
    result = run_tagger("export", ner_model, graph, *(["--quantize"] if quantize else []))
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((tmp_path / "ner.onnx.json").read_text(encoding="utf-8"))
    assert {"words", "chars", "labels", "lowercase"} <= set(sidecar)  # vocab.json's own data
    predictor = Predictor.load(ner_model, "cpu", "torch")
    _, _, sentences = read_layout(str(NER_TEST), predictor.layout())
    token_lists = [s.tokens for s in sentences][:40] + [["A" * 60, "Müller", "1,000", "x2"]]
    (tmp_path / "sentences.json").write_text(json.dumps(token_lists), encoding="utf-8")
    script = tmp_path / "consumer.py"
    script.write_text(STANDALONE, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, str(script), str(graph), str(tmp_path / "ner.onnx.json"), str(tmp_path / "sentences.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    labels = [schemes.convert(tags, predictor.task.corpus_scheme) for tags in json.loads(ran.stdout)]
    expected = predictor.predict(token_lists)
    if not quantize:
        assert labels == expected
    else:  # int8 weights: the same labels almost everywhere
        pairs = [(a, b) for got, want in zip(labels, expected) for a, b in zip(got, want)]
        assert sum(a == b for a, b in pairs) >= 0.97 * len(pairs)
        assert run_tagger("export", ner_model, tmp_path / "fp32.onnx").returncode == 0
        assert graph.stat().st_size < 0.6 * (tmp_path / "fp32.onnx").stat().st_size  # tiny model: headers weigh


def test_export_refuses_to_overwrite(ner_model, tmp_path):
    graph = tmp_path / "ner.onnx"
    graph.write_text("mine")
    result = run_tagger("export", ner_model, graph)
    assert result.returncode == 2 and "--force" in result.stderr and graph.read_text() == "mine"


@pytest.mark.parametrize("name", ["ner-crf", "upos-softmax", "ner-softmax-gru-charlstm-2layers"])
def test_onnx_runtime_gives_the_pytorch_confidences_and_scores(variants, name, tmp_path):
    model, test_file = variants[name]
    text = tmp_path / "text.txt"
    text.write_text("Maria Lopez flew from Oslo to Lagos on Monday .\nShe met Ahmed Khan at the Nordic Bank .\n")
    options = [text, "--confidence", "--scores", "--nbest", "3"]
    outputs = [run_tagger("tag", model, *options, *runtime) for runtime in ([], ["--runtime", "onnx"])]
    assert all(output.returncode == 0 for output in outputs), outputs[1].stderr
    torch_records, onnx_records = ([json.loads(line) for line in output.stdout.splitlines()] for output in outputs)

    def numbers(records):
        found = []
        for record in records:
            found += [value for token in record["tokens"] for value in (token["confidence"], token["score"])]
            found += [span["confidence"] for span in record.get("spans", [])]
            found += [item["probability"] for item in record["nbest"]]
        return found

    assert [[t["label"] for t in r["tokens"]] for r in onnx_records] == [[t["label"] for t in r["tokens"]] for r in torch_records]
    assert numbers(onnx_records) == pytest.approx(numbers(torch_records), abs=1e-5)


def test_missing_onnx_extra_is_named(ner_model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    result = CliRunner().invoke(main, ["export", str(ner_model), str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "pip install 'tagger[onnx]'" in result.output


def test_benchmark_measures_every_runtime_in_one_run(ner_model):
    runtimes = ["torch", "onnx", "onnx-int8"]
    options = [item for runtime in runtimes for item in ("--runtime", runtime)]
    result = run_tagger("benchmark", "speed", ner_model, NER_TEST, *options, "--passes", "1", "--json", "--threads", "1")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["runtime"] for r in report["results"]] == runtimes
    speeds = [r["tokens_per_s"] for r in report["results"]]
    assert report["ratios"] == pytest.approx({"onnx": speeds[1] / speeds[0], "onnx-int8": speeds[2] / speeds[0]})


@pytest.mark.parametrize("command", ["tag", "evaluate"])
def test_onnx_runtime_with_worker_processes_is_refused_by_tag_and_evaluate_alike(ner_model, command):
    """ONNX Runtime labels in one process: both commands refuse --workers with the same one line, before loading."""
    from tests.helpers import cli

    result = cli(command, ner_model, SAMPLES / "sample-ner" / "test.conll", "--runtime", "onnx", "--workers", "2")
    assert result.exit_code == 2
    assert "--runtime onnx runs in one process; give it --threads instead of --workers or torchrun" in result.output
    assert "Traceback" not in result.output


def test_the_runtime_graph_has_no_loop_so_its_time_grows_with_the_sentence_not_its_square(ner_model):
    """#44: a 100,000-token sentence took over 240 s with --runtime onnx (torch: 13 s): ORT ran the exported
    Viterbi's Loops, appending backpointers to a sequence copied at each step, even when only the emissions were
    fetched. tagger's own ONNX path exports the graph up to the emissions and decodes in NumPy; `tagger export`
    keeps the decoder for use without Python."""
    import onnx

    from tagger.onnx_export import export_bytes

    model = Predictor.load(ner_model, "cpu", "torch").model
    runtime_ops = {node.op_type for node in onnx.load_from_string(export_bytes(model, decoder=False)).graph.node}
    exported_ops = {node.op_type for node in onnx.load_from_string(export_bytes(model)).graph.node}
    assert "Loop" not in runtime_ops and "Loop" in exported_ops
    tokens = [["Maria", "Lopez", "visited", "Oslo", "."] * 400]  # one sentence of 2,000 tokens
    onnx_labels = Predictor.load(ner_model, "cpu", "onnx").predict(tokens)
    assert onnx_labels == Predictor.load(ner_model, "cpu", "numpy").predict(tokens)


class SessionDeafToSignals:
    """Stands in for an ONNX Runtime session inside one long C call: Python's signal handlers do not run in it (an
    interrupt that lands here is swallowed, as the C call would hold it), and it stops early only when its
    RunOptions say terminate."""

    def __init__(self, session):
        self.session = session
        self.told_to_stop = False

    def run(self, outputs, feeds, options=None):
        import time

        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            if options is not None and options.terminate:
                self.told_to_stop = True
                break
            try:
                time.sleep(0.01)
            except KeyboardInterrupt:
                pass
        return self.session.run(outputs, feeds)


def test_an_interrupt_during_a_long_onnx_run_is_honoured_at_once_and_stops_the_run(ner_model):
    import _thread
    import threading
    import time

    predictor = Predictor.load(ner_model, "cpu", "torch")
    predictor.use_onnx(threads=1)
    runner = predictor.engine.onnx
    runner.session = SessionDeafToSignals(runner.session)
    # Ctrl-C as a command-line process in a terminal has it: Python's own handler. A suite started as a
    # background job (`.ci/run &`, nohup) inherits SIGINT ignored, and then interrupt_main does nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Timer(0.3, _thread.interrupt_main).start()  # what Ctrl-C (or SIGTERM, raised as Terminated) does
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            predictor.predict([["Maria", "flew", "to", "Oslo", "."]])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 2.5  # not the 6 s the run would take
    assert runner.session.told_to_stop
