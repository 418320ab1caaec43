"""Engine-overhead benchmarks: each workload runs on the engine and on a minimal superstep floor.

Run ``python -m benchmarks`` for the table (``--help`` for options). `benchmarks.floor` is the baseline
loop, `benchmarks.handoff` the agent ring of the handoff workload and its own floor loop,
`benchmarks.workloads` holds the engine and floor versions of every workload, and `benchmarks.harness`
times them in interleaved rounds and prints the table.
"""
