"""What keeping ledger.sqlite complete after every trial costs: the time to record a trial
(a REINFORCE strategy state of an mlp search, as a real run saves it) with the write-ahead log
folded into the main file each time, against leaving it in the log. Prints, never asserts.

    python benchmarks/ledger_cost.py [--trials 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from archsearch.evaluation.result import Result
from archsearch.ledger import Ledger, Trial
from archsearch.spaces import get_space
from archsearch.strategies import get_strategy

RESULTS = Path(__file__).resolve().parent / "results" / "ledger_cost.json"


def record_times(path: Path, trials: int, fold: bool) -> list[float]:
    space = get_space("mlp")
    strategy = get_strategy("reinforce", space, 0)
    seconds = []
    with Ledger(path, {"run_id": "bench"}) as ledger:
        if not fold:
            ledger.checkpoint = lambda: None  # type: ignore[method-assign]
        for number in range(trials):
            arch = strategy.ask()
            result = Result(0.5, {"val_accuracy": 0.5}, [{"epoch": 1, "val_accuracy": 0.5}] * 10)
            strategy.tell(arch, result)
            start = time.perf_counter()
            ledger.record(Trial(number, arch, result, number), {"strategy": strategy.state_dict()})
            seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fold in (False, True):
            times = record_times(Path(tmp) / f"{fold}.sqlite", args.trials, fold)
            report["folded" if fold else "log only"] = {
                "median_ms": round(1000 * statistics.median(times), 3),
                "mean_ms": round(1000 * statistics.mean(times), 3),
            }
    for name, figures in report.items():
        print(f"{name:9s}: median {figures['median_ms']:.2f} ms per trial recorded")
    args.out.write_text(json.dumps({"trials": args.trials, **report}, indent=1) + "\n")


if __name__ == "__main__":
    main()
