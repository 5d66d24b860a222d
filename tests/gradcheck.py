"""Finite-difference gradient checks in float64 with a random upstream gradient."""
import numpy as np

from minikeras import backend
from minikeras.autodiff import Tensor, gradients


def numerical_gradient(f, arrays, index, upstream, eps=1e-6):
    """d sum(f(*arrays) * upstream) / d arrays[index] by central differences (numpy float64)."""
    x = arrays[index]
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = np.sum(backend.to_numpy(f(*arrays)) * upstream)
        x[i] = old - eps
        minus = np.sum(backend.to_numpy(f(*arrays)) * upstream)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def check_op_gradients(op, *arrays, wrt=None, rtol=1e-5, atol=1e-7, seed=0):
    """Compare the autodiff gradients of ``op(*tensors)`` with central differences.

    ``arrays`` are float64 numpy arrays (moved to the active backend); ``wrt`` lists which
    positions to check (all float arrays by default). Returns the analytic gradients.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.array(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if wrt is None else list(wrt)
    xp = backend.xp()

    def run(*arrs):
        return op(*[Tensor(xp.asarray(a)) for a in arrs])

    tensors = [Tensor(xp.asarray(a), requires_grad=(i in wrt)) for i, a in enumerate(arrays)]
    out = op(*tensors)
    upstream = rng.standard_normal(out.shape)
    analytic = gradients(out, [tensors[i] for i in wrt], xp.asarray(upstream))
    results = []
    for pos, g in zip(wrt, analytic):
        numeric = numerical_gradient(lambda *a: run(*a).value, arrays, pos, upstream)
        got = np.zeros_like(numeric) if g is None else backend.to_numpy(g)
        np.testing.assert_allclose(got, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {pos} disagrees with finite differences")
        results.append(got)
    return results
