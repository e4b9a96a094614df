"""The one batch runner: triage and eval both run their items through it (docs/batch-runner.md).

- `commitlog`: the results file, appended one batch at a time (one write, one fsync), torn tail
  cut, compacted on resume;
- `engine`: where batches run (in this process, a spawned process pool, or Ray tasks);
- `runner`: ties them together: what is done is skipped, every finished batch is committed once.
"""
