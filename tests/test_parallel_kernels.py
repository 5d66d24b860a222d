"""The CPU kernels that split a batch over threads (``kernels.parallel``): the same result, bit
for bit, with one thread and with several, whether BLAS can be steered or not; the thread
setting itself; and the allocator setting of ``backend``.

The suite runs with one thread per worker (``OPENBLAS_NUM_THREADS=1``), so these tests switch
to several threads on purpose.
"""
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from minikeras import backend
from minikeras.kernels import conv as C
from minikeras.kernels import parallel
from minikeras.kernels import pooling as P


@pytest.fixture(autouse=True)
def array_backend():
    """Threads are a CPU matter: run each test once, on NumPy."""
    yield "numpy"


@pytest.fixture
def threads(monkeypatch):
    """Run the body at a chosen thread count, as on an idle machine (however busy this one is);
    restore the suite's setting afterwards."""
    monkeypatch.setattr(backend, "_busy_elsewhere", lambda: 0.0)
    monkeypatch.setattr(backend, "_available_cores", lambda: 8)
    before = backend.num_threads()
    yield backend.set_num_threads
    backend.set_num_threads(before)


def _conv_case(rng, n=24, h=13, cin=16, cout=8, k=3, strides=1, padding="valid"):
    x = rng.standard_normal((n, h, h, cin)).astype(np.float32)
    kernel = rng.standard_normal((k, k, cin, cout)).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32)
    y, cache = C.conv2d_forward(x, kernel, bias, strides, padding, activation="relu")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    return (x, kernel, bias, strides, padding), y, C.conv2d_backward(dy, cache), dy


@pytest.mark.parametrize("strides,padding,cin", [(1, "valid", 16), (2, "same", 16), (1, "same", 1)])
def test_conv_is_the_same_on_one_thread_and_four(threads, monkeypatch, strides, padding, cin):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)  # split even these small cases
    monkeypatch.setattr(C, "BLOCK_BYTES", 1 << 14)         # and use several blocks per chunk
    rng = np.random.default_rng(0)
    threads(1)
    args, y1, grads1, dy = _conv_case(rng, strides=strides, padding=padding, cin=cin)
    threads(4)
    y4, cache = C.conv2d_forward(*args[:3], args[3], args[4], activation="relu")
    grads4 = C.conv2d_backward(dy, cache)
    np.testing.assert_array_equal(y1, y4)
    for a, b in zip(grads1, grads4):
        np.testing.assert_array_equal(a, b)


def test_split_conv_matches_the_whole_batch_at_once(threads, monkeypatch):
    """Chunks, blocks and the in-order sums of their weight gradients change only the rounding
    (BLAS itself rounds a product of another shape differently)."""
    rng = np.random.default_rng(1)
    threads(2)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    args, y, grads, dy = _conv_case(rng)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", float("inf"))
    monkeypatch.setattr(C, "BLOCK_BYTES", 1 << 40)
    y_whole, cache = C.conv2d_forward(*args[:3], args[3], args[4], activation="relu")
    whole = C.conv2d_backward(dy, cache)
    np.testing.assert_allclose(y, y_whole, rtol=1e-5, atol=1e-4)
    for a, b in zip(grads, whole):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("shape", [(20, 26, 26, 8), (20, 11, 11, 8)])
def test_max_pool_is_the_same_on_one_thread_and_three(threads, monkeypatch, shape):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    monkeypatch.setattr(C, "BLOCK_BYTES", 1 << 13)
    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, shape).astype(np.float32)  # many ties: the first maximum must win
    dy = rng.standard_normal((shape[0], shape[1] // 2, shape[2] // 2, shape[3])).astype(np.float32)
    results = []
    for n in (1, 3):
        threads(n)
        y, cache = P.max_pool2d_forward(x, 2)
        results.append((y, P.max_pool2d_backward(dy, cache)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    # and against the general path (any pool size), which the fast path must agree with
    y, dx = results[0]
    windows = x[:, :shape[1] // 2 * 2, :shape[2] // 2 * 2].reshape(shape[0], shape[1] // 2, 2, shape[2] // 2, 2, -1)
    np.testing.assert_array_equal(y, windows.max(axis=(2, 4)))
    y_general, cache = P.max_pool2d_forward(x, 2, strides=(2, 2), padding="valid", _op="check")
    assert np.array_equal(y_general, y)
    first = windows.transpose(0, 1, 3, 5, 2, 4).reshape(*y.shape, 4).argmax(-1)  # row-major first maximum
    expected = np.zeros_like(x)
    for k in range(4):
        i, j = divmod(k, 2)
        expected[:, i:shape[1] // 2 * 2:2, j:shape[2] // 2 * 2:2] = dy * (first == k)
    np.testing.assert_array_equal(dx, expected)


def test_without_threadpoolctl_blas_chunks_run_one_after_the_other(threads, monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "can_steer_blas", lambda: False)
    threads(4)
    import threading
    out = parallel.map_chunks(lambda r: calls.append(threading.get_ident()) or r.start, [slice(i, i + 1) for i in range(6)])
    assert out == list(range(6)) and set(calls) == {threading.get_ident()}
    # work without BLAS may still use the helpers
    out = parallel.map_chunks(lambda r: r.start, [slice(i, i + 1) for i in range(6)], uses_blas=False)
    assert out == list(range(6))


def test_map_chunks_keeps_order_and_raises(threads):
    threads(3)
    ranges = parallel.chunks(np, 100, float("inf"))
    assert [r.stop - r.start for r in ranges] == [12, 13, 12, 13, 12, 13, 12, 13]
    assert parallel.map_chunks(lambda r: r.start, ranges) == [r.start for r in ranges]
    assert parallel.chunks(np, 100, 10) == [slice(0, 100)]

    def fails(r):
        if r.start == 50:
            raise ValueError("chunk 50")
        return r.start
    with pytest.raises(ValueError, match="chunk 50"):
        parallel.map_chunks(fails, ranges)
    assert parallel.sum_in_order([None, np.ones(2), 2 * np.ones(2)]).tolist() == [3, 3]


def test_set_num_threads_checks_its_argument(threads):
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="positive integer"):
            backend.set_num_threads(bad)
    threads(2)
    assert backend.num_threads() == 2


def test_threads_that_other_programs_keep_busy_are_not_used(threads, monkeypatch):
    threads(4)
    monkeypatch.setattr(backend, "_available_cores", lambda: 4)
    for busy, usable in ((0.0, 4), (1.2, 3), (2.6, 1), (7.0, 1)):
        monkeypatch.setattr(backend, "_busy_elsewhere", lambda: busy)
        assert backend.usable_threads() == usable
    threads(1)
    assert backend.usable_threads() == 1


@pytest.mark.skipif(not backend.can_steer_blas(), reason="needs threadpoolctl")
def test_blas_threads_follow_the_size_of_the_product(threads):
    libs = backend._blas_libraries()
    threads(2)
    backend.blas_threads_for(backend.THREADED_GEMM_FLOPS * 2)
    assert [lib.get_num_threads() for lib in libs] == [2] * len(libs)
    backend.blas_threads_for(backend.THREADED_GEMM_FLOPS / 2)
    assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)
    with backend.single_threaded_blas():  # a chunked kernel: one thread whatever the size
        backend.blas_threads_for(backend.THREADED_GEMM_FLOPS * 2)
        assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)


def test_the_busy_estimate_reads_the_machine():
    first = backend._busy_elsewhere()
    assert first >= 0.0
    if sys.platform.startswith("linux"):
        import time
        time.sleep(0.3)
        assert 0.0 <= backend._busy_elsewhere() <= backend._available_cores() + 1


def _python(code, **env):
    import os
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "MINIKERAS_NUM", "OPENBLAS", "OMP"))}
    environ.update(env)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environ, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.split()


