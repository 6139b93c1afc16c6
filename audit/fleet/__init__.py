"""The fleet stage: rolls up many runs (local folders or ``s3://`` object stores) into one view.

- `runs` finds the complete runs under a folder and selects each host's newest (`rundoc`
  decodes their ``run.json``);
- `rollup` builds the roll-up's tables from them, with the queries of `query` (Acero plans over
  the chosen rows, which `files` reads, a few files at once as `shares` splits them), `vulns`
  and `workflows`, to the schemas of `schema`;
- `output` writes the roll-up next to the runs and renders its summary.

It shares the report stage's storage layer (`audit.report.storage`). NOTE: importing it loads
pyarrow's Parquet reader and Acero, so only the commands that roll up import it, when they run.
"""
