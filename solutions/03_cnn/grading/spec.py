"""Hidden checks of 03_cnn, written the trusted way (see docs/grading.md).

Coverage (CONTRIBUTING.md, "Hidden checks: the coverage rule"): float32 and float64 for every
kernel; convolutions with "valid" and "same" padding, an even and an odd total padding (the
extra row/column at the bottom/right), strides 1 to 3 given as an int or as a pair, unequal
strides, square and non-square inputs and kernels, 1x1 kernels, a kernel as large as the
input, one and several samples and channels, with and without a bias, every ``needs``
pattern; the vectorised forward on a small and a large input (its number of function calls
must not grow with the output); max pooling with and without overlap, strides below, equal
to and above the pool, "same" padding on all-negative inputs, ties (integer inputs, ReLU
zeros); batch normalization on 2-D to 4-D inputs over the last and another axis, square
shapes, without gamma or beta, a constant feature, small and large epsilon, momenta 0 to
0.99; dropout rates from 0 to 0.8, noise shapes, a seeded generator and the global one;
the CNN on fresh held-out test images, within a CPU budget measured from outside.

Sizes are drawn on every run. Values are compared with minikeras's kernels (float64 to a
relative 1e-7, about CS231n's bar of 1e-8 for the relative error of a convolution, which
``tests/test_grading_cnn.py`` checks the reference itself meets against numerical
gradients); dropout, which is random, by its properties.
"""
import math

import numpy as np

from minikeras.grading.judge import Case, Out, Step, Task, Verdict, accuracy_verdict, compare_values, out_of_time, record_problem
from minikeras.kernels import conv as C
from minikeras.kernels import dropout as DR
from minikeras.kernels import normalization as N
from minikeras.kernels import pooling as P

NOTEBOOK = "cnn.ipynb"
FLOATS = ("float32", "float64")
TOL64 = (1e-7, 1e-9)
N_TRAIN, N_VAL, N_HELDOUT = 10000, 1000, 2000
BAR = 0.82

# The kernels students write: inside the notebook's sandbox minikeras's own versions raise,
# so that the CNN of Task 8 can only run (and train) on the student's kernels. The helpers that
# only those kernels use go too (the im2col view and its inverse, the 2x2 max pooling), so that
# no plugged layer can be assembled from the library's own pieces.
SWITCHED_OFF = (
    "kernels.conv.conv2d_forward", "kernels.conv.conv2d_backward",
    "kernels.conv.windows", "kernels.conv.col2im", "kernels.conv._patches", "kernels.conv._col2im_into",
    "kernels.pooling.max_pool2d_forward", "kernels.pooling.max_pool2d_backward",
    "kernels.pooling._max_pool_2x2_forward", "kernels.pooling._max_pool_2x2_backward",
    "kernels.normalization.batch_norm_train_forward", "kernels.normalization.batch_norm_train_backward",
    "kernels.normalization.batch_norm_infer_forward", "kernels.normalization.batch_norm_infer_backward",
    "kernels.normalization.batch_moments",
    "kernels.dropout.dropout_forward", "kernels.dropout.dropout_backward",
)


def _dt(x, dtype):
    return np.asarray(x, dtype=dtype)


def _pair(v):
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def _tol(dtype):
    return TOL64 if np.dtype(dtype) == np.float64 else None


# ------------------------------------------------------------------ references

def ref_conv_padding(n, k, s, padding):
    before, after, out = C.padding_amounts(int(n), int(k), int(s), 1, padding)
    return before, after, out


# What later tasks may call, put in while they are graded (one mistake, one task).
CONTEXT = '''
def conv_padding(n, k, s, padding):
    if padding == "same":
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        return total // 2, total - total // 2, out
    return 0, 0, max((n - k) // s + 1, 0)
'''


def ref_conv_forward(x, kernel, bias=None, strides=(1, 1), padding="valid"):
    y, _ = C.conv2d_forward(x, kernel, bias, _pair(strides), padding)
    return y, (x, kernel, bias is not None, _pair(strides), padding)


def ref_conv_forward_fast(x, kernel, bias=None, strides=(1, 1), padding="valid"):
    """Task 3's reference: im2col and one product, as the task asks (minikeras's kernel works in
    blocks of samples, whose loop the vectorisation check would count). Equal to minikeras's
    conv2d_forward, which tests/test_grading_cnn.py checks on the drawn cases."""
    (sh, sw) = _pair(strides)
    n, h, w, c_in = x.shape
    kh, kw, _, c_out = kernel.shape
    top, bottom, oh = C.padding_amounts(h, kh, sh, 1, padding)
    left, right, ow = C.padding_amounts(w, kw, sw, 1, padding)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    s0, s1, s2, s3 = xp.strides
    windows = np.lib.stride_tricks.as_strided(xp, (n, oh, ow, kh, kw, c_in), (s0, s1 * sh, s2 * sw, s1, s2, s3),
                                              writeable=False)
    y = (windows.reshape(n * oh * ow, -1) @ kernel.reshape(-1, c_out)).reshape(n, oh, ow, c_out)
    return (y if bias is None else y + bias), (x, kernel, bias is not None, (sh, sw), padding)


