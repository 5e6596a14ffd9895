"""Column-file and CoNLL-U readers and writers: layouts, round trips and bad input."""

import io

import pytest

from tagger.errors import InputError
from tagger.formats import read_all, read_corpus, write_corpus
from tests.conftest import write

CONLL = """-DOCSTART- -X- -X- O

Acme NNP I-NP I-ORG
hires VBZ I-VP O
Danish JJ I-NP I-MISC
. . O O

# a comment before a sentence
Lena NNP I-NP I-PER
Holm NNP I-NP I-PER

"""

CONLLU = """# sent_id = 1
# text = I don't know.
1	I	I	PRON	PRP	_	3	nsubj	_	_
2-3	don't	_	_	_	_	_	_	_	_
2	do	do	AUX	VBP	_	4	aux	_	_
3	n't	not	PART	RB	_	4	advmod	_	_
4	know	know	VERB	VB	_	0	root	_	SpaceAfter=No|NER=O
4.1	knew	know	VERB	VBD	_	_	_	4:conj	_
5	.	.	PUNCT	.	_	4	punct	_	_

"""


def roundtrip(path, **options):
    format_name, column, sentences = read_all(str(path), **options)
    out = io.StringIO(newline="")
    write_corpus(sentences, out, format_name, column, column)
    return out.getvalue().encode("utf-8")


def test_conll_reads_tokens_and_last_column_skipping_docstart(tmp_path):
    path = write(tmp_path / "a.conll", CONLL)
    format_name, column, sentences = read_all(str(path))
    assert format_name == "conll"
    assert [s.tokens for s in sentences] == [["Acme", "hires", "Danish", "."], ["Lena", "Holm"]]
    assert sentences[0].labels[column] == ["I-ORG", "O", "I-MISC", "O"]


def test_conll_label_column_is_configurable(tmp_path):
    path = write(tmp_path / "a.conll", CONLL)
    _, column, sentences = read_all(str(path), label_column="2")
    assert sentences[0].labels[column] == ["NNP", "VBZ", "JJ", "."]
    assert sentences[1].line_number(0) == 9


def test_conll_token_column_is_configurable(tmp_path):
    path = write(tmp_path / "a.tsv", "O\tParis\nO\tis\n")
    _, column, sentences = read_all(str(path), token_column="2", label_column="1")
    assert sentences[0].tokens == ["Paris", "is"]


def test_docstart_in_the_token_column_after_an_id_column_ends_a_document_and_round_trips(tmp_path):
    text = "1\t-DOCSTART-\tO\n\n1\tAcme\tB-ORG\n2\thires\tO\n\n1\t-DOCSTART-\tO\n1\tLena\tB-PER\n\n"
    path = write(tmp_path / "a.tsv", text)
    _, column, sentences = read_all(str(path), token_column="2", label_column="3")
    assert [s.tokens for s in sentences] == [["Acme", "hires"], ["Lena"]]
    assert roundtrip(path, token_column="2", label_column="3") == text.encode("utf-8")


@pytest.mark.parametrize(
    "text",
    [
        CONLL,
        CONLL.replace("\n", "\r\n"),
        "\ufeff" + CONLL,
        CONLL.replace(" ", "\t"),
        CONLL.rstrip("\n"),
        CONLL + "\n\n-DOCSTART- -X- -X- O\n",
    ],
    ids=["lf", "crlf", "bom", "tabs", "no-final-newline", "trailing-docstart"],
)
def test_conll_round_trip_is_byte_identical(tmp_path, text):
    path = write(tmp_path / "a.conll", text)
    assert roundtrip(path) == text.encode("utf-8")


def test_conll_writer_changes_only_the_label_column(tmp_path):
    path = write(tmp_path / "a.conll", "Acme  NNP   I-ORG\nis VBZ  O\n")
    format_name, column, sentences = read_all(str(path))
    sentences[0].labels[column] = ["B-ORG", "X"]
    out = io.StringIO(newline="")
    write_corpus(sentences, out, format_name, column, column)
    assert out.getvalue() == "Acme  NNP   B-ORG\nis VBZ  X\n"


def test_conllu_words_only_keep_multiword_tokens_and_empty_nodes(tmp_path):
    path = write(tmp_path / "a.conllu", CONLLU)
    format_name, column, sentences = read_all(str(path))
    assert (format_name, column) == ("conllu", "upos")
    assert sentences[0].tokens == ["I", "do", "n't", "know", "."]
    assert sentences[0].labels["upos"] == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert roundtrip(path) == CONLLU.encode()


@pytest.mark.parametrize("column, expected", [("xpos", "VBP"), ("lemma", "do"), ("5", "VBP")])
def test_conllu_label_from_named_field(tmp_path, column, expected):
    path = write(tmp_path / "a.conllu", CONLLU)
    _, _, sentences = read_all(str(path), label_column=column)
    assert sentences[0].labels[column][1] == expected


