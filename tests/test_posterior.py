"""Token marginals, span marginals and k-best labellings against enumerating every labelling of small random chains."""

import itertools

import numpy
import pytest
import torch

from tagger.crf import TransitionConstraints
from tagger.posterior import Chain, SpanAt, forward_backward, k_best, log_partition, span_probabilities
from tagger.schemes import IOB1, IOB2, IOBES, extract_spans, span_labels

# (scheme, labels): 3 to 5 labels, each scheme's constraints
CASES = [
    (IOBES, span_labels(["B-A"], IOBES)),  # O B-A I-A E-A S-A
    (IOB2, span_labels(["B-A"], IOB2)),  # O B-A I-A
    (IOB2, span_labels(["B-A", "B-C"], IOB2)),  # O B-A I-A B-C I-C
    (IOB1, span_labels(["B-A"], IOB1)),  # O I-A B-A
    (IOB1, span_labels(["B-A", "B-C"], IOB1)),
    (None, ["NOUN", "VERB", "DET", "ADJ"]),
]
LENGTHS = [1, 2, 6, 4, 3, 5]


def random_chain(labels: list[str], scheme: str | None, seed: int) -> Chain:
    """A chain of NumPy arrays (as the posterior reads them) with random scores under the scheme's constraints."""
    generator = torch.Generator().manual_seed(seed)
    size = len(labels)
    constraints = TransitionConstraints(labels, scheme)
    emissions = torch.randn(len(LENGTHS), max(LENGTHS), size, generator=generator) * 2
    mask = torch.arange(max(LENGTHS))[None, :] < torch.tensor(LENGTHS)[:, None]
    start, transitions, end = (torch.randn(*shape, generator=generator) for shape in [(size,), (size, size), (size,)])
    scores = (start + constraints.start, transitions + constraints.pairs, end + constraints.end)
    return Chain(emissions.numpy(), mask.numpy(), *(part.numpy() for part in scores))


def tensor(array) -> torch.Tensor:
    return torch.from_numpy(numpy.ascontiguousarray(array))


def enumerate_labellings(chain: Chain, row: int) -> dict[tuple[int, ...], float]:
    """Every labelling of sentence `row` with its probability (scored all at once, in float64)."""
    length = int(chain.lengths[row])
    emissions = tensor(chain.emissions[row, :length]).double()
    paths = torch.tensor(list(itertools.product(range(emissions.size(1)), repeat=length)))  # (labellings, length)
    scores = tensor(chain.start).double()[paths[:, 0]] + tensor(chain.end).double()[paths[:, -1]]
    scores = scores + emissions.gather(1, paths.T).sum(0)
    scores = scores + tensor(chain.transitions).double()[paths[:, :-1], paths[:, 1:]].sum(1)
    probabilities = (scores - torch.logsumexp(scores, 0)).exp()
    return dict(zip(map(tuple, paths.tolist()), probabilities.tolist()))


@pytest.mark.parametrize("scheme,labels", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_token_marginals_equal_enumeration(scheme, labels, seed):
    chain = random_chain(labels, scheme, seed)
    marginals = tensor(forward_backward(chain).marginals(chain.mask))
    for row, length in enumerate(LENGTHS):
        enumerated = enumerate_labellings(chain, row)
        paths, weights = torch.tensor(list(enumerated)), torch.tensor(list(enumerated.values()), dtype=torch.float64)
        expected = (torch.nn.functional.one_hot(paths, len(labels)).double() * weights[:, None, None]).sum(0)
        assert torch.allclose(marginals[row, :length].double(), expected, atol=1e-5)
        assert marginals[row, length:].eq(0).all()


@pytest.mark.parametrize("scheme,labels", [case for case in CASES if case[0] is not None])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_span_marginals_equal_enumeration(scheme, labels, seed):
    """Every possible span of every sentence: its probability equals the summed probability of the labellings holding it."""
    chain = random_chain(labels, scheme, seed)
    types = sorted({label.split("-", 1)[1] for label in labels if label != "O"})
    spans = [
        SpanAt(row, start, end, kind)
        for row, length in enumerate(LENGTHS)
        for start in range(length)
        for end in range(start + 1, length + 1)
        for kind in types
    ]
    probabilities = span_probabilities(chain, forward_backward(chain), spans, labels, scheme)
    expected = dict.fromkeys(spans, 0.0)
    for row in range(len(LENGTHS)):
        for path, probability in enumerate_labellings(chain, row).items():
            for span in extract_spans([labels[label] for label in path]):
                expected[SpanAt(row, span.start, span.end, span.label)] += probability
    assert probabilities.tolist() == pytest.approx([expected[span] for span in spans], abs=1e-5)


@pytest.mark.parametrize("scheme,labels", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_k_best_equals_the_most_probable_labellings_in_order(scheme, labels, seed):
    chain = random_chain(labels, scheme, seed)
    k = 7
    paths, log_probabilities = (tensor(part) for part in k_best(chain, k))
    for row, length in enumerate(LENGTHS):
        ranked = sorted(enumerate_labellings(chain, row).items(), key=lambda item: -item[1])
        possible = [(path, probability) for path, probability in ranked if probability > 1e-30][:k]
        found = [
            (tuple(paths[row, rank, :length].tolist()), float(log_probabilities[row, rank].exp()))
            for rank in range(k)
            if log_probabilities[row, rank] > -torch.inf
        ]
        assert [path for path, _ in found] == [path for path, _ in possible]
        assert [probability for _, probability in found] == pytest.approx([p for _, p in possible], abs=1e-5)
        assert all(paths[row, rank, length:].eq(0).all() for rank in range(k))


@pytest.mark.parametrize("scheme,labels", CASES)
def test_first_of_k_best_is_viterbi(scheme, labels):
    from tagger.crf import viterbi

    for seed in range(5):
        chain = random_chain(labels, scheme, seed)
        paths, _ = k_best(chain, 3)
        parts = (tensor(part) for part in (chain.emissions, chain.mask, chain.start, chain.transitions, chain.end))
        assert torch.equal(tensor(paths[:, 0]), viterbi(*parts))


def test_log_partition_is_the_forward_backward_one():
    chain = random_chain(CASES[0][1], IOBES, 4)
    assert numpy.allclose(log_partition(chain), forward_backward(chain).log_z)


def test_tempering_keeps_the_best_labelling_and_flattens_confidences():
    chain = random_chain(CASES[0][1], IOBES, 5)
    warm = chain.tempered(2.0)
    assert numpy.array_equal(k_best(chain, 1)[0], k_best(warm, 1)[0])
    assert (k_best(warm, 1)[1] < k_best(chain, 1)[1]).all()
