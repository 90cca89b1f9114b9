"""Benchmark-only AALU configurations, shared by the benchmark scripts.

``aalu_v0`` is the default preset with the selector it had before the
cheaper one (issue 17): the paper's hidden width 512 and learning rate
5e-4, at most 1000 steps. The benchmarks run it beside ``aalu`` so the
speed-up is measured on the same machine, in the same run, with the
accuracy it costs or not.
"""

AALU_V0 = {"hidden_dim": 512, "max_steps": 1000, "lr": 5e-4}
