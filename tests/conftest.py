"""Shared test settings: one thread per test process keeps the suite fast on 2 cores."""

import torch

torch.set_num_threads(1)