def ref_conv_backward(dy, cache, needs=(True, True, True)):
    x, kernel, has_bias, strides, padding = cache
    bias = np.zeros(kernel.shape[-1], dtype=kernel.dtype) if has_bias else None
    _, library_cache = C.conv2d_forward(x, kernel, bias, strides, padding)
    dx, dkernel, dbias = C.conv2d_backward(dy, library_cache, tuple(needs))
    return (dx if needs[0] else None, dkernel if needs[1] else None,
            dbias if has_bias and needs[2] else None)


def _feature_shape(ndim, axis, size):
    shape = [1] * ndim
    shape[axis] = size
    return tuple(shape)


def ref_bn_train_forward(x, gamma, beta, axis, epsilon):
    y, library_cache = N.batch_norm_train_forward(x, gamma, beta, axis, epsilon)
    mean, var = N.batch_moments(library_cache)
    axis = axis % x.ndim
    inv_std = (1.0 / np.sqrt(var + x.dtype.type(epsilon))).astype(x.dtype)
    shape = _feature_shape(x.ndim, axis, x.shape[axis])
    x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
    return y, (x_hat, mean, var, inv_std, gamma, beta is not None, axis)


def ref_batch_moments(cache):
    return cache[1], cache[2]


def ref_bn_infer_forward(x, mean, var, gamma, beta, axis, epsilon):
    y, _ = N.batch_norm_infer_forward(x, mean, var, gamma, beta, axis, epsilon)
    return y, None


def ref_moving_average_update(moving, value, momentum):
    return moving * momentum + value * (1 - momentum)  # Keras's convention (momentum ~ 0.99)


def ref_bn_train_backward(dy, cache, needs=(True, True, True)):
    """minikeras's backward, on x recovered from the documented cache (in float64)."""
    x_hat, mean, var, inv_std, gamma, has_beta, axis = cache
    f64 = np.float64
    shape = _feature_shape(dy.ndim, axis, dy.shape[axis])
    inv64 = inv_std.astype(f64)
    x = x_hat.astype(f64) / inv64.reshape(shape) + mean.astype(f64).reshape(shape)
    # epsilon from the feature of smallest variance, where 1 / inv_std**2 - var loses least to
    # float32 rounding (a mean over features would shift a constant feature's inv_std by 1e-4).
    smallest = int(np.argmin(var.astype(f64)))
    epsilon = float(1.0 / inv64[smallest] ** 2 - var.astype(f64)[smallest])
    g64 = None if gamma is None else gamma.astype(f64)
    beta = np.zeros(dy.shape[axis]) if has_beta else None
    _, library_cache = N.batch_norm_train_forward(x, g64, beta, axis, max(epsilon, 1e-12))
    grads = N.batch_norm_train_backward(dy.astype(f64), library_cache, tuple(needs))
    out = []
    for g, wanted, present in zip(grads, needs, (True, gamma is not None, has_beta)):
        out.append(g.astype(dy.dtype) if g is not None and wanted and present else None)
    return tuple(out)


# ------------------------------------------------------------------ Tasks 1-3: convolution

