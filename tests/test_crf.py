"""The CRF against brute-force enumeration of every tag sequence on tiny inputs."""

import itertools

import pytest
import torch

from tagger.crf import CRF
from tagger.posterior import Chain, forward_backward
from tagger.schemes import IOB1, IOB2, IOBES, allowed_transition

LABELS = ["B-PER", "I-PER", "O"]


def make_crf(scheme=None, seed=0):
    torch.manual_seed(seed)
    crf = CRF(LABELS, scheme)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    return crf


def brute_force(crf, emissions, length):
    start, transitions, end = crf.scores()
    scores = {}
    for path in itertools.product(range(len(LABELS)), repeat=length):
        score = start[path[0]] + end[path[-1]] + sum(emissions[t, path[t]] for t in range(length))
        score = score + sum(transitions[path[t - 1], path[t]] for t in range(1, length))
        scores[path] = score
    return scores


def batch(lengths, seed=1):
    torch.manual_seed(seed)
    emissions = torch.randn(len(lengths), max(lengths), len(LABELS))
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    return emissions, mask


@pytest.mark.parametrize("scheme", [None, IOB2])
def test_log_partition_and_likelihood_equal_enumeration(scheme):
    crf = make_crf(scheme)
    lengths = [4, 1, 3]
    emissions, mask = batch(lengths)
    log_z = crf.log_partition(emissions, mask)
    for row, length in enumerate(lengths):
        scores = brute_force(crf, emissions[row], length)
        assert log_z[row].item() == pytest.approx(torch.logsumexp(torch.stack(list(scores.values())), 0).item(), abs=1e-4)
        path = (2, 0, 1, 1)[:length]
        tags = torch.tensor([list(path) + [0] * (max(lengths) - length)])
        assert crf.path_score(emissions[row : row + 1], tags, mask[row : row + 1]).item() == pytest.approx(
            scores[path].item(), abs=1e-4
        )


@pytest.mark.parametrize("scheme", [None, IOB2])
def test_viterbi_equals_brute_force_argmax(scheme):
    crf = make_crf(scheme, seed=3)
    lengths = [5, 2, 4, 1]
    emissions, mask = batch(lengths, seed=4)
    decoded = crf.decode(emissions, mask)
    for row, length in enumerate(lengths):
        scores = brute_force(crf, emissions[row], length)
        best = max(scores, key=lambda path: scores[path].item())
        assert tuple(decoded[row, :length].tolist()) == best
        assert decoded[row, length:].eq(0).all()


def test_constrained_decoding_never_outputs_inside_after_outside():
    crf = make_crf(IOB2, seed=5)
    emissions, mask = batch([6] * 20, seed=6)
    emissions[:, :, 1] += 3.0  # push I-PER everywhere
    for row in crf.decode(emissions, mask).tolist():
        previous = None
        for label in (LABELS[index] for index in row):
            assert allowed_transition(previous, label, IOB2)
            previous = label


def crf_marginals(crf, emissions, mask):
    """The CRF's token marginals (batch, time, labels), by the posterior module over its scores."""
    scores = (part.detach().numpy() for part in crf.scores())
    return torch.from_numpy(forward_backward(Chain(emissions.numpy(), mask.numpy(), *scores)).marginals(mask.numpy()))


def test_marginals_equal_enumeration():
    crf = make_crf(None, seed=7)
    emissions, mask = batch([3, 2], seed=8)
    marginals = crf_marginals(crf, emissions, mask)
    scores = brute_force(crf, emissions[0], 3)
    log_z = torch.logsumexp(torch.stack(list(scores.values())), 0)
    for t in range(3):
        for label in range(len(LABELS)):
            expected = sum((score - log_z).exp() for path, score in scores.items() if path[t] == label)
            assert marginals[0, t, label].item() == pytest.approx(expected.item(), abs=1e-4)
    assert marginals[1, :2].sum(1).tolist() == pytest.approx([1.0, 1.0], abs=1e-4)
    assert marginals[1, 2].sum().item() == 0


def scheme_labels(scheme):
    """Two types in a scheme's tags, so that constraints between types are exercised too."""
    prefixes = {IOB1: "BI", IOB2: "BI", IOBES: "BIES"}[scheme]
    return [f"{prefix}-{kind}" for kind in ("PER", "LOC") for prefix in prefixes] + ["O"]


def allowed_path(labels, path, scheme):
    names = [None, *(labels[index] for index in path), None]
    return all(allowed_transition(a, b, scheme) for a, b in zip(names, names[1:]))


def enumerate_paths(labels, start, transitions, end, emissions, length):
    """Every path's score and whether the scheme allows it."""
    result = {}
    for path in itertools.product(range(len(labels)), repeat=length):
        score = start[path[0]] + end[path[-1]] + sum(emissions[t, path[t]] for t in range(length))
        result[path] = score + sum(transitions[path[t - 1], path[t]] for t in range(1, length))
    return result


