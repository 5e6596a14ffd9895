"""Whatever a user types: outputs that would destroy data are refused, bad input gets one line and exit 2."""

import bz2
import gzip
import json
import lzma
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

from tagger.predict import Predictor
from tagger.store import ModelDirError
from tests.conftest import ROOT, SAMPLES, run_tagger, write
from tests.helpers import TINY_MODEL, cli

NER_TEST = SAMPLES / "sample-ner" / "test.conll"


def assert_one_line_error(result, fragment):
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert fragment in message and "\n" not in message and "Traceback" not in message, message


# 1-2: outputs that would destroy data


def test_tag_output_equal_to_the_input_is_refused_and_the_input_kept(ner_model, tmp_path):
    text = write(tmp_path / "x.txt", "Maria flew to Oslo.\n")
    assert_one_line_error(cli("tag", ner_model, text, "--output", text), "would overwrite the input")
    link = tmp_path / "link.txt"
    link.symlink_to(text)
    assert_one_line_error(
        cli("tag", ner_model, text, "--output", tmp_path / "sub" / ".." / "link.txt"), "would overwrite the input"
    )
    assert text.read_text() == "Maria flew to Oslo.\n"


def test_evaluate_output_equal_to_the_gold_file_is_refused(ner_model, tmp_path):
    gold = write(tmp_path / "gold.conll", NER_TEST.read_text())
    assert_one_line_error(cli("evaluate", ner_model, gold, "--output", gold), "would overwrite the input")
    assert gold.read_text() == NER_TEST.read_text()


def test_outputs_inside_a_model_directory_are_refused(ner_model, tmp_path):
    before = (ner_model / "model.safetensors").read_bytes()
    for args in (["tag", ner_model, NER_TEST, "--input-format", "conll"], ["evaluate", ner_model, NER_TEST]):
        result = cli(*args, "--output", ner_model / "model.safetensors", "--force")
        assert_one_line_error(result, "inside the model directory")
    assert (ner_model / "model.safetensors").read_bytes() == before


def test_an_existing_output_is_replaced_only_with_force(ner_model, tmp_path):
    out = write(tmp_path / "out.jsonl", "keep me\n")
    assert_one_line_error(cli("tag", ner_model, "--output", out, stdin="Oslo.\n"), "--force")
    assert out.read_text() == "keep me\n"
    assert cli("tag", ner_model, "--output", out, "--force", stdin="Oslo.\n").exit_code == 0
    assert json.loads(out.read_text())["tokens"][0]["text"] == "Oslo"


# 5: SIGTERM


def test_sigterm_while_writing_an_output_exits_143_and_leaves_nothing(ner_model, tmp_path):
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tagger", "tag", str(ner_model), "--output", str(out)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdin.write(b"Maria flew to Oslo.\n")
    process.stdin.flush()
    deadline = time.time() + 60
    while not list(tmp_path.glob(".out.jsonl.*.tmp")) and time.time() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.glob(".out.jsonl.*.tmp")), "the output's temporary file never appeared"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 143
    assert b"Traceback" not in process.stderr.read()
    assert list(tmp_path.iterdir()) == []


# 7: numbers


@pytest.mark.parametrize(
    "setting, value",
    [
        ("lr", "-1.0"),
        ("lr", "nan"),
        ("lr", "inf"),
        ("seed", "99999999999999999999"),
        ("momentum", "1.5"),
        ("patience", "0"),
        ("clip", "-1"),
    ],
)
def test_out_of_range_numbers_are_refused_naming_the_setting(tmp_path, setting, value):
    train = SAMPLES / "sample-ner" / "train.conll"
    config = write(tmp_path / "c.toml", f'[data]\ntrain = "{train}"\n[train]\n{setting} = {value}\n')
    assert_one_line_error(cli("train", config, "--out", tmp_path / "run"), f"train.{setting}")
    assert not (tmp_path / "run").exists()


def test_set_errors_name_the_set_option_not_the_file(tmp_path):
    result = cli("train", ROOT / "configs" / "sample-ner.toml", "--set", "train.lr=-0.1", "--out", tmp_path / "run")
    assert_one_line_error(result, "--set train.lr: -0.1 is out of range")
    assert_one_line_error(
        cli("benchmark", "train", ROOT / "configs" / "sample-ner.toml", "--set", "train.lr=-1"), "--set train.lr"
    )


def test_a_diverging_run_stops_with_a_message_and_never_writes_nan(tmp_path):
    from tagger import config as config_module
    from tagger import training
    from tagger.errors import TaggerError

    config = config_module.from_dict(
        {
            "data": {"train": str(SAMPLES / "sample-ner" / "train.conll"), "dev": str(SAMPLES / "sample-ner" / "dev.conll")},
            "model": TINY_MODEL,
            "train": {"epochs": 3, "lr": 1e38, "clip": 0.0, "optimizer": "sgd", "momentum": 0.0, "device": "cpu"},
        },
        "test",
    )
    with pytest.raises(TaggerError, match="training diverged"):
        training.train(config, tmp_path / "run", show_progress=False, log=lambda message: None)
    if (tmp_path / "run" / "model.safetensors").exists():
        Predictor.load(tmp_path / "run", "cpu")  # whatever was kept is finite