def conv_classes(rng):
    """(description, n, h, w, cin, cout, kh, kw, strides, padding, use_bias, dtype) per input class."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    out = []
    for dtype in FLOATS:
        out += [
            ("3x3 kernel, stride 1, 'valid'", r(2, 3), r(5, 8), r(5, 8), r(1, 3), r(2, 4), 3, 3, 1, "valid", True),
            ("3x3 kernel, stride 1, 'same' (even total padding)", r(2, 3), r(4, 7), r(4, 7), r(1, 3), r(2, 4), 3, 3,
             (1, 1), "same", True),
            ("2x2 kernel, 'same' (odd total padding: the extra row/column goes at the bottom/right)", r(1, 3),
             r(3, 6), r(3, 6), r(1, 3), r(1, 3), 2, 2, 1, "same", True),
            ("4x2 kernel, 'same', strides (2, 1)", r(1, 2), 2 * r(2, 3) + 1, r(4, 6), r(1, 2), r(2, 3), 4, 2, (2, 1),
             "same", True),
            ("3x3 kernel, stride 2 on an odd size, 'same'", r(1, 3), 2 * r(2, 3) + 1, 2 * r(2, 3) + 1, r(1, 3),
             r(1, 3), 3, 3, 2, "same", False),
            ("3x3 kernel, stride 2 on an even size, 'same'", r(1, 2), 2 * r(3, 4), 2 * r(2, 3), r(1, 2), r(2, 3), 3, 3,
             (2, 2), "same", True),
            ("2x3 kernel, strides (1, 3), 'valid' (the last columns are never covered)", r(1, 3), r(4, 7), 3 * r(2, 3) + 2,
             r(1, 3), r(1, 3), 2, 3, (1, 3), "valid", True),
            ("3x3 kernel, stride 3, 'valid'", r(1, 2), 3 * r(2, 3) + 1, 3 * r(2, 3) + 2, r(1, 2), r(1, 3), 3, 3, 3,
             "valid", True),
            ("1x1 kernel, stride 2", r(1, 3), r(3, 6), r(3, 6), r(2, 4), r(1, 3), 1, 1, 2, ["valid", "same"][r(0, 1)], True),
            ("1x3 kernel, 'same'", r(1, 2), r(2, 5), r(3, 6), r(1, 2), r(1, 3), 1, 3, 1, "same", True),
            ("a kernel as large as the input, 'valid'", r(1, 3), 4, 3, r(1, 2), r(1, 3), 4, 3, 1, "valid", True),
            ("one sample, one channel in and out, no bias", 1, r(4, 7), r(4, 7), 1, 1, 3, 3, 1,
             ["valid", "same"][r(0, 1)], False),
            ("square everything (h == w, kh == kw, channels in == out)", 2, 5, 5, 3, 3, 3, 3, 1,
             ["valid", "same"][r(0, 1)], True),
        ]
        out = [o + (dtype,) if len(o) == 11 else o for o in out]
    return out


def _conv_inputs(rng, cls):
    desc, n, h, w, cin, cout, kh, kw, strides, padding, use_bias, dtype = cls
    x = _dt(rng.normal(size=(n, h, w, cin)), dtype)
    kernel = _dt(rng.normal(size=(kh, kw, cin, cout)), dtype)
    bias = _dt(rng.normal(size=cout) * 2.0, dtype) if use_bias else None
    return desc, x, kernel, bias, strides, padding, dtype


def _conv_desc(desc, x, kernel, bias, strides, padding):
    return (f"{desc}: x {tuple(x.shape)} ({x.dtype}), kernel {tuple(kernel.shape)}, strides={strides!r}, "
            f"padding={padding!r}, {'with a bias' if bias is not None else 'bias=None'}")


PADDING_CLASSES = [
    ("'valid', stride 1", lambda r: [(r(3, 12), k, 1, "valid") for k in (1, 2, 3, 5)]),
    ("'valid', strides 2 and 3 (the output is floored)", lambda r: [(r(5, 14), r(1, 4), s, "valid") for s in (2, 3, 3)]),
    ("'valid', the kernel as large as the input", lambda r: [(k, k, s, "valid") for k, s in ((3, 1), (4, 2))]),
    ("'same', stride 1, odd kernels (even total padding)", lambda r: [(r(3, 12), k, 1, "same") for k in (1, 3, 5)]),
    ("'same', stride 1, even kernels (odd total: one more at the end)", lambda r: [(r(3, 12), k, 1, "same")
                                                                                 for k in (2, 4)]),
    ("'same', stride 2 and 3 on odd and even sizes", lambda r: [(2 * r(3, 6), 3, 2, "same"), (2 * r(3, 6) + 1, 3, 2, "same"),
                                                               (2 * r(3, 6) + 1, 2, 2, "same"), (3 * r(2, 4) + 1, 3, 3, "same")]),
    ("'same', a stride larger than the kernel (no padding needed)", lambda r: [(r(6, 12), 2, 3, "same"),
                                                                             (r(6, 12), 1, 2, "same")]),
    ("'same', a kernel larger than the input", lambda r: [(2, 3, 1, "same"), (1, 4, 1, "same"), (3, 5, 2, "same")]),
]


def cases_conv_forward(rng, task, fn="conv2d_forward_naive"):
    out = []
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    if fn == "conv2d_forward_naive":
        for desc, make in PADDING_CLASSES:
            steps = [Step("conv_padding", (n, k, s, p), label=f"conv_padding({n}, {k}, {s}, {p!r})")
                     for n, k, s, p in make(r)]
            out.append(Case(f"conv_padding with {desc}", steps))
    for cls in conv_classes(rng):
        desc, x, kernel, bias, strides, padding, dtype = _conv_inputs(rng, cls)
        out.append(Case(_conv_desc(desc, x, kernel, bias, strides, padding), [
            Step(fn, (x, kernel, bias, strides, padding), label=f"{fn}(x, kernel, bias, strides, padding)",
                 names=("y", "cache"))], tol=_tol(dtype)))
    return out


NEEDS = [(True, True, True), (False, True, True), (True, False, True), (True, True, False)]


def cases_conv_backward(rng, task):
    out = []
    for i, cls in enumerate(conv_classes(rng)):
        desc, x, kernel, bias, strides, padding, dtype = _conv_inputs(rng, cls)
        y, cache = ref_conv_forward(x, kernel, bias, strides, padding)
        dy = _dt(rng.normal(size=y.shape), dtype)
        needs = NEEDS[0] if i % 3 else NEEDS[1 + (i // 3) % 3]
        out.append(Case(_conv_desc(desc, x, kernel, bias, strides, padding)
                        + (f", needs={needs}" if needs != NEEDS[0] else ""), [
            Step("conv2d_backward", (dy, cache, needs), label="conv2d_backward(dy, cache, needs)",
                 names=("dx", "dkernel", "dbias"))], tol=_tol(dtype)))
    return out


def check_vectorised(case, got, want):
    """The two calls' numbers of function calls: the large output must not cost more calls."""
    problem = _record_problems(case, got)
    if problem:
        return problem
    small, large = got[0].get("calls"), got[1].get("calls")
    if not isinstance(small, int) or not isinstance(large, int):
        return "no count of function calls came back", {"no-result"}
    if large <= small + 10 + small // 10:
        return None, set()
    message = (f"{case.steps[0].label} made {small} Python/NumPy function calls for an output of {case.outputs[0]}, "
               f"{case.steps[1].label} made {large} for {case.outputs[1]}: ")
    if large - small >= (case.positions[1] - case.positions[0]) // 2:  # about one call per output position or more
        return message + "the work loops over the output positions", {"loops"}
    return message + "the number of calls grows with the input (a loop over rows or samples?)", {"loops-partial"}


