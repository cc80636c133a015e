"""Running independent tasks serially or on a ``dask.distributed`` client, with the same results.

:func:`run_tasks`, used by :mod:`gridplan.city` for every step of the city pipeline, calls
``fn(item, *shared)`` for every item and returns the results in the items' order, whoever
computed them; :func:`run_graph` does the same for tasks that take earlier tasks' results (the
posts' seams), each started as soon as those are done. Serial when ``client`` is None. On a client, the
shared arguments (a network, an index) are scattered once to every worker, the items are
submitted with ``pure=False`` and gathered in order, so the results do not depend on the
number of workers or on which worker finished first. Every task's own wall time is kept
(:class:`TaskTimes`), the figure the scaling estimate is made from.

A client that is closed or has no workers is refused at once with a
:class:`~gridplan.errors.DataError` (never a hang); a task that fails raises its own error
in the caller, naming the item.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import DataError, GridplanError

WAIT_FOR_WORKERS_S = 30.0
"""How long a client whose cluster is still starting may take to show its first worker."""


@dataclass
class TaskTimes:
    """Wall time of every task of a step (seconds, in the items' order) and of the whole step."""

    task_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    workers: int = 1

    @property
    def busy_seconds(self) -> float:
        return float(sum(self.task_seconds))


def client_workers(client: Any) -> int:
    """Number of workers of a usable client; DataError if it is closed or has none."""
    if client is None:
        return 1
    status = getattr(client, "status", None)
    if status in ("closed", "closing", "failed") or not hasattr(client, "submit"):
        raise DataError(
            f"the Dask client is {status or 'not a dask.distributed.Client'}: start a new one, e.g. "
            "Client(LocalCluster(n_workers=2)), or pass client=None to run serially"
        )
    deadline = time.monotonic() + WAIT_FOR_WORKERS_S
    while True:
        try:
            n = len(client.scheduler_info().get("workers", {}))
        except Exception as exc:
            raise DataError(
                f"the Dask scheduler does not answer ({type(exc).__name__}: {exc}); start a new client "
                "or pass client=None to run serially"
            ) from exc
        if n:
            return n
        if time.monotonic() > deadline:
            raise DataError(
                f"the Dask client has no workers (waited {WAIT_FOR_WORKERS_S:.0f} s): start workers "
                "(e.g. LocalCluster(n_workers=2)) or pass client=None to run serially"
            )
        time.sleep(0.2)


def share(objs: Sequence[Any], client: Any) -> list[Any]:
    """``objs`` as they are without a client; else a future of each, scattered once (one worker holds
    it and passes it to another only when a task there needs it), to put in the items of several
    steps' tasks instead of the object (which each task would ship again). A worker keeps what it
    builds on it (a street network's lookups) for the next task."""
    if client is None:
        return list(objs)
    return list(client.scatter(list(objs), hash=False))


@dataclass
class Task:
    """One task of :func:`run_graph`: ``fn(item, *shared, *results of after)``.

    ``after`` are positions of earlier tasks whose results this one takes (it starts when they
    are done, on any worker); ``priority`` orders the tasks that are ready at once (higher
    first: e.g. the largest first, so that no worker is left with one long task at the end).
    Neither changes a result.
    """

    fn: Callable[..., Any]
    item: Any
    after: Sequence[int] = ()
    priority: float = 0.0


def _timed(fn: Callable[..., Any], n_shared: int, item: Any, *args: Any) -> tuple[Any, float]:
    """``fn(item, *shared, *outs)`` and its own wall time; ``args`` are the shared objects, then the
    ``(out, seconds)`` pairs of the tasks it runs after."""
    t = time.perf_counter()
    out = fn(item, *args[:n_shared], *(a[0] for a in args[n_shared:]))
    return out, time.perf_counter() - t


def run_tasks(
    fn: Callable[..., Any],
    items: Sequence[Any],
    *,
    shared: Sequence[Any] = (),
    client: Any = None,
    progress: bool = False,
    desc: str = "tasks",
    names: Sequence[str] | None = None,
    costs: Sequence[float] | None = None,
    meanwhile: Callable[[], Any] | None = None,
) -> tuple[list[Any], TaskTimes]:
    """``[fn(item, *shared) for item in items]``, serially or on ``client``; results in order.

    ``names`` label the items in errors (e.g. the district codes); ``costs`` (e.g. a district's
    grids), when given, start the costliest tasks first on a client. ``meanwhile``: see
    :func:`run_graph`.
    """
    prio = list(costs) if costs is not None else [0.0] * len(items)
    tasks = [Task(fn, item, priority=p) for item, p in zip(items, prio)]
    return run_graph(tasks, shared=shared, client=client, progress=progress, desc=desc, names=names, meanwhile=meanwhile)


def run_graph(
    tasks: Sequence[Task],
    *,
    shared: Sequence[Any] = (),
    client: Any = None,
    progress: bool = False,
    desc: str = "tasks",
    names: Sequence[str] | None = None,
    meanwhile: Callable[[], Any] | None = None,
) -> tuple[list[Any], TaskTimes]:
    """Run tasks that may take earlier tasks' results, serially (in order) or on ``client``.

    On a client every task is submitted at once with its dependencies as futures, so Dask starts
    each as soon as what it needs is done (a task never waits for a whole round); results come
    back in the tasks' order and are the serial run's, whatever the number of workers.
    ``meanwhile`` is called in this process while the workers run the tasks (serially: first),
    for the caller's own work that does not need their results.
    """
    from tqdm.auto import tqdm

    labels = list(names) if names is not None else [str(i) for i in range(len(tasks))]
    for i, task in enumerate(tasks):
        if any(not 0 <= j < i for j in task.after):
            raise ValueError(f"task {labels[i]} runs after {list(task.after)}: only earlier tasks are allowed")
    t0 = time.perf_counter()
    times = TaskTimes(workers=client_workers(client))
    n_shared = len(shared)
    if client is None:
        if meanwhile is not None:
            meanwhile()
        done: list[Any] = []
        for task, label in tqdm(list(zip(tasks, labels)), desc=desc, unit="task", disable=not progress):
            try:
                done.append(_timed(task.fn, n_shared, task.item, *shared, *(done[j] for j in task.after)))
            except GridplanError as exc:
                raise type(exc)(f"{desc} {label}: {exc}") from exc
    else:
        from dask.distributed import as_completed

        shared_f = client.scatter(list(shared), broadcast=True) if shared else []
        futures: list[Any] = []
        for task in tasks:
            deps = [futures[j] for j in task.after]
            futures.append(
                client.submit(_timed, task.fn, n_shared, task.item, *shared_f, *deps, pure=False, priority=task.priority)
            )
        position = {f.key: i for i, f in enumerate(futures)}
        done = [None] * len(futures)
        if meanwhile is not None:
            try:
                meanwhile()
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        with tqdm(total=len(futures), desc=desc, unit="task", disable=not progress) as bar:
            for fut in as_completed(futures):
                i = position[fut.key]
                try:
                    done[i] = fut.result()
                except GridplanError as exc:
                    for f in futures:
                        f.cancel()
                    raise type(exc)(f"{desc} {labels[i]}: {exc}") from exc
                bar.update(1)
    times.task_seconds = [sec for _, sec in done]
    times.wall_seconds = time.perf_counter() - t0
    return [out for out, _ in done], times


# --------------------------------------------------------------------------- locate at scale
def _assign_partition(part: Any, index: Any, kwargs: dict[str, Any]) -> Any:
    return index.assign(part, **kwargs)


def assign_partitions(index: Any, frame: Any, kwargs: dict[str, Any]) -> Any:
    """``index.assign`` mapped over the partitions of a dask (-geopandas) frame, lazily.

    The index (tens of MB of raster and boundary segments) enters the task graph **once**: scattered
    to every worker when a ``distributed`` client is running, else as one delayed object every
    partition task depends on (a bound method in every task would ship it with every partition).
    Each worker builds the index's community and street lookups once, on its first partition. Nothing is gathered: the
    caller computes, or writes with ``to_parquet``, so memory stays bounded by a partition (its
    rows in and out) plus the index, whatever the number of rows. ``street`` and ``road_chief``
    hold street ids or names as objects, as in memory: cast them to ``"string"`` (e.g.
    ``out.assign(street=out["street"].astype("string"))``) before ``to_parquet``, which needs one
    type per column.
    """
    meta = _assign_partition(frame._meta, index, kwargs)
    return frame.map_partitions(_assign_partition, _shared(index), kwargs, meta=meta)


def _shared(obj: Any) -> Any:
    """``obj`` once in the graph: scattered to every worker of a running client, else one delayed task."""
    import uuid

    import dask

    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):  # no distributed, or no client running: the local schedulers
        client = None
    if client is not None and client.status == "running":
        [future] = client.scatter([obj], broadcast=True, hash=False)
        return future
    return dask.delayed(obj, name=f"gridindex-{uuid.uuid4().hex}", pure=False)


@contextlib.contextmanager
def local_client(workers: int) -> Iterator[Any]:
    """A dask.distributed client on a local cluster of ``workers`` processes (one thread each), closed
    on exit; ``None`` (work in this process) for one worker. The CLI's ``--workers``."""
    if workers <= 1:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise DataError("--workers > 1 needs dask.distributed: pip install 'gridplan[distributed]'") from exc
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