@pytest.mark.parametrize("scheme", [IOB1, IOB2, IOBES])
def test_constrained_crf_equals_enumeration_of_the_allowed_paths(scheme):
    labels = scheme_labels(scheme)
    torch.manual_seed(11)
    crf = CRF(labels, scheme)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    lengths = [4, 1, 3]
    emissions = torch.randn(len(lengths), max(lengths), len(labels))
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    start, transitions, end = (crf.start.detach(), crf.transitions.detach(), crf.end.detach())
    log_z, decoded = crf.log_partition(emissions, mask), crf.decode(emissions, mask)
    marginals = crf_marginals(crf, emissions, mask)
    for row, length in enumerate(lengths):
        scores = enumerate_paths(labels, start, transitions, end, emissions[row], length)
        allowed = {path: score for path, score in scores.items() if allowed_path(labels, path, scheme)}
        assert log_z[row].item() == pytest.approx(torch.logsumexp(torch.stack(list(allowed.values())), 0).item(), abs=1e-4)
        assert tuple(decoded[row, :length].tolist()) == max(allowed, key=lambda path: allowed[path].item())
        total = torch.logsumexp(torch.stack(list(allowed.values())), 0)
        for t in range(length):
            for label in range(len(labels)):
                expected = sum((s - total).exp() for p, s in allowed.items() if p[t] == label) if allowed else 0.0
                assert marginals[row, t, label].item() == pytest.approx(float(expected), abs=1e-4)


@pytest.mark.parametrize("scheme", [IOB1, IOB2, IOBES])
def test_softmax_head_decodes_the_best_allowed_path_of_log_probabilities(scheme):
    from tagger.config import ModelConfig
    from tagger.model import TaggerModel

    labels = scheme_labels(scheme)
    model = TaggerModel(ModelConfig(crf=False, hidden=4, word_dim=4, char_dim=4, char_hidden=4), 10, 10, labels, scheme)
    torch.manual_seed(12)
    lengths = [4, 2, 3, 1]
    emissions = torch.randn(len(lengths), max(lengths), len(labels)) * 3
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    decoded = model.decode(emissions, mask)
    zeros = torch.zeros(len(labels))
    for row, length in enumerate(lengths):
        log_probs = emissions[row].log_softmax(dim=1)
        scores = enumerate_paths(labels, zeros, torch.zeros(len(labels), len(labels)), zeros, log_probs, length)
        allowed = {path: score for path, score in scores.items() if allowed_path(labels, path, scheme)}
        assert tuple(decoded[row, :length].tolist()) == max(allowed, key=lambda path: allowed[path].item())


@pytest.mark.parametrize("scheme", [None, IOB2])
def test_partial_label_likelihood_equals_enumeration_of_the_allowed_paths(scheme):
    crf = make_crf(scheme)
    lengths = [4, 2, 3]
    emissions, mask = batch(lengths)
    generator = torch.Generator().manual_seed(3)
    allowed = torch.rand(len(lengths), max(lengths), len(LABELS), generator=generator) < 0.6
    allowed[..., 2] = True  # O: a well-formed path always remains, as with real partial annotation
    loss = crf.neg_log_likelihood(emissions, torch.zeros(mask.shape, dtype=torch.long), mask, allowed)
    expected = torch.tensor(0.0)
    for row, length in enumerate(lengths):
        scores = brute_force(crf, emissions[row], length)
        kept = [score for path, score in scores.items() if all(allowed[row, t, path[t]] for t in range(length))]
        expected += torch.logsumexp(torch.stack(list(scores.values())), 0) - torch.logsumexp(torch.stack(kept), 0)
    assert torch.allclose(loss, expected, atol=1e-4)


def test_partial_labels_that_allow_one_label_each_are_the_ordinary_likelihood():
    crf = make_crf(IOB2)
    emissions, mask = batch([4, 2])
    tags = torch.tensor([[0, 1, 2, 0], [2, 0, 0, 0]])
    one_hot = torch.nn.functional.one_hot(tags, len(LABELS)).bool()
    assert torch.allclose(crf.neg_log_likelihood(emissions, tags, mask, one_hot), crf.neg_log_likelihood(emissions, tags, mask))


@pytest.mark.parametrize("scheme", [IOB1, IOB2, IOBES, None])
def test_numpy_viterbi_decodes_as_the_torch_one(scheme):
    """The torch-free engine's Viterbi picks the labelling the CRF's own does, padding and constraints included."""
    from tagger.decoding import ChainScores, viterbi

    labels = scheme_labels(scheme or IOB2)
    torch.manual_seed(3)
    crf = CRF(labels, scheme)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    lengths = [7, 1, 4, 5, 2]
    emissions = torch.randn(len(lengths), max(lengths), len(labels)) * 3
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    scores = ChainScores(*(part.detach().numpy() for part in crf.scores()), log_softmax=False)
    decoded = viterbi(emissions.numpy(), torch.tensor(lengths).numpy(), scores)
    assert decoded.tolist() == crf.decode(emissions, mask).tolist()