def cases_conv_fast(rng, task):
    out = cases_conv_forward(rng, task, fn="conv2d_forward_fast")
    for padding, strides in (("valid", 1), ("same", 2)):
        cin, cout = int(rng.integers(2, 4)), int(rng.integers(2, 4))
        kernel = rng.normal(size=(3, 3, cin, cout))
        small = rng.normal(size=(1, 6, 6, cin))
        large = rng.normal(size=(8, 42, 42, cin))
        shapes = [ref_conv_forward(v, kernel, None, strides, padding)[0].shape for v in (small, large)]
        case = Case(f"a small and a large input ('{padding}', stride {strides}): the number of function calls", [
            Step("conv2d_forward_fast", (v, kernel, None, strides, padding), record="none", count=True,
                 label=f"conv2d_forward_fast on x of shape {v.shape}") for v in (small, large)],
            check=check_vectorised)
        case.outputs = [f"{s[0]}x{s[1]}x{s[2]}" for s in shapes]
        case.positions = [s[1] * s[2] for s in shapes]  # per image
        out.append(case)
    return out


# ------------------------------------------------------------------ Task 4: max pooling

def pool_classes(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    out = []
    for dtype in FLOATS:
        out += [
            ("2x2 pool, strides None (= the pool), even sizes", r(1, 3), 2 * r(2, 3), 2 * r(2, 4), r(1, 3), 2, None,
             "valid", "normal"),
            ("2x2 pool on odd sizes (the last row and column are dropped)", r(1, 2), 2 * r(2, 3) + 1, 2 * r(2, 3) + 1,
             r(1, 2), (2, 2), None, "valid", "normal"),
            ("2x2 pool with ties (small integers)", r(2, 3), 2 * r(2, 3), 2 * r(2, 3), r(1, 3), 2, 2, "valid", "ties"),
            ("2x2 pool after a ReLU (many zeros: ties at 0)", r(2, 3), 2 * r(2, 3), 2 * r(2, 3), r(1, 3), (2, 2), None,
             "valid", "relu"),
            ("3x3 pool, stride 2 (overlapping windows), with ties", r(1, 2), 2 * r(2, 3) + 1, 2 * r(2, 3) + 1, r(1, 2),
             3, 2, "valid", "ties"),
            ("2x3 pool, strides (1, 2), with ties", r(1, 2), r(3, 6), r(4, 7), r(1, 2), (2, 3), (1, 2), "valid", "ties"),
            ("2x2 pool, stride 3 (cells between windows)", r(1, 2), 3 * r(2, 3) + 1, 3 * r(2, 3), r(1, 2), 2, 3, "valid",
             "normal"),
            ("3x3 pool, stride 3 given as ints", r(1, 2), 3 * r(1, 2) + 2, 3 * r(2, 3), r(1, 3), 3, 3, "valid", "normal"),
            ("2x2 pool, 'same' on odd sizes, all values negative", r(1, 2), 2 * r(1, 3) + 1, 2 * r(1, 3) + 1, r(1, 2),
             2, None, "same", "negative"),
            ("2x2 pool, stride 1, 'same' (padding at the bottom/right only), negative values", r(1, 2), r(3, 5),
             r(3, 5), r(1, 2), 2, 1, "same", "negative"),
            ("3x3 pool, stride 2, 'same' with ties", r(1, 2), r(4, 7), r(4, 7), r(1, 2), 3, 2, "same", "ties"),
            ("1x1 pool, stride 2", r(1, 2), r(3, 6), r(3, 6), r(1, 2), 1, 2, "valid", "normal"),
            ("one window over the whole image", r(1, 3), 4, 3, r(1, 3), (4, 3), None, "valid", "ties"),
        ]
        out = [o + (dtype,) if len(o) == 9 else o for o in out]
    return out


def _pool_values(rng, shape, kind):
    if kind == "ties":
        return rng.integers(-1, 3, size=shape).astype(float)
    if kind == "relu":
        return np.maximum(rng.normal(size=shape), 0)
    if kind == "negative":
        return -np.abs(rng.normal(size=shape)) - 0.1
    return rng.normal(size=shape)


def cases_max_pool(rng, task):
    out = []
    for desc, n, h, w, c, pool, strides, padding, kind, dtype in pool_classes(rng):
        x = _dt(_pool_values(rng, (n, h, w, c), kind), dtype)
        y, _ = P.max_pool2d_forward(x, pool, strides, padding)
        dy = _dt(rng.normal(size=y.shape), dtype)
        out.append(Case(f"{desc}: x {tuple(x.shape)} ({dtype}), pool_size={pool!r}, strides={strides!r}, "
                        f"padding={padding!r}", [
            Step("max_pool2d_forward", (x, pool, strides, padding), record=[0],
                 label="max_pool2d_forward(x, pool_size, strides, padding): y"),
            Step("max_pool2d_backward", (dy, Out(0, 1)), label="max_pool2d_backward(dy, cache)")],
            tol=_tol(dtype)))
    return out


# ------------------------------------------------------------------ Tasks 5-6: batch normalization

def bn_classes(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    out = []
    for dtype in FLOATS:
        out += [
            ("2-D (batch, features), axis -1", (r(4, 9), r(2, 5)), -1, True, True, 1e-3),
            ("2-D, axis 1 (the same axis), epsilon 1e-5", (r(4, 9), r(2, 5)), 1, True, True, 1e-5),
            ("square 2-D (batch == features)", (4, 4), -1, True, True, 1e-3),
            ("4-D images (batch, h, w, channels), axis -1", (r(2, 3), r(2, 4), r(2, 4), r(2, 3)), -1, True, True, 1e-3),
            ("4-D, axis 1", (r(2, 3), r(2, 4), 3, 2), 1, True, True, 1e-3),
            ("4-D with h == w == channels", (2, 3, 3, 3), 3, True, True, 1e-3),
            ("3-D (batch, steps, features), axis -1", (r(2, 3), r(2, 4), r(2, 4)), -1, True, True, 1e-3),
            ("no gamma (scale=False)", (r(4, 8), r(2, 4)), -1, False, True, 1e-3),
            ("no beta (center=False)", (r(2, 3), 3, 3, r(2, 3)), -1, True, False, 1e-3),
            ("neither gamma nor beta", (r(4, 8), r(2, 4)), -1, False, False, 1e-3),
            ("two samples only", (2, r(2, 4)), -1, True, True, 1e-3),
            ("a constant feature (variance 0)", (r(4, 8), r(3, 5)), -1, True, True, 1e-3),
        ]
        out = [o + (dtype,) if len(o) == 6 else o for o in out]
    return out


MOMENTA = (0.99, 0.9, 0.75, 0.0)


def _bn_inputs(rng, cls):
    desc, shape, axis, has_gamma, has_beta, eps, dtype = cls
    x = rng.normal(size=shape) * rng.uniform(0.5, 3.0) + rng.normal() * 2
    f = shape[axis]
    if desc.startswith("a constant"):
        x[(slice(None),) * (len(shape) - 1) + (0,)] = 1.5
    gamma = _dt(rng.uniform(0.5, 2.0, size=f), dtype) if has_gamma else None
    beta = _dt(rng.normal(size=f), dtype) if has_beta else None
    return desc, _dt(x, dtype), gamma, beta, axis, eps, dtype


def _bn_desc(desc, x, gamma, beta, axis, eps):
    return (f"{desc}: x {tuple(x.shape)} ({x.dtype}), axis={axis}, epsilon={eps:g}, "
            f"gamma {'given' if gamma is not None else 'None'}, beta {'given' if beta is not None else 'None'}")


def cases_bn_forward(rng, task):
    out = []
    for i, cls in enumerate(bn_classes(rng)):
        desc, x, gamma, beta, axis, eps, dtype = _bn_inputs(rng, cls)
        f = x.shape[axis]
        moving_mean, batch_mean = _dt(rng.normal(size=f), dtype), _dt(rng.normal(size=f), dtype)
        moving_var = _dt(rng.uniform(0.5, 2.0, size=f), dtype)
        momentum = MOMENTA[i % len(MOMENTA)]
        x2 = _dt(rng.normal(size=x.shape) * 2 + 1, dtype)
        out.append(Case(_bn_desc(desc, x, gamma, beta, axis, eps) + f", momentum={momentum}", [
            Step("batch_norm_train_forward", (x, gamma, beta, axis, eps), names=("y", "cache"),
                 label="batch_norm_train_forward(x, gamma, beta, axis, epsilon)"),
            Step("batch_moments", (Out(0, 1),), names=("mean", "var"), label="batch_moments(cache)"),
            Step("moving_average_update", (moving_mean, batch_mean, momentum),
                 label=f"moving_average_update(moving, value, momentum={momentum})"),
            Step("batch_norm_infer_forward", (x2, moving_mean, moving_var, gamma, beta, axis, eps), record=[0],
                 label="batch_norm_infer_forward(x, moving_mean, moving_var, gamma, beta, axis, epsilon): y")],
            tol=_tol(dtype)))
    return out


def cases_bn_backward(rng, task):
    out = []
    for i, cls in enumerate(bn_classes(rng)):
        desc, x, gamma, beta, axis, eps, dtype = _bn_inputs(rng, cls)
        _, cache = ref_bn_train_forward(x, gamma, beta, axis, eps)
        dy = _dt(rng.normal(size=x.shape), dtype)
        needs = NEEDS[0] if i % 3 else NEEDS[1 + (i // 3) % 3]
        tol = _tol(dtype)
        if tol is None:  # float32: dx is a difference of terms of size gamma * inv_std * dy, which
            # cancel almost exactly with two samples; the absolute error follows their size
            scale = float(np.max(np.abs(dy)) * np.max(cache[3]) * (1.0 if gamma is None else np.max(gamma)))
            tol = (1e-4, 1e-5 * max(1.0, scale))
        out.append(Case(_bn_desc(desc, x, gamma, beta, axis, eps) + (f", needs={needs}" if needs != NEEDS[0] else ""), [
            Step("batch_norm_train_backward", (dy, cache, needs), names=("dx", "dgamma", "dbeta"),
                 label="batch_norm_train_backward(dy, cache, needs)")], tol=tol))
    return out


# ------------------------------------------------------------------ Task 7: dropout (random: by properties)

def _record_problems(case, got):
    """(message, symptoms) when a record is missing or holds an error; None when all returned."""
    if got is None or len(got) != len(case.steps):
        return "no results were returned for this case", {"no-result"}
    for step, g in zip(case.steps, got):
        problem = record_problem(step.label or step.fn, g)
        if problem:
            return problem
    return None


def _array(value, like, what):
    if not isinstance(value, np.ndarray):
        return None, (f"{what} must be an array, got {type(value).__name__}", {"value"})
    if value.shape != like.shape:
        return None, (f"{what} has shape {value.shape}, expected {like.shape}", {"shape"})
    if value.dtype != like.dtype:
        return None, (f"{what} has dtype {value.dtype}, expected {like.dtype} (keep the input's dtype)", {"dtype"})
    if not np.all(np.isfinite(value)):
        return None, (f"{what} contains NaN or inf", {"value"})
    return value, None


def _kept(y, x, rate):
    """Boolean 'kept' pattern of a dropout output, or a (message, symptoms) problem."""
    tol = dict(rtol=1e-5, atol=1e-6) if x.dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    zero = y == 0
    kept = ~zero
    if rate == 0:
        if not np.allclose(y, x, **tol):
            return None, ("with rate=0 nothing is dropped and nothing scaled: y must equal x", {"rate-zero"})
        return kept, None
    if not kept.any():
        return None, ("every value was dropped", {"all-dropped"})
    ratio = y[kept] / x[kept]
    if np.allclose(ratio, 1 / (1 - rate), **tol):
        return kept, None
    if np.allclose(ratio, 1.0, **tol):
        return None, ("the kept values are not scaled: inverted dropout divides them by 1 - rate", {"no-scaling"})
    if np.allclose(ratio, 1 - rate, **tol):
        return None, ("the kept values are multiplied by 1 - rate; inverted dropout divides by it", {"scaled-by-keep"})
    if np.allclose(ratio, 1 / rate, **tol):
        return None, ("the kept values are divided by rate; inverted dropout divides by 1 - rate (the keep "
                      "probability)", {"scaled-by-rate"})
    return None, ("the kept values are not x / (1 - rate)", {"wrong-scale"})


def _dropped_fraction_problem(kept, rate, groups):
    if rate == 0:
        return None
    n = groups
    dropped = 1.0 - kept
    slack = 5 * math.sqrt(rate * (1 - rate) / n) + 0.002
    if abs(dropped - rate) <= slack:
        return None
    if abs(dropped - (1 - rate)) <= slack:
        return (f"{dropped:.3f} of the values were dropped with rate={rate}: `rate` is the probability of dropping "
                f"(CS231n's p is the probability of keeping)", {"keep-probability"})
    return f"{dropped:.3f} of the values were dropped with rate={rate}", {"drop-fraction"}


def check_dropout(case, got, want):
    problem = _record_problems(case, got)
    if problem:
        return problem
    x, rate, noise_shape = case.x, case.rate, case.noise_shape
    masks = []
    for i in case.forward_steps:
        y, problem = _array(got[i].get("ok"), x, case.steps[i].label + ": y")
        if problem:
            return problem
        kept, problem = _kept(y, x, rate)
        if problem:
            return problem
        if noise_shape is not None:
            axes = tuple(a for a, d in enumerate(noise_shape) if d == 1)
            if not (np.all(kept == kept.any(axis=axes, keepdims=True))):
                return (f"with noise_shape={noise_shape} one draw must drop or keep whole slices along the axes of "
                        "size 1 (the mask broadcasts over them)", {"noise-shape-ignored"})
            groups = int(np.prod([d for d in noise_shape]))
            fraction = kept.all(axis=axes).mean()
        else:
            groups, fraction = kept.size, kept.mean()
        problem = _dropped_fraction_problem(fraction, rate, groups)
        if problem:
            return problem
        masks.append(kept)
    if case.backward_step is not None:
        i, j = case.backward_step
        dx, problem = _array(got[i].get("ok"), x, case.steps[i].label)
        if problem:
            return problem
        dy = case.steps[i].args[0]
        want_dx = np.where(masks[j], dy / (1 - rate), 0).astype(x.dtype)
        tol = (1e-5, 1e-6) if x.dtype == np.float32 else (1e-10, 1e-12)
        if not np.allclose(dx, want_dx, rtol=tol[0], atol=tol[1]):
            if np.allclose(dx, dy, rtol=tol[0], atol=tol[1]):
                return f"{case.steps[i].label} must apply the forward's mask: it returned dy", {"backward-no-mask"}
            if rate and np.array_equal(dx == 0, dy == 0):
                return f"{case.steps[i].label} must scale the kept gradients by 1 / (1 - rate)", {"backward-scale"}
            return (f"{case.steps[i].label} must zero the gradient where the forward dropped and scale the rest "
                    "by 1 / (1 - rate): use the forward's mask from the cache, not a new draw", {"backward-new-mask"})
    if case.compare == "different" and np.array_equal(masks[0], masks[1]):
        return ("two calls on the same input dropped exactly the same values: draw a fresh mask on every call "
                "(never reseed inside the kernel)", {"same-mask"})
    if case.compare == "same" and not np.array_equal(masks[0], masks[1]):
        return ("two calls with generators seeded alike dropped different values: draw from `generator` when one "
                "is given", {"generator-ignored"})
    return None, set()


def _dropout_case(desc, x, rate, steps, noise_shape=None, forward_steps=(0,), backward_step=None, compare=None):
    case = Case(desc, steps, check=check_dropout)
    case.x, case.rate, case.noise_shape = x, rate, noise_shape
    case.forward_steps, case.backward_step, case.compare = list(forward_steps), backward_step, compare
    return case


def _nonzero(rng, shape, dtype):
    return _dt(rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape), dtype)


def cases_dropout(rng, task):
    out = []
    for dtype in FLOATS:
        for rate in (0.2, 0.8, 0.5, 0.0):
            shape = (int(rng.integers(150, 250)), int(rng.integers(80, 120)))
            if rate == 0.5:
                shape = (int(rng.integers(20, 30)), 7, 7, int(rng.integers(10, 20)))
            x, dy = _nonzero(rng, shape, dtype), _dt(rng.normal(size=shape), dtype)
            fwd = f"dropout_forward(x, rate={rate})"
            out.append(_dropout_case(f"rate={rate}, x {shape} ({dtype})", x, rate, [
                Step("dropout_forward", (x, rate), record=[0], label=fwd + ": y"),
                Step("dropout_backward", (dy, Out(0, 1)), label="dropout_backward(dy, cache)")],
                backward_step=(1, 0)))
        n, c = int(rng.integers(200, 300)), int(rng.integers(20, 40))
        shape, noise = (n, 3, 3, c), (n, 1, 1, c)
        x, dy = _nonzero(rng, shape, dtype), _dt(rng.normal(size=shape), dtype)
        out.append(_dropout_case(f"noise_shape={noise} on x {shape} ({dtype}): whole channels dropped", x, 0.3, [
            Step("dropout_forward", (x, 0.3, noise), record=[0], label="dropout_forward(x, 0.3, noise_shape): y"),
            Step("dropout_backward", (dy, Out(0, 1)), label="dropout_backward(dy, cache)")],
            noise_shape=noise, backward_step=(1, 0)))
        f = int(rng.integers(100, 200))
        shape, noise = (int(rng.integers(30, 60)), f), (1, f)
        x = _nonzero(rng, shape, dtype)
        out.append(_dropout_case(f"noise_shape={noise} on x {shape} ({dtype}): one mask for every sample", x, 0.4, [
            Step("dropout_forward", (x, 0.4, noise), record=[0], label="dropout_forward(x, 0.4, noise_shape): y")],
            noise_shape=noise))
        x = _nonzero(rng, (100, 100), dtype)
        out.append(_dropout_case(f"two calls on the same x ({dtype}), no generator", x, 0.3, [
            Step("dropout_forward", (x, 0.3), record=[0], label="dropout_forward(x, 0.3): y (first call)"),
            Step("dropout_forward", (x, 0.3), record=[0], label="dropout_forward(x, 0.3): y (second call)")],
            forward_steps=(0, 1), compare="different"))
        seed = int(rng.integers(1 << 30))
        out.append(_dropout_case(f"two calls with generators seeded alike ({dtype})", x, 0.3, [
            Step("np.random.default_rng", (seed,), record="none", label="np.random.default_rng(seed)"),
            Step("dropout_forward", (x, 0.3), {"generator": Out(0)}, record=[0],
                 label="dropout_forward(x, 0.3, generator=np.random.default_rng(seed)): y"),
            Step("np.random.default_rng", (seed,), record="none", label="np.random.default_rng(seed)"),
            Step("dropout_forward", (x, 0.3), {"generator": Out(2)}, record=[0],
                 label="dropout_forward(x, 0.3, generator=np.random.default_rng(seed)): y (again)")],
            forward_steps=(1, 3), compare="same"))
    return out


# ------------------------------------------------------------------ Task 8: the CNN

_TEST = {}


def _fashion_test():
    if "x" not in _TEST:
        from minikeras.datasets import fashion_mnist
        _, (x, y) = fashion_mnist.load_data()
        _TEST["x"], _TEST["y"] = x, y.astype(np.int64)
    return _TEST["x"], _TEST["y"]


def prepare_shared(folder):
    """The training and validation images the sandboxed notebook may read (no test images)."""
    from minikeras.grading import data
    data.write_fashion_subset(folder, N_TRAIN, N_VAL)


def cases_cnn(rng, task):
    """Held-out test images never enter the sandbox: the judge rebuilds the network from what the
    notebook reports (layers, their configuration and trained weights) and predicts itself."""
    x, y = _fashion_test()
    idx = rng.choice(len(x), size=N_HELDOUT, replace=False)
    images = x[idx].astype(np.float32)[..., None] / 255.0
    images = np.clip(images + rng.normal(scale=0.01, size=images.shape), 0.0, 1.0).astype(np.float32)
    case = Case(f"{N_HELDOUT} held-out test images", [Step("network", get=True, label="the network")],
                secret=(images, y[idx]))
    return [case]


def evaluate_cnn(task, cases, records, observed):
    from minikeras.grading import network
    late = out_of_time(task, observed)
    if late:
        return late
    error = observed.get("error")
    if error and "LibraryKernelSwitchedOff" in error[0] + error[1]:
        return Verdict(task.id, False, f"The test cell failed: {error[1]}", {"library"})
    if not records or not records[0] or not isinstance(records[0][0], dict) or "ok" not in records[0][0]:
        why = f" (the test cell raised {error[0]}: {error[1]})" if error else " (is `model` defined when the test cell runs?)"
        return Verdict(task.id, False, "No description of the network came back" + why + ".", {"no-result"})
    images, labels = cases[0].secret
    try:
        model, kinds = network.rebuild(records[0][0]["ok"], input_shape=(28, 28, 1), classes=10)
    except network.NotRebuildable as exc:
        return Verdict(task.id, False, f"The grader cannot rebuild your network: {exc}", {exc.symptom})
    if not (kinds.get("conv2d") and kinds.get("max_pool2d")):
        return Verdict(task.id, False, "The model must contain at least one convolution and one max pooling layer "
                                       "of your own (StudentConv2D, StudentMaxPooling2D); it has "
                                       f"{kinds.get('conv2d', 0)} and {kinds.get('max_pool2d', 0)}.", {"not-a-cnn"})
    scores = np.asarray(model.predict(images, batch_size=500, verbose=0))
    return accuracy_verdict(task, scores, labels, BAR, observed)


TASKS = [
    Task("test_conv_forward_naive", "Task 1, convolution forward (loops)", ("conv_padding", "conv2d_forward_naive"),
         cases_conv_forward, reference={"conv_padding": ref_conv_padding, "conv2d_forward_naive": ref_conv_forward}),
    Task("test_conv_backward", "Task 2, convolution backward", ("conv2d_backward",), cases_conv_backward,
         reference={"conv2d_backward": ref_conv_backward}, context=CONTEXT),
    Task("test_conv_forward_fast", "Task 3, vectorised convolution forward", ("conv2d_forward_fast",), cases_conv_fast,
         reference={"conv2d_forward_fast": ref_conv_forward_fast}, context=CONTEXT),
    Task("test_max_pool", "Task 4, max pooling", ("max_pool2d_forward", "max_pool2d_backward"), cases_max_pool,
         reference={"max_pool2d_forward": P.max_pool2d_forward, "max_pool2d_backward": P.max_pool2d_backward},
         context=CONTEXT),
    Task("test_batchnorm_forward", "Task 5, batch normalization forward",
         ("batch_norm_train_forward", "batch_moments", "moving_average_update", "batch_norm_infer_forward"),
         cases_bn_forward, reference={"batch_norm_train_forward": ref_bn_train_forward,
                                      "batch_moments": ref_batch_moments,
                                      "moving_average_update": ref_moving_average_update,
                                      "batch_norm_infer_forward": ref_bn_infer_forward}),
    Task("test_batchnorm_backward", "Task 6, batch normalization backward", ("batch_norm_train_backward",),
         cases_bn_backward, reference={"batch_norm_train_backward": ref_bn_train_backward}),
    Task("test_dropout", "Task 7, inverted dropout", ("dropout_forward", "dropout_backward"), cases_dropout,
         reference={"dropout_forward": DR.dropout_forward, "dropout_backward": DR.dropout_backward}),
    Task("test_cnn", "Task 8, a CNN of your own layers on Fashion-MNIST", ("model",), cases_cnn, where="notebook",
         cpu_budget=120.0, evaluate=evaluate_cnn),
]

# What the grading tests use (tests/test_grading.py): a short cell limit (a hanging submission costs
# it) that still fits the CNN's training on a loaded machine, and a CPU budget low enough for the
# over-budget submission of the catalogue to exceed it clearly: the solution's notebook used under
# 7 s of CPU time up to the end of Task 8 (training 3.5-4.5 s), the over-budget one 18 s more.
TEST_LIMITS = {"timeout": 20, "budgets": {"test_cnn": 15}}