def test_weights_with_nan_are_refused_on_load(ner_model, tmp_path):
    import shutil

    shutil.copytree(ner_model, tmp_path / "m")
    tensors = load_file(str(tmp_path / "m" / "model.safetensors"))
    tensors["output.weight"] = torch.full_like(tensors["output.weight"], float("nan"))
    save_file(tensors, str(tmp_path / "m" / "model.safetensors"))
    with pytest.raises(ModelDirError, match="NaN"):
        Predictor.load(tmp_path / "m", "cpu")


# 8, 20: the file system and paths


def test_symlink_loop_as_input_is_one_line(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert_one_line_error(cli("corpora", "stats", tmp_path / "a"), "cannot open")


def test_train_out_naming_a_file_or_an_unwritable_place_is_one_line(tmp_path):
    existing = write(tmp_path / "file", "x")
    args = ["train", ROOT / "configs" / "sample-ner.toml", "--epochs", "1", "--out"]
    assert_one_line_error(cli(*args, existing), "is a file")
    assert_one_line_error(cli(*args, "/proc/tagger-run"), "cannot create the run directory")


def test_data_train_naming_a_directory_says_so(tmp_path):
    assert_one_line_error(cli("train", "--train", tmp_path, "--out", tmp_path / "run"), "is a directory")


def test_damaged_model_config_names_the_file_once(ner_model, tmp_path):
    import shutil

    shutil.copytree(ner_model, tmp_path / "m")
    data = json.loads((tmp_path / "m" / "config.json").read_text())
    data["config"]["train"]["lr"] = "fast"
    (tmp_path / "m" / "config.json").write_text(json.dumps(data))
    result = cli("tag", tmp_path / "m", stdin="Oslo.\n")
    assert_one_line_error(result, "config.json: train.lr")
    assert result.stderr.count(str(tmp_path / "m")) == 1


# 10-13: silent garbage


def test_one_file_score_needs_three_columns(tmp_path):
    two = write(tmp_path / "two.conll", "Maria B-PER\nflew O\n")
    assert_one_line_error(cli("score", two), "has 2 columns")


def test_score_refuses_two_standard_inputs():
    assert_one_line_error(cli("score", "-", "-", stdin="a O O\n"), "both standard input")


def test_conllu_given_as_conll_input_is_refused(upos_model):
    result = cli("tag", upos_model, SAMPLES / "sample-upos" / "test.conllu", "--input-format", "conll")
    assert_one_line_error(result, "looks like CoNLL-U")


@pytest.mark.parametrize("output_format", ["inline", "conll", "conllu"])
def test_scores_with_a_format_that_cannot_carry_them_is_refused(ner_model, output_format):
    result = cli("tag", ner_model, "--scores", "--output-format", output_format, stdin="Oslo.\n")
    assert_one_line_error(result, "--scores")


# 19: what the bytes are


def test_utf16_input_is_named(ner_model, tmp_path):
    path = write(tmp_path / "u16.txt", "Maria flew to Oslo.\n".encode("utf-16"))
    assert_one_line_error(cli("tag", ner_model, path), "UTF-16")
    assert_one_line_error(cli("corpora", "stats", path), "UTF-16")


@pytest.mark.parametrize("compress, suffix", [(gzip.compress, ".gz"), (bz2.compress, ".bz2"), (lzma.compress, ".xz")])
def test_compressed_inputs_are_read_transparently(ner_model, tmp_path, compress, suffix):
    plain = NER_TEST.read_bytes()
    packed = write(tmp_path / ("test.conll" + suffix), compress(plain))
    result = cli("corpora", "stats", packed, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(cli("corpora", "stats", NER_TEST, "--json").stdout)
    text = write(tmp_path / ("t.txt" + suffix), compress(b"Maria flew to Oslo.\n"))
    tagged = cli("tag", ner_model, text)
    assert tagged.exit_code == 0 and json.loads(tagged.stdout)["text"] == "Maria flew to Oslo."


@pytest.mark.parametrize(("compress", "kind"), [(gzip.compress, "gzip"), (bz2.compress, "bz2"), (lzma.compress, "xz")])
def test_damaged_compressed_input_is_one_line(ner_model, tmp_path, compress, kind):
    path = write(tmp_path / f"cut.conll.{kind}", compress(NER_TEST.read_bytes())[:200])
    assert_one_line_error(cli("corpora", "stats", path), f"damaged {kind} data")
    corrupt = compress(b"Maria flew to Oslo.\n" * 50)
    corrupt = corrupt[:30] + bytes(byte ^ 0x55 for byte in corrupt[30:60]) + corrupt[60:]  # flipped, not cut
    assert_one_line_error(cli("tag", ner_model, write(tmp_path / f"bad.txt.{kind}", corrupt)), f"damaged {kind} data")


@pytest.mark.parametrize(("redirect", "fragment"), [(">&-", "standard output is closed"), ("<&-", "standard input is closed")])
def test_a_closed_standard_stream_is_one_line(ner_model, tmp_path, redirect, fragment):
    text = write(tmp_path / "t.txt", "Maria flew to Oslo.\n")
    source = "" if redirect == "<&-" else f" {text}"
    command = f"{sys.executable} -m tagger tag {ner_model}{source} {redirect} 2>{tmp_path / 'err'}"
    result = subprocess.run(["sh", "-c", command], cwd=ROOT, timeout=120)
    message = (tmp_path / "err").read_text().strip()
    assert result.returncode == 2 and fragment in message and "\n" not in message, message


def test_cr_only_line_endings_are_named(tmp_path):
    path = write(tmp_path / "mac.conll", "Maria B-PER\rflew O\r\r")
    assert_one_line_error(cli("corpora", "stats", path), "CR-only line endings")


# 14: no dev set


def test_training_without_dev_reports_the_kept_epoch_by_training_loss(tmp_path):
    result = run_tagger(
        "train",
        "--train",
        SAMPLES / "sample-ner" / "train.conll",
        "--epochs",
        2,
        "--set",
        "model.hidden=16",
        "--threads",
        1,
        "--out",
        tmp_path / "run",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "no dev set: kept epoch" in result.stderr and "best dev" not in result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["best_dev_metric"] == "train_loss" and metrics["best_dev_score"] > 0


# 21: exit codes


def test_usage_errors_exit_2():
    assert cli("tag").exit_code == 2
    assert cli("evaluate", "--no-such-option").exit_code == 2


@pytest.mark.parametrize("command", [["corpora", "stats"], ["evaluate", "MODEL"], ["tag", "MODEL", "--input-format", "tokens"]])
def test_an_endless_stream_without_line_breaks_stops_at_the_line_limit(ner_model, command):
    args = " ".join(str(ner_model) if part == "MODEL" else part for part in command)
    endless = f"yes x | tr -d '\\n' | {sys.executable} -m tagger {args} -"
    result = subprocess.run(["sh", "-c", endless], cwd=ROOT, capture_output=True, text=True, timeout=120)
    message = result.stderr.strip()
    assert result.returncode == 2 and "<stdin>:1: a line longer than 1,048,576 bytes" in message and "\n" not in message
    zeros = run_tagger(*[str(ner_model) if part == "MODEL" else part for part in command], "/dev/zero")
    assert zeros.returncode == 2 and zeros.stderr.strip() == "error: /dev/zero:1: binary data (NUL byte), expected UTF-8 text"


def test_a_run_of_megabytes_without_white_space_in_raw_text_is_cut_with_a_warning(ner_model, tmp_path):
    blob = write(tmp_path / "blob.txt", "x" * 5_000_000 + " and Oslo .\n")
    result = run_tagger("tag", ner_model, blob, "--output-format", "conll")
    assert result.returncode == 0, result.stderr
    assert "without white space; it is cut into tokens of 1,048,576 characters" in result.stderr
    tokens = [line.split("\t")[0] for line in result.stdout.splitlines() if line and not line.startswith("#")]
    pieces, rest = tokens[:-3], tokens[-3:]
    assert rest == ["and", "Oslo", "."] and "".join(pieces) == "x" * 5_000_000
    assert len(pieces) >= 3 and max(map(len, pieces)) <= 2 * 1_048_576  # no piece beyond the documented limit


def hostile_copy(model, tmp_path, name: str, damage) -> object:
    """A copy of a model directory with one file damaged by `damage(path)`."""
    import shutil

    target = tmp_path / "hostile"
    shutil.copytree(model, target)
    damage(target / name)
    return target


def _edit_json(change):
    def damage(path):
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))

    return damage


def _safetensors_header(change):
    def damage(path):
        data = path.read_bytes()
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + size])
        change(header)
        encoded = json.dumps(header).encode()
        path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + data[8 + size :])

    return damage


