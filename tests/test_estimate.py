"""The time estimate prices the children a search trains: with a depth schedule, children of
the scheduled depths, not of every depth the space allows; for slow searches of large images
it suggests a smaller --image-size, whose saving follows the pixels."""

import random

from archsearch.data import load_dataset
from archsearch.estimate import Estimate, estimate_search, flops_per_sample, smaller_images_tip
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


def test_large_slow_images_get_the_smaller_size_tip_with_its_pixel_ratio():
    slow = Estimate(flops=1, seconds_per_sample=1.0, search_seconds=500, final_seconds=200)
    tip = smaller_images_tip((3, 96, 128), slow)
    assert tip.startswith("the images are 128x96 pixels; --image-size 43x32 has 9 times fewer")
    assert smaller_images_tip((3, 32, 400), slow) is None  # the shorter side is small already
    assert smaller_images_tip((30,), slow) is None  # not images
    quick = Estimate(flops=1, seconds_per_sample=1.0, search_seconds=300, final_seconds=200)
    assert smaller_images_tip((3, 96, 128), quick) is None


def test_a_convolutional_childs_cost_falls_with_its_pixels_as_the_tip_says():
    space = CNNSpace()  # the default space, stride and pooling decisions included
    output = load_dataset("digits", images=True, seed=0).task.output_spec()
    rng = random.Random(0)
    for arch in (space.complete({}, rng) for _ in range(10)):
        large = flops_per_sample(space, arch, (3, 96, 128), output)
        small = flops_per_sample(space, arch, (3, 32, 43), output)
        assert 8.5 < large / small < 9.5  # 8.9 times fewer pixels
