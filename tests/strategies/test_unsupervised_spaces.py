"""Every strategy works on the autoencoder and VAE spaces, with rewards on the thesis's
unbounded 1 / loss scale too: valid proposals, an exact resume, no repeats only."""

import pytest

from archsearch.evaluation.result import Result
from archsearch.spaces import get_space
from archsearch.strategies import STRATEGIES, get_strategy
from tests.strategies.test_all_strategies import OPTIONS, STEPS, drive, round_trip

SPACES = {
    "autoencoder": get_space("autoencoder", layers=3, filters=(4, 8)),
    "vae": get_space("vae", layers=3, filters=(4, 8)),
}


def inverse_loss(arch):
    """1 / a synthetic loss in (0.001, 1]: rewards from 1 to 1000; a tenth fail."""
    value = int(arch.hash[:8], 16) / 2**32
    return Result.failed("synthetic", -0.1) if value < 0.1 else Result(1 / max(value, 1e-3))


@pytest.mark.parametrize("space_name", SPACES)
@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_strategy_searches_the_unsupervised_spaces(name, space_name):
    space = SPACES[space_name]
    options = OPTIONS.get(name, {})
    whole = drive(get_strategy(name, space, seed=7, **options), space, 2 * STEPS, inverse_loss)
    first = get_strategy(name, space, seed=7, **options)
    before = drive(first, space, STEPS, inverse_loss)
    resumed = get_strategy(name, space, seed=99, **options)
    resumed.load_state_dict(round_trip(first.state_dict()))
    assert before + drive(resumed, space, STEPS, inverse_loss) == whole
    assert len(set(whole)) > STEPS // 2
