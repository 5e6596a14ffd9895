"""The raw-text tokenizer and sentence splitter on tricky strings; offsets must slice the input."""

import json
import unicodedata

import pytest
import regex

from tagger.formats.text import read_text, sentences_of, tokenize


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("I don't know.", ["I", "do", "n't", "know", "."]),
        ("We can't, won't.", ["We", "ca", "n't", ",", "wo", "n't", "."]),
        ("It's John's car and they're late.", ["It", "'s", "John", "'s", "car", "and", "they", "'re", "late", "."]),
        ("See https://example.com/a?b=1, now.", ["See", "https://example.com/a?b=1", ",", "now", "."]),
        ("Mail joe.smith@mail.co.uk today", ["Mail", "joe.smith@mail.co.uk", "today"]),
        ("It cost $1,200.50 on 1996-08-22.", ["It", "cost", "$", "1,200.50", "on", "1996-08-22", "."]),
        ("The U.S. and Mr. Smith agreed", ["The", "U.S.", "and", "Mr.", "Smith", "agreed"]),
        ("(Really?) Yes...", ["(", "Really", "?", ")", "Yes", "..."]),
        ("At 10:30am, 3.5pm or 2nd in the 1990s", ["At", "10:30am", ",", "3.5pm", "or", "2nd", "in", "the", "1990s"]),
        ("O'Brien's rock-and-roll", ["O'Brien", "'s", "rock-and-roll"]),
        ("Hi 😀 there", ["Hi", "😀", "there"]),
        ("cafe\u0301 ok", ["cafe\u0301", "ok"]),
        ("a\u200bb", ["a", "b"]),
        ("שלום עולם!", ["שלום", "עולם", "!"]),
        ("tab\tseparated\r\nline", ["tab", "separated", "line"]),
        # as the Universal NER / UD treebanks write them: currencies, numbers with a hyphenated suffix
        ("Custou US$ 10 ou R$ 5", ["Custou", "US$", "10", "ou", "R$", "5"]),
        ("på 60-talet, 1990-ih godina", ["på", "60-talet", ",", "1990-ih", "godina"]),
        ("Čakovec i Šibenik, Београд и Ниш", ["Čakovec", "i", "Šibenik", ",", "Београд", "и", "Ниш"]),
    ],
)
def test_tokens_and_offsets(text, tokens):
    sentences = sentences_of(text)
    assert [token for sentence in sentences for token in sentence.tokens] == tokens
    for sentence in sentences:
        assert [text[start:end] for start, end in sentence.offsets] == sentence.tokens
        assert sentence.text == text[sentence.offsets[0][0] : sentence.offsets[-1][1]]


@pytest.mark.parametrize(
    "text, count",
    [
        ("He left. She stayed.", 2),
        ("Mr. Smith left. Then he came back!", 2),
        ('"Stop!" he said. Then silence.', 2),
        ("It is 3.5 km. We walked", 2),
        ("no full stop at the end", 1),
        ("What? Why... I see.", 3),
    ],
)
def test_sentence_splitting(text, count):
    assert len(sentences_of(text)) == count


def test_paragraph_offsets_index_the_whole_input():
    text = "First paragraph here.\r\n\r\nSecond one, with CRLF.\nStill second.\n\n\nThird."
    sentences = list(read_text([text[:10], text[10:33], text[33:]]))
    assert [s.tokens[0] for s in sentences] == ["First", "Second", "Still", "Third"]
    for sentence in sentences:
        assert [text[a:b] for a, b in sentence.offsets] == sentence.tokens


def test_very_long_line_is_linear_and_exact():
    text = ("word, " * 20000) + "x" * 100000
    sentences = sentences_of(text)
    assert sum(len(s) for s in sentences) == 40001
    assert all(text[a:b] == t for s in sentences for (a, b), t in zip(s.offsets, s.tokens))


def test_paragraph_longer_than_the_buffer_is_cut_at_white_space(monkeypatch):
    from tagger.formats import text as text_module

    monkeypatch.setattr(text_module, "MAX_PARAGRAPH_CHARS", 50)
    text = "Alpha beta gamma delta. " * 20
    sentences = list(read_text(text[i : i + 7] for i in range(0, len(text), 7)))
    tokens = [token for sentence in sentences for token in sentence.tokens]
    assert tokens == text.replace(".", " .").split()
    assert all(text[a:b] == t for s in sentences for (a, b), t in zip(s.offsets, s.tokens))


@pytest.mark.parametrize(
    "text, expected",
    [
        (unicodedata.normalize("NFD", "München ist schön."), unicodedata.normalize("NFD", "München ist schön .").split()),
        ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),
        ("I ❤️ 🇳🇴 and 👩\u200d👩\u200d👧!", ["I", "❤️", "🇳🇴", "and", "👩\u200d👩\u200d👧", "!"]),
        ("e\u0301te\u0301 ,\u0301 x", ["e\u0301te\u0301", ",\u0301", "x"]),
    ],
)
def test_tokens_never_split_a_grapheme_cluster(text, expected):
    spans = tokenize(text)
    assert [text[start:end] for start, end in spans] == expected
    clusters = {match.end() for match in regex.finditer(r"\X", text)} | {0}
    assert all(start in clusters and end in clusters for start, end in spans)


