"""`--engine ray`: batches of items become tasks on Ray actors, one actor per worker.

Each actor builds its worker once (like a pool process) against the workspace, which it opens
read-only: the DuckDB file (or Parquet) must be reachable at the same path from every node. Actors
hand their results back to the driver, which alone writes the commit log (and, for triage, the case
files), so the exactly-once semantics are the local engine's: a batch counts when the driver has
committed it. An actor whose process dies mid-batch is restarted by Ray and the batch run again on
it; since nothing of the lost attempt was committed, it is recorded once.

`RAY_ADDRESS` names an existing cluster (`ray start --head` on one node, `ray start --address=...`
on the others; docs/ray.md); without it a local Ray starts on the loopback interface with as many
CPUs as workers, and stops when the run ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from agent.batch.engine import Outcome, WorkerSpec, execute, portable, settle_process
from tools.errors import SleuthError

#: Environment the actors need as the driver has it (offline flags, workspace and model settings).
PASSED_ENV = ("PYTHONPATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ANONYMIZED_TELEMETRY", "SLEUTH_HOME",
              "SLEUTH_MODEL", "SLEUTH_EMBED_ENGINE", "OPENAI_BASE_URL", "OPENAI_API_KEY", "SLEUTH_LLM_TIMEOUT_S")
#: Batches queued on each actor: one running, one waiting while the driver commits.
IN_FLIGHT = 2
#: How often Ray restarts a dead actor and retries its batch before the run stops.
RETRIES = 3


class RayUnavailable(SleuthError):
    """Ray is not installed, or the cluster cannot be reached."""


class BatchActor:
    """A Ray actor holding one worker: built once, then given batches."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.worker: Any = None
        self.error: BaseException | None = None
        try:
            self.worker = spec()
        except Exception as e:  # noqa: BLE001 - handed to the driver with the first batch
            self.error = portable(e)
        settle_process()

    def run(self, batch: list[Any]) -> Outcome:
        if self.error is not None:
            return Outcome([], self.error)
        return execute(self.worker, batch)

    def pid(self) -> int:
        return os.getpid()


def connect(workers: int) -> bool:
    """Join `RAY_ADDRESS`'s cluster or start a local Ray on loopback; True if this call started it."""
    try:
        import ray
    except ImportError as e:
        raise RayUnavailable("--engine ray needs Ray: pip install -e '.[ray]'") from e
    if ray.is_initialized():
        return False
    runtime_env = {"env_vars": {k: os.environ[k] for k in PASSED_ENV if k in os.environ}}
    address = os.environ.get("RAY_ADDRESS")
    try:
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
        else:
            # "local": a new instance of our own, never another user's Ray found on this machine
            ray.init(address="local", num_cpus=max(1, workers), include_dashboard=False, _node_ip_address="127.0.0.1",
                     runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise RayUnavailable(f"cannot start or reach Ray{f' at {address}' if address else ''}: {e}") from e
    return True


def run_ray(spec: WorkerSpec, batches: list[list[Any]], workers: int) -> Iterator[Outcome]:
    """The batches' outcomes as they finish on `workers` Ray actors."""
    import ray
    from ray.exceptions import RayActorError, RayTaskError

    started = connect(workers)
    actor_cls = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)(BatchActor)
    actors = [actor_cls.remote(spec) for _ in range(max(1, min(workers, len(batches))))]
    queue = list(reversed(batches))
    pending: dict[Any, Any] = {}

    def submit(actor: Any) -> None:
        if queue:
            pending[actor.run.remote(queue.pop())] = actor

    try:
        for actor in actors:
            for _ in range(IN_FLIGHT):
                submit(actor)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            actor = pending.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except (RayActorError, RayTaskError) as e:
                raise RayUnavailable(f"a Ray worker failed {RETRIES + 1} times on one batch: {e}") from e
            submit(actor)
            yield outcome
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)
        if started:
            ray.shutdown()
