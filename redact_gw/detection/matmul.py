"""Which matrix multiplication spaCy's neural layers run on.

thinc, spaCy's neural network library, multiplies matrices with BLIS (the
``blis`` package) by default. BLIS picks a kernel for the CPU it runs on when it is
first called, and on CPUs it does not recognise it falls back to its *generic*
kernel, plain C: AMD Zen 4 and Zen 5 (family 19h/1Ah models it has no entry for, a
large share of today's cloud machines) are among them (flame/blis issues 770 and
912; explosion/cython-blis issue 53 was the same for Zen 3). ``BLIS_ARCH_DEBUG=1``
prints the choice; on the machine the benchmarks run on it prints
``selecting sub-configuration 'generic'``.

numpy's own BLAS (OpenBLAS in numpy's wheels, built with ``DYNAMIC_ARCH``) chooses
its kernel by the instructions the CPU has (AVX2, AVX-512), not by its model
number. ``use_numpy_matmul`` sets every thinc layer of a loaded pipeline to
``NumpyOps(use_blis=False)``, thinc's own switch for that: its products go
through ``numpy.dot``, everything else (the maxout and layer-norm kernels, the hash
embeddings) stays thinc's. Measured on ``en_core_web_sm`` over the short utterances
of ``bench/throughput_workloads.py``, same process, alternated: the NER's encoder
takes 42% less CPU, the whole NER 19% less (30% less on call-length lines), with
the same entities on every line (``tests/detection/test_matmul.py``;
``bench/eval_external`` tables identical).

What stays on BLIS: the transition loop of spaCy's parser and NER calls BLIS from
compiled code (a small product per step, through a function pointer thinc's Python
API cannot replace).

numpy's BLAS starts one thread per core. Detection runs one worker process per
core, so more threads per process only make the workers compete;
``single_threaded_blas`` caps this process's BLAS pools at one thread
(``threadpoolctl``, the same call scikit-learn and joblib use).
"""

from __future__ import annotations

from typing import Literal

from spacy.language import Language
from thinc.api import NumpyOps

#: ``numpy``: numpy's BLAS (the default); ``blis``: thinc's default, BLIS.
Matmul = Literal["numpy", "blis"]

_single_threaded = False


def single_threaded_blas() -> None:
    """Cap every BLAS thread pool of this process at one thread (once per process)."""
    global _single_threaded
    if _single_threaded:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # kept for the life of the process
    _single_threaded = True


def use_numpy_matmul(nlp: Language) -> int:
    """Make every thinc layer of ``nlp``'s components multiply through numpy's BLAS;
    returns how many layers were set. Call right after loading, before any text."""
    ops = NumpyOps(use_blis=False)
    layers = 0
    for _name, component in nlp.pipeline:
        model = getattr(component, "model", None)
        for layer in model.walk() if model is not None and hasattr(model, "walk") else ():
            layer.ops = ops
            layers += 1
    single_threaded_blas()
    return layers


def apply(nlp: Language, matmul: Matmul) -> None:
    """Configure ``nlp`` for the ``detection.matmul`` setting."""
    if matmul == "numpy":
        use_numpy_matmul(nlp)
