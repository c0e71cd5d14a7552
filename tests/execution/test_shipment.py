"""What travels with each trial to a worker: the evaluator's state and the time left (a
deadline as time left, since two machines' monotonic clocks differ)."""

import pickle
import time

from archsearch.execution.base import Shipment
from tests.execution.shared import SPACE, ObservingEvaluator


def test_a_shipment_carries_the_state_and_the_time_left():
    driver = ObservingEvaluator(SPACE)
    driver.observed, driver.deadline = 3, time.monotonic() + 100
    shipment = pickle.loads(pickle.dumps(Shipment.of(driver)))
    assert shipment.state == {"observed": 3} and 99 < shipment.seconds_left <= 100
    worker = ObservingEvaluator(SPACE)
    shipment.apply(worker)
    assert worker.observed == 3 and 99 < worker.deadline - time.monotonic() <= 100


def test_without_a_time_limit_or_state_nothing_is_set():
    driver = ObservingEvaluator(SPACE)
    driver.state_dict = dict  # an evaluator that keeps nothing
    shipment = Shipment.of(driver)
    assert shipment == Shipment(None, None)
    worker = ObservingEvaluator(SPACE)
    worker.observed, worker.deadline = 5, 1.0
    shipment.apply(worker)
    assert worker.observed == 5 and worker.deadline is None