def test_thread_count_comes_from_the_environment():
    code = "import minikeras; print(minikeras.backend.num_threads())"
    assert _python(code, MINIKERAS_NUM_THREADS="3", OPENBLAS_NUM_THREADS="1") == ["3"]
    assert _python(code, OPENBLAS_NUM_THREADS="1") == ["1"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_step_memory_is_reused_without_page_faults():
    """Arrays of a training step's sizes, freed and allocated again, come back without faults."""
    code = """
        import resource
        import numpy as np
        import minikeras
        def step():
            a, b = np.ones(5_500_000, np.float32), np.ones(5_500_000, np.float32); del a, b
        step()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(10):
            step()
        print(minikeras.backend.KEEPS_FREED_MEMORY, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
    keeps, faults = _python(code)
    if keeps == "False":
        pytest.skip("not glibc")
    assert int(faults) < 500  # without the setting: about 20,000 (each step faults its 44 MB in again)
    keeps, faults = _python(code, MALLOC_ARENA_MAX="2")  # a user's own MALLOC_ setting wins
    assert keeps == "False" and int(faults) > 1000


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_recurrent_ops_split_the_batch_without_changing_the_result(threads, kind):
    """ops.rnn runs each recurrent kernel on chunks of the batch (kernels.parallel.batch_split):
    outputs, states and every gradient agree with the kernel run on the whole batch at once."""
    from minikeras import autodiff, ops
    from minikeras.kernels import recurrent as R
    rng = np.random.default_rng(3)
    b, t, f, units = 130, 5, 3, 4
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
    arrays = [rng.standard_normal((b, t, f)), rng.standard_normal((f, gates * units)) * 0.5,
              rng.standard_normal((units, gates * units)) * 0.5,
              rng.standard_normal((2, gates * units) if kind == "gru" else (gates * units,))]
    states = [rng.standard_normal((b, units)) for _ in range(2 if kind == "lstm" else 1)]
    masks = dict(input_mask=(rng.random((b, f)) > 0.3) / 0.7, state_mask=(rng.random((b, units)) > 0.3) / 0.7)
    arrays = [a.astype(np.float32) for a in arrays + states]
    masks = {k: v.astype(np.float32) for k, v in masks.items()}  # the dropout masks
    forward, backward = getattr(R, f"{kind}_forward"), getattr(R, f"{kind}_backward")
    import inspect
    if "mask" in inspect.signature(forward).parameters:  # a time-step mask (batch, time), where supported
        masks["mask"] = rng.random((b, t)) > 0.2
    whole = autodiff.function(forward, lambda g, cache, needs: backward(*g, cache, needs))
    split = getattr(ops.rnn, f"_{kind}")
    upstream = [rng.standard_normal((b, t, units)).astype(np.float32)] + \
               [rng.standard_normal((b, units)).astype(np.float32) for _ in states]
    results = []
    for op, n_threads in ((whole, 1), (split, 1), (split, 2)):
        threads(n_threads)
        tensors = [autodiff.Tensor(a, requires_grad=True) for a in arrays]
        outs = op(*tensors, **masks)
        loss = sum(ops.sum(o * u) for o, u in zip(outs, upstream))
        grads = autodiff.gradients(loss, tensors)
        results.append([o.value for o in outs] + grads)
    for whole_value, split_value, threaded in zip(*results):
        np.testing.assert_allclose(split_value, whole_value, rtol=2e-5, atol=2e-5)
        np.testing.assert_array_equal(threaded, split_value)  # one thread or two: the same chunks
