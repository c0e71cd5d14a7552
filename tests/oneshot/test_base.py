"""The one-shot base's machinery: BatchNorm with each batch's own statistics."""

import pytest
from torch import nn

from archsearch.oneshot.base import batch_statistics


def test_batch_statistics_nested_costs_nothing_and_the_outer_block_restores():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    norm = net[1]
    with batch_statistics(net):
        assert net.training and norm.momentum == 0.0
        walks = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(net, "modules", lambda: walks.append(1) or iter(()))
            patch.setattr(net, "train", lambda mode=True: walks.append(1))
            with batch_statistics(net):  # a scoring loop's inner block: no walk of the modules
                assert norm.momentum == 0.0
        assert walks == [] and net.training and norm.momentum == 0.0
    assert not net.training and norm.momentum == 0.1
