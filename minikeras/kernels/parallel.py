"""Running a kernel's work on several CPU cores, in chunks of samples.

NumPy runs each operation on one core, and OpenBLAS's own threads pay a synchronisation on
every call, which costs more than it saves on the small, cache-sized products the blocked
kernels do (and, on a machine other programs also use, waits for a descheduled thread on
every call). So the CPU kernels that dominate a CNN's step split the batch into a few
chunks of samples and run ``work(rows)`` for each chunk on minikeras's own threads, with
BLAS on one thread meanwhile. NumPy releases the GIL inside its loops and inside BLAS, so
the threads run at the same time.

* The chunks depend on the batch size and the amount of work only, never on the number of
  threads, and partial results (a kernel gradient summed over samples) are added in chunk
  order: a result is the same, bit for bit, with one thread or eight.
* The calling thread works too, taking chunks from the same queue as the helpers, so a
  helper that the operating system leaves waiting never holds the kernel up for more than
  one chunk (and one that has not started when the chunks are done is called off).
* On a GPU, or for little work, ``work`` runs once over the whole batch.
"""
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ..backend import can_steer_blas, get_array_module, single_threaded_blas, usable_threads

# A kernel is split only when it has at least this much work, counted in array elements it
# reads or writes (a kernel of matrix products counts 16 multiply-adds as one): below it,
# handing chunks to threads (some tens of microseconds) costs more than it saves.
MIN_PARALLEL_WORK = 500_000
MAX_CHUNKS = 8

_pool = {"executor": None, "size": 0}
_inside = threading.local()  # set in a thread that is running a chunk (no nested splitting)


def chunks(xp, n, work, min_rows=1):
    """The sample ranges of a batch of ``n``: up to ``MAX_CHUNKS`` slices of nearly equal size
    (of at least ``min_rows`` samples) on the CPU when ``work`` is large enough, else one."""
    parts = min(n // min_rows, MAX_CHUNKS)
    if xp.__name__ != "numpy" or work < MIN_PARALLEL_WORK or parts < 2:
        return [slice(0, n)]
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def map_chunks(work, ranges, uses_blas=True):
    """``[work(r) for r in ranges]``, the calls spread over ``backend.usable_threads()`` threads.

    ``uses_blas``: the chunks call matrix products; they then run in parallel only when BLAS
    can be held at one thread meanwhile (threadpoolctl), so that the cores are not
    oversubscribed.
    """
    threads = min(usable_threads(), len(ranges))
    if threads < 2 or getattr(_inside, "active", False) or (uses_blas and not can_steer_blas()):
        return [work(r) for r in ranges]
    results = [None] * len(ranges)
    queue = itertools.count()  # each next() hands out one chunk index (atomic under the GIL)

    def drain():
        _inside.active = True
        try:
            i = next(queue)
            while i < len(ranges):
                results[i] = work(ranges[i])
                i = next(queue)
        finally:
            _inside.active = False

    with single_threaded_blas():
        helpers = [_executor(threads - 1).submit(drain) for _ in range(threads - 1)]
        try:
            drain()
        finally:
            for h in helpers:  # a helper that has not started yet has nothing left to do
                if not h.cancel():
                    h.result()
    return results


def _executor(size):
    """The shared pool of helper threads (grown when ``num_threads()`` grows)."""
    if _pool["executor"] is None or _pool["size"] < size:
        old = _pool["executor"]
        _pool["executor"] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="minikeras")
        _pool["size"] = size
        if old is not None:
            old.shutdown(wait=False)
    return _pool["executor"]


def _forget_pool_after_fork():
    _pool["executor"], _pool["size"] = None, 0  # a forked child has none of the parent's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def sum_in_order(parts):
    """The sum of a list of partial results (arrays or None) in list order, so that the
    total never depends on which thread finished first."""
    total = None
    for p in parts:
        if p is not None:
            total = p if total is None else total + p
    return total


def batch_split(forward, backward, batch_inputs, min_rows=64):
    """A kernel pair that runs ``forward``/``backward`` on chunks of the batch at once.

    For kernels whose samples never meet (a recurrent layer over a batch of sequences): the
    positional inputs numbered in ``batch_inputs`` and every array attribute are cut along
    the batch (the first axis of an input; the next-to-last axis of an attribute, where the
    dropout masks (..., batch, features) and the step mask (batch, time) keep it), the chunks
    run on the CPU's threads, and their outputs and input gradients are joined again; the
    gradients of the shared inputs (the weights) are the chunks' sums, added in order.
    Chunks have at least ``min_rows`` samples, so that each chunk's matrix products stay
    efficient; one chunk (a small batch, a GPU) is the kernel itself.
    """
    def split_forward(*values, **attrs):
        x = values[batch_inputs[0]]
        xp = get_array_module(x)
        n = x.shape[0]
        ranges = chunks(xp, n, float("inf"), min_rows)
        if len(ranges) == 1:
            out, cache = forward(*values, **attrs)
            return out, (None, cache)

        def run(rows):
            part = [v[rows] if i in batch_inputs and v is not None else v for i, v in enumerate(values)]
            part_attrs = {k: _cut(v, rows) for k, v in attrs.items()}
            return forward(*part, **part_attrs)
        results = map_chunks(run, ranges)
        outs = [r[0] for r in results]
        joined = tuple(xp.concatenate(parts) for parts in zip(*outs)) if isinstance(outs[0], tuple) \
            else xp.concatenate(outs)
        return joined, (ranges, [r[1] for r in results])

    def split_backward(grads, cache, needs):
        ranges, caches = cache
        if ranges is None:
            return backward(grads, caches, needs)
        xp = get_array_module(*[g for g in grads if g is not None])

        def run(k):
            rows = ranges[k]
            return backward(tuple(None if g is None else g[rows] for g in grads), caches[k], needs)
        results = map_chunks(run, list(range(len(ranges))))
        out = []
        for i, parts in enumerate(zip(*results)):
            if parts[0] is None:
                out.append(None)
            elif i in batch_inputs:
                out.append(xp.concatenate(parts))
            else:
                out.append(sum_in_order(parts))
        return tuple(out)
    split_forward.__name__ = getattr(forward, "__name__", "split_forward")
    return split_forward, split_backward


def _cut(value, rows):
    """An attribute's share of a chunk: arrays along their next-to-last axis, the rest whole."""
    if getattr(value, "ndim", 0) < 2:
        return value
    return value[(slice(None),) * (value.ndim - 2) + (rows,)]
