"""Final training: how many networks, the ensemble they make, and its checkpoint."""

import pytest
import torch
from torch import nn

from archsearch.checkpoint import load_model, save_model
from archsearch.data import load_dataset
from archsearch.evaluation.trainer import TrainConfig
from archsearch.final import final_models, score_on_test, train_final
from archsearch.models import Ensemble
from archsearch.spaces import get_space


def test_small_data_gets_five_networks_unless_told():
    small = load_dataset("iris")
    assert final_models(small, None) == 5 and final_models(small, 2) == 2
    large = load_dataset("digits").without_test()
    large.x_train = large.x_train.repeat(5, 1)  # 5,750 training rows
    assert final_models(large, None) == 1


def test_an_ensemble_averages_probabilities_or_outputs():
    a, b = nn.Linear(2, 3), nn.Linear(2, 3)
    x = torch.randn(4, 2)
    logp = Ensemble([a, b], "probabilities")(x)
    assert torch.allclose(logp.exp(), (a(x).softmax(1) + b(x).softmax(1)) / 2, atol=1e-6)
    assert torch.allclose(Ensemble([a, b], "outputs")(x), (a(x) + b(x)) / 2)
    with pytest.raises(ValueError, match="average must be"):
        Ensemble([a], "median")


@pytest.mark.parametrize("dataset", ["wine", "diabetes"])
def test_the_final_ensemble_is_saved_and_loads_to_the_same_scores(tmp_path, dataset):
    data = load_dataset(dataset, seed=3)
    space = get_space("mlp", max_layers=1)
    arch = space.make({"depth": 1, "width_1": 32, "activation_1": "relu", "dropout_1": 0.0})
    config = TrainConfig(epochs=3)
    model, metrics = train_final(space, arch, data, config, seed=3, models=3)
    assert isinstance(model, Ensemble) and metrics["models"] == 3 and len(metrics["curves"]) == 3
    members = model.members
    assert not torch.equal(members[0][1].weight, members[1][1].weight)  # distinct trainings
    save_model(tmp_path / "m.pt", model, space, arch, data)
    loaded, _, meta = load_model(tmp_path / "m.pt")
    assert meta["members"] == 3
    again = score_on_test(loaded.eval(), data, config)
    assert again == pytest.approx({k: v for k, v in metrics.items() if k.startswith("test_")})