def test_conllu_writer_changes_only_the_predicted_column(tmp_path):
    path = write(tmp_path / "a.conllu", CONLLU)
    format_name, column, sentences = read_all(str(path))
    sentences[0].labels[column] = ["X"] * 5
    out = io.StringIO(newline="")
    write_corpus(sentences, out, format_name, column, column)
    changed = [(a, b) for a, b in zip(CONLLU.splitlines(), out.getvalue().splitlines()) if a != b]
    assert len(changed) == 5
    assert all(a.split("\t")[:3] + a.split("\t")[4:] == b.split("\t")[:3] + b.split("\t")[4:] for a, b in changed)
    assert "2-3\tdon't" in out.getvalue() and "4.1\tknew" in out.getvalue()


def test_conllu_misc_key_as_label(tmp_path):
    text = "1\tParis\t_\tPROPN\t_\t_\t0\troot\t_\tNER=B-LOC\n2\tis\t_\tAUX\t_\t_\t1\tcop\t_\tNER=O\n\n"
    path = write(tmp_path / "a.conllu", text)
    format_name, column, sentences = read_all(str(path), label_column="NER")
    assert sentences[0].labels["NER"] == ["B-LOC", "O"]
    sentences[0].labels["NER"] = ["B-ORG", "O"]
    out = io.StringIO(newline="")
    write_corpus(sentences, out, format_name, column, column)
    assert out.getvalue() == text.replace("NER=B-LOC", "NER=B-ORG")


def test_format_is_detected_and_can_be_overridden(tmp_path):
    path = write(tmp_path / "a.txt", CONLLU)
    assert read_corpus(str(path))[0] == "conllu"
    format_name, _, sentences = read_all(str(path), format_name="conll", label_column="4", token_column=2)
    assert format_name == "conll" and sentences[0].tokens[0] != "1"


def test_conllu_read_as_columns_with_the_id_as_token_is_refused(tmp_path):
    path = write(tmp_path / "a.conllu", CONLLU)
    with pytest.raises(InputError, match="looks like CoNLL-U"):
        read_all(str(path), format_name="conll", label_column="4")


@pytest.mark.parametrize(
    "name, content, line, fragment",
    [
        ("columns.conll", "Acme NNP I-ORG\nhires O\n", 2, "expected 3 columns"),
        ("label.conll", "Acme NNP I-ORG\n", 1, "label column 7 does not exist"),
        ("utf8.conll", b"Acme NNP O\n\xff\xfe O O\n", 2, "invalid UTF-8"),
        ("empty.conll", "", 1, "no sentences"),
        ("blank.conll", "\n\n-DOCSTART- -X- O O\n\n", 1, "no sentences"),
        ("id.conllu", "1\ta\t_\t_\t_\t_\t_\t_\t_\t_\nx\tb\t_\t_\t_\t_\t_\t_\t_\t_\n", 2, "invalid CoNLL-U id"),
        ("fields.conllu", "1\ta\t_\t_\t_\t_\t_\t_\t_\t_\n2\tb\t_\n", 2, "expected 10 tab-separated"),
    ],
)
def test_bad_input_names_file_line_and_problem(tmp_path, name, content, line, fragment):
    path = write(tmp_path / name, content)
    options = {"label_column": "7"} if name == "label.conll" else {}
    with pytest.raises(InputError) as caught:
        read_all(str(path), **options)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert fragment in caught.value.problem


def test_directory_and_missing_file_are_reported(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        read_all(str(tmp_path))
    with pytest.raises(InputError, match="no such file"):
        read_all(str(tmp_path / "missing.conll"))


def test_reading_is_a_stream(tmp_path):
    path = write(tmp_path / "a.conll", "a O\n\nb O\n\n" + "broken line here\n")
    _, _, sentences = read_corpus(str(path))
    assert next(sentences).tokens == ["a"]
    with pytest.raises(InputError):
        list(sentences)


TWEETS = "#\tO\nFF\tO\n@maria\tB-PER\n\n#london\tB-LOC\nrocks\tO\n\n# text = a comment\n# a longer free comment\nbye\tO\n\n"


def test_hash_token_rows_are_tokens_not_comments(tmp_path):
    path = write(tmp_path / "tweets.tsv", TWEETS)
    with pytest.warns(UserWarning, match=r"tweets.tsv:1: a line starting with '#'"):
        _, column, sentences = read_all(str(path))
    assert [s.tokens for s in sentences] == [["#", "FF", "@maria"], ["#london", "rocks"], ["bye"]]
    assert sentences[1].labels[column] == ["B-LOC", "O"]
    assert roundtrip(path) == TWEETS.encode("utf-8")


def test_hash_lines_with_another_column_count_or_key_value_form_stay_comments(tmp_path):
    text = "Acme NNP I-NP I-ORG\n\n# sent_id = 2\n# two words\nLena NNP I-NP I-PER\n\n"
    path = write(tmp_path / "a.conll", text)
    _, _, sentences = read_all(str(path))
    assert [s.tokens for s in sentences] == [["Acme"], ["Lena"]]
    assert roundtrip(path) == text.encode("utf-8")
