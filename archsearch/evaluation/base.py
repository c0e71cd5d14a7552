"""The `Evaluator` interface: architecture in, `Result` out."""

from __future__ import annotations

from abc import ABC, abstractmethod

from archsearch.evaluation.result import Result
from archsearch.spaces.base import Architecture


class Evaluator(ABC):
    """Turns an architecture into a `Result`. Must never raise for a bad architecture: a
    network that cannot be built or trained is a failed `Result` with its reason."""

    @abstractmethod
    def evaluate(self, arch: Architecture, seed: int) -> Result:
        """Evaluate `arch`; `seed` fixes every random choice of the evaluation."""
