"""The time estimate prices the children a search trains: with a depth schedule, children of
the scheduled depths, not of every depth the space allows."""

from archsearch.data import load_dataset
from archsearch.estimate import estimate_search
from archsearch.evaluation.trainer import TrainConfig
from archsearch.spaces.cnn import CNNSpace
from archsearch.strategies.reinforce import Reinforce

SPACE = CNNSpace(layers=6, min_layers=2, heights=(3,), widths=(3,), filters=(8, 16))


def test_reinforce_fixes_the_scheduled_depth_of_each_child():
    strategy = Reinforce(SPACE, seed=0, depth_schedule="2,2,3")
    assert [strategy.fixed_values(c)["depth"] for c in (0, 2, 3, 6, 100)] == [2, 2, 4, 6, 6]
    assert Reinforce(SPACE, seed=0).fixed_values(0) == {}


def test_the_estimate_samples_children_of_the_depth_the_schedule_gives_them():
    data = load_dataset("digits", images=True, seed=0)
    child, final = TrainConfig(epochs=1), TrainConfig(epochs=1)
    shallow = Reinforce(SPACE, seed=0, depth_schedule="2,1,1000")
    deep = Reinforce(SPACE, seed=0, depth_schedule="6,1,1000")
    low = estimate_search(SPACE, data, child, 5, final, fixed=shallow.fixed_values)
    high = estimate_search(SPACE, data, child, 5, final, fixed=deep.fixed_values)
    uniform = estimate_search(SPACE, data, child, 5, final)
    assert low.flops < uniform.flops < high.flops
    # from child 1000 on, the shallow schedule gives depth 3: a resumed search prices those
    resumed = estimate_search(SPACE, data, child, 5, final, fixed=shallow.fixed_values, first=1000)
    assert resumed.flops > low.flops
