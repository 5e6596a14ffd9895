"""Fuzzed readers, tokenizer and commands: the only outcomes allowed are a result or the clean error.

Bounded examples keep CI fast; `python tests/benchmarks/fuzz_long.py` runs the same properties longer.
"""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagger.errors import InputError
from tagger.formats import read_corpus
from tagger.formats.text import read_text, sentences_of
from tests import helpers
from tests.conftest import SAMPLES

EXAMPLES = int(os.environ.get("TAGGER_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VALID = {
    "conll": (SAMPLES / "sample-ner" / "dev.conll").read_bytes()[:3000],
    "conllu": (SAMPLES / "sample-upos" / "dev.conllu").read_bytes()[:3000],
}


@st.composite
def mutated(draw):
    """A valid sample with random byte edits: deletions, insertions and replacements."""
    data = bytearray(VALID[draw(st.sampled_from(sorted(VALID)))])
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=6) | st.sampled_from([b"\t", b"\n", b" ", b"\r\n", b"-", b"#", b"\xff"]))
        if action == "delete":
            del data[position : position + len(chunk)]
        elif action == "insert":
            data[position:position] = chunk
        else:
            data[position : position + len(chunk)] = chunk
    return bytes(data)


def read_everything(path, **options):
    format_name, column, sentences = read_corpus(str(path), **options)
    return [(s.tokens, s.labels.get(column) if column else None) for s in sentences]


def assert_result_or_clean_error(path, **options):
    try:
        sentences = read_everything(path, **options)
    except InputError as error:
        assert error.path == str(path) and error.problem and "\n" not in str(error)
        return
    for tokens, labels in sentences:
        assert tokens and (labels is None or len(labels) == len(tokens))


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes(tmp_path, data):
    path = tmp_path / "random.txt"
    path.write_bytes(data)
    for format_name in (None, "conll", "conllu"):
        assert_result_or_clean_error(path, format_name=format_name)


@FUZZ
@given(data=mutated())
def test_mutated_valid_files(tmp_path, data):
    path = tmp_path / "mutated.txt"
    path.write_bytes(data)
    assert_result_or_clean_error(path)
    assert_result_or_clean_error(path, with_labels=False)


@FUZZ
@given(text=st.text(max_size=300))
def test_tokenizer_offsets_always_slice_the_input(text):
    for sentence in sentences_of(text):
        assert sentence.tokens
        assert [text[a:b] for a, b in sentence.offsets] == sentence.tokens
    pieces = [text[i : i + 17] for i in range(0, len(text), 17)]
    assert [s.offsets for s in read_text(pieces)] == [s.offsets for s in read_text([text])]


def run_cli(*args):
    result = helpers.cli(*args)
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    if result.exit_code == 2:
        assert "Traceback" not in result.output
    return result


@FUZZ
@given(data=mutated())
def test_corpora_stats_and_score_end_to_end(tmp_path, data):
    path = tmp_path / "input.txt"
    path.write_bytes(data)
    run_cli("corpora", "stats", str(path), "--json")
    run_cli("score", str(path))


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(lambda text: text.encode("utf-8")))
def test_tag_end_to_end(ner_model, tmp_path, data):
    path = tmp_path / "input.txt"
    path.write_bytes(data)
    for input_format in ("text", "tokens"):
        result = run_cli("tag", str(ner_model), str(path), "--input-format", input_format, "--device", "cpu")
        if result.exit_code == 0 and input_format == "text":
            text = data.decode("utf-8")
            import json

            for line in result.stdout.splitlines():
                for token in json.loads(line)["tokens"]:
                    assert text[token["start"] : token["end"]] == token["text"]


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(lambda text: text.encode("utf-8")))
def test_vectors_and_token_line_readers(tmp_path, data):
    from tagger.files import read_lines
    from tagger.formats.text import read_token_lines
    from tagger.vectors import read_vectors

    path = tmp_path / "input.txt"
    path.write_bytes(data)
    try:
        words, vectors = read_vectors(path, lowercase=True)
        assert len(words) == len(vectors) and len({len(v) for v in vectors}) == 1
    except InputError as error:
        assert error.path == str(path)
    try:
        text = data.decode("utf-8")
        for sentence in read_token_lines(read_lines(path)):
            assert [text[a:b] for a, b in sentence.offsets] == sentence.tokens
    except (InputError, UnicodeDecodeError):
        pass