def test_mentions_and_hashtags_stay_whole():
    text = "Thanks @maria_l! #NLP2026 rocks, C# too, #1 fan, me@example.org"
    assert [text[s:e] for s, e in tokenize(text)] == [
        "Thanks",
        "@maria_l",
        "!",
        "#NLP2026",
        "rocks",
        ",",
        "C",
        "#",
        "too",
        ",",
        "#",
        "1",
        "fan",
        ",",
        "me@example.org",
    ]


def test_a_token_longer_than_the_read_piece_stays_one_token():
    from tagger.formats.text import MAX_PARAGRAPH_CHARS

    long_token = "x" * (MAX_PARAGRAPH_CHARS + 5000)
    text = f"{long_token} end"
    pieces = [text[i : i + 65536] for i in range(0, len(text), 65536)]
    sentences = list(read_text(pieces))
    assert [len(t) for s in sentences for t in s.tokens] == [len(long_token), 3]
    assert sentences[-1].offsets[-1] == (len(text) - 3, len(text))


def test_sentence_per_line_makes_each_line_one_sentence_with_offsets():
    text = "no final stop here\nlol what. Another one\n\n  indented line\n"
    sentences = list(read_text([text], sentence_per_line=True))
    assert [s.tokens for s in sentences] == [
        ["no", "final", "stop", "here"],
        ["lol", "what", ".", "Another", "one"],
        ["indented", "line"],
    ]
    assert all(text[start:end] == token for s in sentences for token, (start, end) in zip(s.tokens, s.offsets))


def test_unsegmented_chinese_is_refused_with_its_line_and_nothing_written(ner_model, tmp_path):
    from tests.conftest import run_tagger, write

    source = write(tmp_path / "mixed.txt", "Hello there .\n\nMaria flew to Oslo .\n我爱北京天安门。\n")
    target = tmp_path / "out.jsonl"
    result = run_tagger("tag", ner_model, source, "--output", target)
    assert result.returncode == 2 and not target.exists()
    message = result.stderr.strip()
    assert message.startswith(f"error: {source}:4: ") and "--input-format tokens" in message and "\n" not in message
    spaced = run_tagger("tag", ner_model, "--input-format", "tokens", input="我 爱 北京 天安门 。\n")
    assert spaced.returncode == 0 and len(json.loads(spaced.stdout)["tokens"]) == 5


def test_a_few_chinese_characters_in_other_text_are_tagged(ner_model):
    from tagger import Tagger
    from tagger.errors import InputError

    tagger = Tagger.load(ner_model)
    (record,) = tagger.tag("Mao 毛泽东 visited 北京 .")
    assert [token["text"] for token in record["tokens"]] == ["Mao", "毛泽东", "visited", "北京", "."]
    with pytest.raises(InputError, match="<text>:2: Chinese, Japanese"):
        tagger.tag("Fine .\n在北京的天安门广场上。")


def test_line_numbers_across_chunk_boundaries():
    from tagger.formats.unsegmented import LineCounter

    chunks = ["a\nb", "c\n\nd", "\ne"]
    counter = LineCounter(chunks)
    assert "".join(counter) == "a\nbc\n\nd\ne"
    assert [counter.line_of(offset) for offset in (0, 2, 3, 5, 6, 8)] == [1, 2, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "text",
    [
        "นายกรัฐมนตรีเดินทางไปกรุงเทพมหานครเมื่อวานนี้",  # Thai
        "ລັດຖະບານລາວປະກາດນະໂຍບາຍໃໝ່ໃນມື້ນີ້",  # Lao
        "រដ្ឋាភិបាលកម្ពុជាបានប្រកាសគោលនយោបាយថ្មី",  # Khmer
        "မြန်မာနိုင်ငံအစိုးရကမူဝါဒအသစ်ကြေညာခဲ့သည်",  # Burmese
    ],
)
def test_scripts_written_without_spaces_between_words_are_refused_as_chinese_is(ner_model, text):
    """A run of Thai (Lao, Khmer, Burmese) was tagged as one word; now it is one line pointing to --input-format tokens."""
    from tagger import Tagger
    from tagger.errors import InputError

    with pytest.raises(InputError, match="without spaces between words"):
        Tagger.load(ner_model).tag(f"Fine .\n{text}")


def test_soft_hyphens_and_bidirectional_marks_stay_inside_their_word():
    """`Mer\u00adkel` was three tokens (`Mer`, the soft hyphen, `kel`); marks between words separate them."""
    text = "Angela Mer\u00adkel met \u202bשלום\u202c and abc\u200fdef ."
    tokens = [text[start:end] for start, end in tokenize(text)]
    assert tokens == ["Angela", "Mer\u00adkel", "met", "שלום", "and", "abc\u200fdef", "."]


def test_a_word_with_a_soft_hyphen_is_looked_up_without_it():
    from tagger import Tagger

    tagger = Tagger.load("en-ner")
    plain, hyphenated = (tagger.tag(f"Angela Mer{mark}kel visited Paris .")[0] for mark in ("", "\u00ad"))
    assert [t["label"] for t in hyphenated["tokens"]] == [t["label"] for t in plain["tokens"]]
    assert hyphenated["tokens"][1]["text"] == "Mer\u00adkel"
