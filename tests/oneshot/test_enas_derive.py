"""ENAS's derive options: every sample scored on the same validation batches
(`derive_batches`), and P-DARTS's cap on parameter-free operations (`max_free`)."""

import pytest
import torch

from archsearch.oneshot.enas import ENAS
from archsearch.oneshot.guards import PARAMETER_FREE
from tests.oneshot.test_enas import make


def free_layers(arch, layers=4):
    return [i for i in range(1, layers + 1) if arch[f"op_{i}"] in PARAMETER_FREE]


def known(arch):
    """The known reward: the number of sepconv3x3 layers."""
    return float(sum(arch[f"op_{i}"] == "sepconv3x3" for i in range(1, 5)))


class Recording(ENAS):
    """ENAS whose reward is a known function of the architecture (the number of sepconv3x3
    layers), recording which validation batch each score was taken on."""

    def setup(self):
        super().setup()
        self.seen = []

    def reward(self, arch, batch):
        self.seen.append((arch, tuple(batch[1].tolist())))
        return known(arch)


def test_cap_leaves_at_most_max_free_pooling_layers_and_keeps_the_most_probable():
    search = make(max_free=1)
    capped_some = False
    for _ in range(30):
        arch = search.sample()
        capped = search.capped(arch)
        search.space.validate(capped)
        before, after = free_layers(arch), free_layers(capped)
        assert len(after) <= 1 and set(after) <= set(before)
        for i in range(1, 5):  # operations with weights and every skip stay as sampled
            if i not in before:
                assert capped[f"op_{i}"] == arch[f"op_{i}"]
            assert capped[f"skips_{i}"] == arch[f"skips_{i}"]
        if len(before) > 1:
            capped_some = True
            probs = search.controller.probabilities(arch)
            ops = search.space.decisions[0].choices

            def prob(i, a=arch, p=probs, o=ops):
                return p[f"op_{i}"][o.index(a[f"op_{i}"])]

            assert after == [max(before, key=prob)], "the most probable free pick is kept"
    assert capped_some, "some sample had two or more pooling layers to cap"
    assert not free_layers(make(max_free=0).derive())


def test_the_cap_is_on_by_default_and_off_with_guard_none():
    default = make().options
    assert default.guard == "cap" and default.max_free == 2
    search = make(guard="none", max_free=0)
    arch = next(a for a in (search.sample() for _ in range(100)) if free_layers(a))
    assert search.capped(arch) is arch
    assert not free_layers(make(max_free=0).capped(arch))
    with pytest.raises(ValueError, match="unknown guard 'beta'"):
        make(guard="beta")


def test_derive_batches_score_every_sample_on_the_same_batches():
    search = make(Recording, derive_samples=6, derive_batches=2)
    derived = search.derive()
    batches = [batch for _, batch in search.seen]
    assert len(batches) == 12 and len(set(batches)) == 2
    assert batches == batches[:2] * 6, "each sample sees the same two batches, in order"
    assert known(derived) == max(known(arch) for arch, _ in search.seen)
    assert derived == search.derive(), "derive does not move the search's random state"


def test_paper_derive_scores_each_sample_on_its_own_batch():
    search = make(Recording, derive_samples=3)
    search.derive()
    batches = [batch for _, batch in search.seen]
    assert len(batches) == 3 and len(set(batches)) == 3


class Seen(torch.nn.Module):
    """Stands in for a supernet: records the labels encoded in each batch's images."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def forward(self, x, choice):
        self.batches.append(x[:, 0, 0, 0].round().long().tolist())
        return torch.nn.functional.one_hot(x[:, 0, 0, 0].round().long(), 3).float()


def test_score_shuffles_a_split_stored_class_by_class():
    """`OneShot.score` must not run a class-sorted split in order: batches of one class,
    normalised by their own statistics, score at chance (and `rows` would take one class)."""
    search = make()
    n = 600
    y = torch.arange(3).repeat_interleave(n // 3)  # sorted by class, as image folders load
    x = y.float()[:, None, None, None].expand(n, 3, 8, 8).clone()
    search.data.x_val, search.data.y_val, search.prepare = x, y, lambda xb: xb
    net = Seen()
    assert search.score(net, None)["accuracy"] == 1.0
    assert all(len(set(batch)) == 3 for batch in net.batches), "every batch mixes classes"
    assert sum(map(len, net.batches)) == n
    net.batches.clear()
    assert search.score(net, None, rows=30)["accuracy"] == 1.0
    assert len(set(net.batches[0])) == 3 and len(net.batches[0]) == 30
    first = net.batches[0]
    net.batches.clear()
    search.score(net, None, rows=30)
    assert net.batches[0] == first, "the same rows every call"
