"""The pipeline: scenario -> catalog -> grid stack -> demand -> suitability ->
growth -> plan -> risk -> metrics -> maps and report.

It sequences the stages and is, with ``inputs``, ``outputs`` and the CLI, the only
code that touches files:

- ``common``: loading a scenario and its catalog, building the stack, checks that
  fail before any work, the timer and ``run.json`` provenance;
- ``run``: ``expansion run`` (compute everything, then write the run folder atomically);
- ``backtest``: ``expansion backtest``;
- ``compare``: ``expansion compare``;
- ``batch``: ``expansion batch`` on Dask.
"""
