"""The pieces of `benchmarks/turn_latency_bench.py` (the script keeps the command line and the run order):
`params` (fixed parameters), `build` (checkpoint + stores), `load` (clients against the gateway server),
`stages` (in-process stage times, search quality), `summary` (ratios, target), `markdown` (the report).
Imported as `turn_latency.*`: the script's directory is first on `sys.path`."""
