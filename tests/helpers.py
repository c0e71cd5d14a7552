"""Test helpers: instant deterministic evaluators, tiny image folders in the real layout, the
command in a process of its own, a run's trials as another process reads them."""

import os
import random
import sqlite3
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

from archsearch.evaluation.base import Context, Evaluator
from archsearch.evaluation.result import Result
from archsearch.tasks.base import OutputSpec
from archsearch.tasks.classification import Classification


class EncodingEvaluator(Evaluator):
    """Reward = mean of the space's encoding weighted by position: deterministic and fast.
    Architectures listed in `fail` come back failed. Its state is the number of evaluations
    made, which a resumed search must continue from."""

    name = "encoding"

    def __init__(self, space, fail=()):
        super().__init__(Context(space, Classification(2)))
        self.space, self.fail, self.calls, self.count = space, set(fail), [], 0

    def evaluate(self, arch, seed):
        self.calls.append(arch)
        self.count += 1
        if arch.hash in self.fail:
            return self.failed("told to fail")
        code = self.space.encode(arch)
        score = sum((i % 7 + 1) * v for i, v in enumerate(code)) / (7 * len(code))
        return Result(reward=score, metrics={"val_accuracy": score, "params": len(code)})

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]


def write_image_folder(root, counts=(("train", 24), ("test", 6)), size=16, seed=0):
    """`root/{train,test}/{dark,light}/*.png|jpg`: two trivially separable classes of noisy
    colour images, alternating PNG and JPEG files."""
    rng = np.random.default_rng(seed)
    for split, count in counts:
        for label, shade in (("dark", 40), ("light", 200)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = np.clip(rng.normal(shade, 30, (size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


def spawn(*args):
    """`archsearch ARGS` in a process of its own (one thread), stderr kept."""
    return subprocess.Popen(
        [sys.executable, "-m", "archsearch.cli", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def trials_of(out):
    """(number, arch, reward, seed) of every trial of the run in `out`, read as another
    process would; [] while there is no ledger yet."""
    if not (out / "ledger.sqlite").exists():
        return []
    db = sqlite3.connect(out / "ledger.sqlite")
    try:
        query = "SELECT number, arch, reward, seed FROM trials ORDER BY number"
        return db.execute(query).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def wait_for(condition, seconds=120):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition(), "timed out"


def run_sampled_network(space, seed, shape=(3, 9, 9), outputs=5):
    """Sample an architecture of `space` with `seed`, check it, build it for `shape` and
    `outputs` classes, check `count_params` against the built network, run a batch of two
    through it and backpropagate; returns the model."""
    out = OutputSpec((outputs,))
    arch = space.sample(random.Random(seed))
    space.validate(arch)
    model = space.build(arch, shape, out)
    assert space.count_params(arch, shape, out) == sum(p.numel() for p in model.parameters())
    result = model(torch.randn(2, *shape))
    assert result.shape == (2, outputs)
    result.sum().backward()
    return model
