"""The fleet stage: rolls up many runs (local folders or ``s3://`` object stores) into one view.

- `runs` finds the complete runs under a folder and selects each host's newest;
- `rollup` builds the roll-up's tables from them, with the queries of `query` (pyarrow datasets),
  `vulns` and `workflows`, to the schemas of `schema`;
- `output` writes the roll-up next to the runs and renders its summary.

It shares the report stage's storage layer (`audit.report.storage`). NOTE: importing it loads
pyarrow's dataset engine, so only the commands that roll up import it, when they run.
"""
