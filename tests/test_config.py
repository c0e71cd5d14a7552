"""Presets and configuration JSON."""

import pytest

from archsearch.config import SearchConfig, from_json
from archsearch.errors import UsageError
from archsearch.presets import PRESETS, apply_preset
from archsearch.spaces import get_space
from archsearch.strategies import get_strategy


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid_and_build_their_space_and_strategy(name):
    config = from_json(SearchConfig, apply_preset(name, {"data": {"data_dir": "cifar"}}))
    config.validate()
    space = get_space(config.space, **config.space_options)
    strategy = get_strategy(config.strategy, space, 0, **config.strategy_options)
    assert (
        space.needs_images
        and strategy.ask()["depth"] == config.strategy_options["depth_schedule"][0]
    )
    # one final network, as measured, even on data small enough for the ensemble default
    assert (config.final_models, config.final_rerank) == (1, 1)


def test_zoph2016_is_the_papers_configuration():
    config = from_json(SearchConfig, apply_preset("zoph2016", {}))
    assert config.trials == 12800 and config.reward == "zoph"
    assert config.strategy_options["depth_schedule"] == [6, 2, 1600]
    assert config.train.epochs == 50 and config.train.optimizer == "sgd"
    assert config.space_options["filters"] == [24, 36, 48, 64]


def test_flags_override_a_preset_and_nested_settings_merge():
    settings = apply_preset("cifar-cpu", {"trials": 3, "train": {"epochs": 1}})
    config = from_json(SearchConfig, settings)
    assert config.trials == 3 and config.train.epochs == 1
    assert config.train.train_subset == 4000  # kept from the preset


def test_unknown_preset_and_settings_are_usage_errors():
    with pytest.raises(UsageError, match="unknown preset 'nope'"):
        apply_preset("nope", {})
    with pytest.raises(UsageError, match="unknown setting"):
        from_json(SearchConfig, {"train": {"epochz": 3}})


def test_config_json_roundtrip():
    config = from_json(SearchConfig, apply_preset("zoph2016", {"seed": 3}))
    assert from_json(SearchConfig, config.to_json()) == config
