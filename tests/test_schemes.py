from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger import schemes
from tagger.schemes import IOB1, IOB2, IOBES, Span


def test_spans_of_iob1_with_b_between_same_type_entities():
    tags = ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    assert schemes.extract_spans(tags) == [Span(0, 2, "PER"), Span(2, 3, "PER"), Span(4, 5, "LOC")]


def test_ill_formed_inside_after_outside_opens_a_span_as_conlleval_does():
    assert schemes.extract_spans(["O", "I-ORG", "I-ORG"]) == [Span(1, 3, "ORG")]


def test_type_change_without_prefix_change_splits_spans():
    assert schemes.extract_spans(["B-PER", "I-LOC", "I-LOC"]) == [Span(0, 1, "PER"), Span(1, 3, "LOC")]


def test_iobes_single_and_end_tags_close_spans():
    tags = ["S-PER", "S-PER", "B-LOC", "E-LOC", "B-LOC", "I-LOC", "E-LOC"]
    assert schemes.extract_spans(tags) == [Span(0, 1, "PER"), Span(1, 2, "PER"), Span(2, 4, "LOC"), Span(4, 7, "LOC")]


@pytest.mark.parametrize(
    "tags, expected",
    [
        (["I-PER", "O", "B-LOC"], IOB1),
        (["O", "I-PER"], IOB1),
        (["B-PER", "I-PER", "O", "B-LOC"], IOB2),
        (["S-PER", "O"], IOBES),
        (["B-PER", "E-PER"], IOBES),
    ],
)
def test_detect_scheme(tags, expected):
    assert schemes.detect_scheme([tags]) == expected


IOB1_TAGS = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "O", "I-ORG", "I-MISC"]


@pytest.mark.parametrize("target", [IOB2, IOBES])
def test_conversion_from_iob1_and_back_is_lossless(target):
    converted = schemes.convert(IOB1_TAGS, target)
    assert schemes.extract_spans(converted) == schemes.extract_spans(IOB1_TAGS)
    assert schemes.convert(converted, IOB1) == IOB1_TAGS


def test_iob2_and_iobes_encodings():
    assert schemes.convert(IOB1_TAGS, IOB2) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O", "B-ORG", "B-MISC"]
    assert schemes.convert(IOB1_TAGS, IOBES) == ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O", "S-ORG", "S-MISC"]


def test_span_labelling_is_told_from_pos_tags():
    assert schemes.is_span_labelling(Counter({"O": 10, "B-PER": 2, "X-PER": 1}))
    assert not schemes.is_span_labelling(Counter({"NOUN": 10, "X": 3, "PROPN": 4}))


@pytest.mark.parametrize("tag", ["X-PER", "B-", "PER", "b-PER"])
def test_invalid_span_tags(tag):
    assert not schemes.is_valid_tag(tag)


@pytest.mark.parametrize(
    "previous, current, scheme, allowed",
    [
        ("O", "I-PER", IOB2, False),
        ("B-PER", "I-PER", IOB2, True),
        ("B-LOC", "I-PER", IOB2, False),
        (None, "I-PER", IOB2, False),
        ("O", "I-PER", IOB1, True),
        ("O", "B-PER", IOB1, False),
        ("I-PER", "B-PER", IOB1, True),
        ("B-PER", "O", IOBES, False),
        ("B-PER", "E-PER", IOBES, True),
        ("E-PER", "I-PER", IOBES, False),
        ("S-PER", None, IOBES, True),
        ("I-PER", None, IOBES, False),
    ],
)
def test_allowed_transitions(previous, current, scheme, allowed):
    assert schemes.allowed_transition(previous, current, scheme) is allowed


@st.composite
def span_sets(draw):
    """Non-overlapping typed spans over a sentence of up to 12 tokens (adjacent same-type spans included)."""
    length = draw(st.integers(1, 12))
    spans, position = [], 0
    while position < length:
        position += draw(st.integers(0, 2))
        if position >= length:
            break
        end = draw(st.integers(position + 1, min(length, position + 4)))
        spans.append(schemes.Span(position, end, draw(st.sampled_from(["PER", "LOC", "ORG"]))))
        position = end
    return spans, length


@given(span_sets(), st.sampled_from(schemes.SCHEMES))
def test_encoded_spans_are_extracted_back(spans_and_length, scheme):
    spans, length = spans_and_length
    assert schemes.extract_spans(schemes.encode_spans(spans, length, scheme)) == spans


@given(span_sets(), st.sampled_from(schemes.SCHEMES), st.sampled_from(schemes.SCHEMES))
def test_conversion_round_trips_through_any_scheme(spans_and_length, first, second):
    spans, length = spans_and_length
    tags = schemes.encode_spans(spans, length, first)
    assert schemes.convert(schemes.convert(tags, second), first) == tags


@given(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-PER", "I-LOC", "B-LOC"]), min_size=1, max_size=12))
def test_extraction_of_any_tag_sequence_gives_ordered_disjoint_spans(tags):
    spans = schemes.extract_spans(tags)
    assert all(0 <= span.start < span.end <= len(tags) for span in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    for scheme in schemes.SCHEMES:
        assert schemes.extract_spans(schemes.convert(tags, scheme)) == spans
