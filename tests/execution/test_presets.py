"""The paper presets accept every executor: the preset's search is kept, the executor and its
resources are the user's."""

import pytest

from archsearch.config import SearchConfig, from_json
from archsearch.execution import EXECUTORS, get_executor
from archsearch.presets import PRESETS, apply_preset


@pytest.mark.parametrize("executor", EXECUTORS.names())
@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_runs_on_every_executor(preset, executor):
    options = {} if executor == "inline" else {"workers": 4, "gpus_per_trial": 0.25}
    flags = {"data": {"dataset": "digits"}, "executor": executor, "executor_options": options}
    config = from_json(SearchConfig, apply_preset(preset, flags))
    config.validate()
    assert (config.space, config.strategy) == (PRESETS[preset]["space"], "reinforce")
    assert config.train.epochs == PRESETS[preset]["train"]["epochs"]
    built = get_executor(config.executor, **config.executor_options)
    try:
        assert built.capacity == (4 if options else 1)
    finally:
        built.close()
