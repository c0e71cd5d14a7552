"""Small evaluators for tests: instant, deterministic rewards."""

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result


class EncodingEvaluator(Evaluator):
    """Reward = mean of the space's encoding weighted by position: deterministic and fast.
    Architectures listed in `fail` come back failed."""

    def __init__(self, space, fail=()):
        self.space, self.fail, self.calls = space, set(fail), []

    def evaluate(self, arch, seed):
        self.calls.append(arch)
        if arch.hash in self.fail:
            return Result.failed("told to fail")
        code = self.space.encode(arch)
        score = sum((i % 7 + 1) * v for i, v in enumerate(code)) / (7 * len(code))
        return Result(reward=score, metrics={"val_accuracy": score, "params": len(code)})