def _relink(target):
    def damage(path):
        path.unlink()
        path.symlink_to(target)

    return damage


HOSTILE = {
    "metrics score a string": ("metrics.json", _edit_json(lambda d: d.update(best_dev_score="high")), "best_dev_score must be"),
    "metrics epochs a dict": ("metrics.json", _edit_json(lambda d: d.update(epochs_run={"n": 1})), "epochs_run must be"),
    "config a JSON string": ("config.json", lambda p: p.write_text('"model"'), "expected a JSON object"),
    "config nested deep": ("config.json", lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "nested more than"),
    "config huge integer": ("config.json", lambda p: p.write_text('{"format_version": ' + "9" * 5000 + "}"), "not valid JSON"),
    "metrics nested deep": ("metrics.json", lambda p: p.write_text('{"a": ' + "[" * 100 + "]" * 100 + "}"), "nested more than"),
    "vocab from /dev/zero": ("vocab.json", _relink("/dev/zero"), "not a regular file"),  # a device: never read
    "config from /dev/zero": ("config.json", _relink("/dev/zero"), "not a regular file"),
    "metadata a list": ("model.safetensors", _safetensors_header(lambda h: h.update(__metadata__=["x"])), "metadata must"),
    "shape a string": (
        "model.safetensors",
        _safetensors_header(lambda h: next(v for k, v in h.items() if k != "__metadata__").update(shape="12")),
        "no valid shape",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_model_directory_is_one_line_in_info_and_tag(ner_model, tmp_path, case):
    name, damage, fragment = HOSTILE[case]
    model = hostile_copy(ner_model, tmp_path, name, damage)
    for command in (["info", model], ["tag", model, "--input-format", "tokens"]):
        result = run_tagger(*command, input="Maria flew to Oslo .\n")
        message = result.stderr.strip()
        if command[0] == "tag" and name == "metrics.json":
            assert result.returncode == 0, message  # tagging does not read metrics.json
            continue
        assert result.returncode == 2 and "\n" not in message and name in message, (command, message)
        assert fragment in message or (command[0] == "tag" and name == "model.safetensors"), message  # safetensors' words


@pytest.mark.parametrize(
    ("setting", "limit", "named"),
    [
        ("model.hidden=8192 --set model.layers=16", "", "lower model.hidden (now 8,192)"),  # within the config's limits
        ("model.hidden=8192", "ulimit -v 3000000; ", "lower model.hidden"),  # under a process memory limit
    ],
)
def test_a_model_too_big_for_the_memory_is_refused_before_anything_is_written(tmp_path, setting, limit, named):
    out = tmp_path / "run"
    command = f"{limit}{sys.executable} -m tagger train configs/sample-ner.toml --set {setting} --out {out}"
    result = subprocess.run(["sh", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    message = result.stderr.strip()
    assert result.returncode == 2 and "GiB are available" in message and named in message and "\n" not in message, message
    assert not out.exists()


@pytest.mark.parametrize(
    "model", [{}, {"cell": "gru", "char_encoder": "lstm", "layers": 2}, {"char_encoder": "none", "crf": False}]
)
def test_the_memory_estimate_counts_the_parameters_torch_allocates(model):
    from tagger import config as config_module
    from tagger.memory import parameter_parts
    from tagger.model import TaggerModel

    settings = config_module.from_dict({"model": model}, "test").model
    labels = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    built = sum(parameter.numel() for parameter in TaggerModel(settings, 5000, 90, labels, "IOBES").parameters())
    assert sum(parameter_parts(settings, 5000, 90, len(labels)).values()) == pytest.approx(built, rel=0.01)


ALLOCATION_FAILURE = "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"


def test_an_allocation_failure_inside_training_is_one_line(monkeypatch, tmp_path):
    from tagger import training

    def fails(*args, **kwargs):
        raise RuntimeError(f"{ALLOCATION_FAILURE}: you tried to allocate 160000000000 bytes")

    monkeypatch.setattr(training, "train", fails)
    result = cli("train", "configs/sample-ner.toml", "--out", tmp_path / "run")
    assert_one_line_error(result, f"out of memory ({ALLOCATION_FAILURE}")


def test_a_program_is_called_binary_data_not_utf16_text(ner_model, tmp_path):
    """An ELF executable has NUL bytes in every other position too; its other bytes are not text."""
    program = tmp_path / "program"
    program.write_bytes(
        b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00>\x00\x01\x00\x00\x00\xd0a" + bytes(6) + b"@" + bytes(7) * 20
    )
    for command in (("tag", ner_model, program), ("corpora", "stats", program)):
        result = cli(*command)
        assert_one_line_error(result, "binary data")
        assert "UTF-16" not in result.stderr


def test_a_binary_file_in_a_tagged_directory_stops_the_run_before_any_output(ner_model, tmp_path):
    """#44: the text files before it were tagged to stdout, then the run stopped half way."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write(inputs / "a.txt", "Maria flew to Oslo .\n")
    (inputs / "b.bin").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(40))
    write(inputs / "c.txt", "Peter met Anna .\n")
    result = cli("tag", ner_model, inputs, "--input-format", "tokens")
    assert_one_line_error(result, "b.bin:1: binary data")
    assert result.stdout == ""
