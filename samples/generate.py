"""Write small, deterministic GPU-format PyTorch profiler (Kineto) traces, and the ground
truth their recipe implies, for tracekit's tests and demos.

    python samples/generate.py [--out DIR]      # writes the files listed in FILES

Nothing here runs a GPU: the recipe below is replayed by a tiny host/GPU simulator on a
fixed clock, and the events are written in the layout the real writers use (studied from
the Kineto traces in ../shared/corpus/kineto). The same recipe gives the *ground truth*
(which op each kernel belongs to, its group, time per group and step, ...) without
tracekit, from the precedence rules of docs/design.md, so tests can compare tracekit to it.
Importable: ``build_all()`` returns ``{file name: (bytes, truth)}``; ``decoder_trace()``,
``cpu_only_trace()`` return ``(trace, truth)`` for one trace each.

Recipe: "decoder" (one H100, fp16, batch 1, sequence 512, hidden 4096, 32 heads)
-------------------------------------------------------------------------------------
Three profiler steps, ``ProfilerStep#2`` .. ``#4`` (user_annotation; the first is the
warm-up: slower GEMMs and first-call launch overheads). Each step runs, on one CPU thread:

1. ``aten::to`` -> ``aten::_to_copy`` -> ``aten::copy_``: ``cudaMemcpyAsync`` with a
   ``Memcpy HtoD (Pageable -> Device)`` of the 512 token ids (4096 bytes), then
   ``cudaStreamSynchronize``                                             -> Transfer
2. ``nn.Module: TinyDecoderForCausalLM_0`` (python_function, with_modules) holding
   - ``nn.Module: Embedding_0``: ``aten::embedding`` -> ``aten::index_select`` -> one
     ``indexSelectLargeIndex`` kernel                      -> Embedding (module wins)
   - ``nn.Module: TinyDecoderLayer_0``:
     - ``nn.Module: LlamaRMSNorm_0``, a *custom* RMSNorm made of ``aten::pow``,
       ``aten::mean``, ``aten::add``, ``aten::rsqrt``, ``aten::mul``, ``aten::mul`` (one
       elementwise/reduce kernel each)       -> Normalization (module beats op and kernel)
     - ``nn.Module: TinyAttention_0``: q/k/v/o projections ``nn.Module: Linear_0..3``
       (``aten::linear`` -> ``aten::t``, ``aten::addmm`` -> an ``sm90_xmma_gemm_f16f16_...``
       kernel) -> GEMM. k runs on a side stream (20) after ``cudaEventRecord`` /
       ``cudaStreamWaitEvent``, so it overlaps q and v on stream 7; then ``aten::matmul`` ->
       ``aten::bmm`` (``nvjet_hsh_...``) -> GEMM, ``aten::div`` -> Elementwise,
       ``aten::softmax`` -> ``aten::_softmax`` -> Softmax, ``aten::matmul`` (PV) -> GEMM,
       ``aten::contiguous`` -> ``aten::clone`` -> ``aten::copy_`` -> Memory
     - residual ``aten::add``                                            -> Elementwise
     - user_annotation ``post_attention_layernorm`` (record_function) around a
       torch.compile region: cpu_op ``triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0``
       whose Triton kernel of the same name is launched with the *driver* API
       ``cuLaunchKernel`` (cuda_driver)  -> Normalization (the annotation; a fused RMSNorm
       by its name too). A ``gpu_user_annotation`` of the same name covers the kernel.
     - ``nn.Module: TinyGatedMLP_0``: ``Linear_4`` (gate), ``Linear_5`` (up) -> GEMM,
       ``nn.Module: PytorchGELUTanh_0`` -> ``aten::gelu`` -> Activation, ``aten::mul``
       -> Elementwise, ``Linear_6`` (down) -> GEMM
     - residual ``aten::add``                                            -> Elementwise
3. ``Torch-Compiled Region: 2/0`` -> ``CompiledFunction`` -> one ``cudaGraphLaunch``
   replaying a CUDA graph (lm_head + sampling) whose four activities all carry the
   launch's correlation id: ``Memset (Device)`` -> Memory, an ``nvjet_hsh_`` GEMM -> GEMM,
   ``triton_per_fused__softmax_div_0`` -> Softmax, ``triton_red_fused_argmax_1`` ->
   Elementwise (the op says nothing, so kernel names decide); link ``graph_launch``.
4. ``aten::item`` -> ``aten::_local_scalar_dense``: ``Memcpy DtoH (Device -> Pageable)``
   of 8 bytes + ``cudaStreamSynchronize``                                -> Transfer

Every kernel/memcpy/memset is launched by a ``cudaLaunchKernel``/``cudaMemcpyAsync``/...
event inside its op, with matching ``correlation`` and ``External id`` (the op's) and an
``ac2g`` flow pair (``s`` on the launch, ``f`` on the activity). At the very start of the
window two kernels of the previous, unprofiled iteration still run on stream 7; their
launches fell before the window, so they have no op: a ``FillFunctor`` kernel (classified
by name: Memory) and ``_assert_async_cuda_kernel`` (no name rule: group Unattributed).
Both fall in the warm-up step, so the default selection (steps 3 and 4) has no
unattributed time and ``step="all"`` has 2 kernels' worth.

Host timestamps sit on a 1 µs grid plus a sub-µs offset (< 500 ns), and every GPU
activity lasts a whole number of µs, so the legacy writer's integer-µs rounding keeps
every nesting and every GPU duration: both formats give the same GPU totals.

Files (ground truth for each in ``<stem>.truth.json``)
-----------------------------------------------------
``decoder_h100.pt.trace.json.gz``
    current format (``schemaVersion``, ``deviceProperties``, ``distributedInfo``,
    ``baseTimeNanoseconds``, float-µs ``ts``/``dur`` relative to it), gzip.
``decoder_h100_legacy.pt.trace.json``
    the same run in the 2021 legacy format: a bare top-level array, categories
    ``Operator``/``Runtime``/``Kernel``/``Memcpy``/``Memset``, integer absolute-µs
    timestamps, string tids (``"stream 7"``), lower-case ``external id``, ``async`` flows.
    That writer had no python_function (module) events and wrote record_function ranges
    as ``Operator``: the GPU totals are the same, but the groups that came from module
    names fall back to the op (the RMSNorm kernels are Elementwise there, the embedding
    kernel Memory: ``aten::index_select``); the compiled norm stays Normalization, by the
    name of its op (named after its Triton kernel).
``decoder_h100_truncated.pt.trace.json``
    the current-format file cut in the middle of an event in step 3's GPU activity (the
    way a crashed or killed writer leaves it): it must load with a ``TraceWarning`` and
    hold exactly the events before the cut. The tail, including
    ``baseTimeNanoseconds``, is lost, so its timestamps are relative.
``cpu_only.pt.trace.json``
    a CPU-only inference of a small conv + attention model: cpu_op events only, nested
    several levels deep, no steps. Time per group is op self (exclusive) time, which adds
    up to the sum of the top-level ops' durations. Shows inheritance (``aten::_fused_sdp_choice``
    has no rule and takes its caller's group, Attention) and ``Other`` (``aten::_assert_async``).
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

BASE_TIME_NS = 1_775_078_550_000_000_000  # Kineto rounds it to whole seconds
T0_US = 88_511_388_200  # first host timestamp, µs after BASE_TIME_NS (monotonic clock)
PID = 2_871_345
TID = PID
DEVICE = 0
MAIN, SIDE = 7, 20  # CUDA streams
NUM_SMS = 132

GEMM_GROUPS = ("GEMM", "Convolution", "Attention")  # the GEMM-based groups of the taxonomy

# ------------------------------------------------------------------ what names mean
# The groups the default taxonomy gives to every name this recipe uses, written out here
# (not read from tracekit) so that the truth is independent of the code under test.
# None: no rule for that name.
MODULE_RULES = {  # module / annotation class names (``nn.Module: X_0`` -> ``X``)
    "TinyDecoderForCausalLM": None, "Embedding": "Embedding", "TinyDecoderLayer": None,
    "LlamaRMSNorm": "Normalization", "TinyAttention": None, "Linear": None,
    "TinyGatedMLP": None, "PytorchGELUTanh": "Activation",
    "post_attention_layernorm": "Normalization",
}
OP_RULES = {  # operator names (cpu_op; and record_function ranges in the legacy format)
    "aten::to": "Memory", "aten::_to_copy": "Memory", "aten::empty_strided": "Memory",
    "aten::copy_": "Memory", "aten::embedding": "Embedding", "aten::index_select": "Memory",
    "aten::pow": "Elementwise", "aten::mean": "Elementwise", "aten::add": "Elementwise",
    "aten::rsqrt": "Elementwise", "aten::mul": "Elementwise", "aten::linear": "GEMM",
    "aten::t": "Memory", "aten::addmm": "GEMM", "aten::view": "Memory",
    "aten::transpose": "Memory", "aten::matmul": "GEMM", "aten::bmm": "GEMM",
    "aten::div": "Elementwise", "aten::softmax": "Softmax", "aten::_softmax": "Softmax",
    "aten::contiguous": "Memory", "aten::clone": "Memory", "aten::empty_like": "Memory",
    "aten::gelu": "Activation", "aten::item": "Memory", "aten::_local_scalar_dense": "Memory",
    "Torch-Compiled Region: 1/0": None, "Torch-Compiled Region: 2/0": None,
    "CompiledFunction": None,
    # torch.compile records one op per Triton kernel, named like the kernel: it is the
    # same logical operator, so it gets the kernel's group (a fused RMSNorm), not the
    # group of one of the aten ops in its name ("_to_copy")
    "triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0": "Normalization",
    "post_attention_layernorm": "Normalization",  # only an op in the legacy format
    # cpu_only model
    "aten::conv2d": "Convolution", "aten::convolution": "Convolution",
    "aten::_convolution": "Convolution", "aten::mkldnn_convolution": "Convolution",
    "aten::batch_norm": "Normalization", "aten::_batch_norm_impl_index": "Normalization",
    "aten::native_batch_norm": "Normalization", "aten::relu_": "Activation",
    "aten::max_pool2d": "Pooling", "aten::max_pool2d_with_indices": "Pooling",
    "aten::add_": "Elementwise", "aten::flatten": "Memory", "aten::reshape": "Memory",
    "aten::scaled_dot_product_attention": "Attention",
    "aten::_fused_sdp_choice": None,
    "aten::_scaled_dot_product_flash_attention_for_cpu": "Attention",
    "aten::adaptive_avg_pool2d": "Pooling", "aten::_adaptive_avg_pool2d": "Pooling",
    "aten::scalar_tensor": "Memory", "aten::empty": "Memory", "aten::as_strided": "Memory",
    "aten::_assert_async": None,
}


@dataclass(frozen=True)
class K:
    """A GPU activity type: name, kind, the group its name alone implies, launch config."""

    name: str
    group: str | None  # group by kernel-name pattern alone (None: no pattern matches)
    kind: str = "kernel"  # kernel | memcpy | memset
    grid: tuple = (1, 1, 1)
    block: tuple = (128, 1, 1)
    regs: int = 32
    smem: int = 0


def _ew(functor: str, arity: int) -> str:
    return (f"void at::native::vectorized_elementwise_kernel<4, {functor}, at::detail::Array"
            f"<char*, {arity}> >(int, {functor}, at::detail::Array<char*, {arity}>)")


_RSQRT = ("at::native::rsqrt_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() "
          "const::{lambda()#2}::operator()() const::{lambda(float)#1}")
_POW = ("at::native::(anonymous namespace)::pow_tensor_scalar_kernel_impl<float, float>"
        "(at::TensorIteratorBase&, float)::{lambda(float)#1}")
_GELU = ("at::native::GeluCUDAKernelImpl(at::TensorIteratorBase&, at::native::GeluType)::"
         "{lambda()#2}::operator()() const::{lambda()#3}::operator()() const::"
         "{lambda(c10::Half)#1}")
_COPY = ("at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#3}::"
         "operator()() const::{lambda()#7}::operator()() const::{lambda(c10::Half)#1}")

HTOD = K("Memcpy HtoD (Pageable -> Device)", "Memory", kind="memcpy")
DTOH = K("Memcpy DtoH (Device -> Pageable)", "Memory", kind="memcpy")
MEMSET = K("Memset (Device)", "Memory", kind="memset")
EMBED = K("void at::native::(anonymous namespace)::indexSelectLargeIndex<c10::Half, long, "
          "unsigned int, 2, 2, -2, true>(at::cuda::detail::TensorInfo<c10::Half, unsigned int>, "
          "at::cuda::detail::TensorInfo<c10::Half const, unsigned int>, at::cuda::detail::"
          "TensorInfo<long const, unsigned int>, int, int, unsigned int, unsigned int, long)",
          "Memory", grid=(16384, 1, 1), regs=30)  # by name alone: a gather
POW = K(_ew(_POW, 2), "Elementwise", grid=(2048, 1, 1), regs=20)
MEAN = K("void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::"
         "MeanOps<float, float, float, float>, unsigned int, float, 4> >(at::native::ReduceOp"
         "<float, at::native::MeanOps<float, float, float, float>, unsigned int, float, 4>)",
         "Elementwise", grid=(512, 1, 1), block=(32, 16, 1), regs=32, smem=16)
ADD_EPS = K(_ew("at::native::CUDAFunctorOnSelf_add<float>", 2), "Elementwise", regs=16)
RSQRT = K(_ew(_RSQRT, 2), "Elementwise", regs=16)
MUL_F32 = K(_ew("at::native::BinaryFunctor<float, float, float, at::native::binary_internal::"
                "MulFunctor<float> >", 3), "Elementwise", grid=(4096, 1, 1), regs=20)
MUL_H = K(_ew("at::native::BinaryFunctor<c10::Half, c10::Half, c10::Half, at::native::"
              "binary_internal::MulFunctor<float> >", 3), "Elementwise", grid=(2048, 1, 1),
          regs=20)
GEMM = K("sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_"
         "execute_segment_k_off_kernel__5x_cublas", "GEMM", grid=(32, 4, 1), block=(384, 1, 1),
         regs=168, smem=197632)
GEMM_WIDE = K("sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x256x64_warpgroupsize2x1x1_"
              "execute_segment_k_off_kernel__5x_cublas", "GEMM", grid=(43, 4, 1),
              block=(384, 1, 1), regs=168, smem=213248)
BMM = K("nvjet_hsh_128x128_64x4_1x2_h_bz_coopA_NNT", "GEMM", grid=(4, 4, 32),
        block=(384, 1, 1), regs=168, smem=197632)
LM_HEAD = K("nvjet_hsh_64x8_64x16_4x1_v_bz_splitK_TNT", "GEMM", grid=(500, 1, 1),
            block=(128, 1, 1), regs=90, smem=164864)
DIV = K(_ew("at::native::BUnaryFunctor<c10::Half, c10::Half, c10::Half, at::native::"
            "binary_internal::DivFunctor<float> >", 2), "Elementwise", grid=(8192, 1, 1), regs=18)
SOFTMAX = K("void (anonymous namespace)::softmax_warp_forward<c10::Half, c10::Half, float, 10, "
            "false, false>(c10::Half*, c10::Half const*, int, int, int, bool const*, int, bool)",
            "Softmax", grid=(4096, 1, 1), regs=56)
COPY = K(_ew(_COPY, 2), "Memory", grid=(2048, 1, 1), regs=16)
ADD = K(_ew("at::native::CUDAFunctor_add<c10::Half>", 3), "Elementwise", grid=(2048, 1, 1),
        regs=20)
TRITON_NORM = K("triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0", "Normalization",
                grid=(512, 1, 1), block=(1024, 1, 1), regs=40, smem=64)
GELU = K(_ew(_GELU, 2), "Activation", grid=(5504, 1, 1), regs=26)
GRAPH_SOFTMAX = K("triton_per_fused__softmax_div_0", "Softmax", grid=(1, 1, 1),
                  block=(1024, 1, 1), regs=38, smem=128)
GRAPH_ARGMAX = K("triton_red_fused_argmax_1", "Elementwise", grid=(1, 1, 1),
                 block=(1024, 1, 1), regs=30, smem=64)
FILL = K(_ew("at::native::FillFunctor<c10::Half>", 1), "Memory", grid=(1024, 1, 1), regs=16)
ASSERT = K("void at::native::_assert_async_cuda_kernel<bool>(bool const*, at::native::Msg)",
           None, grid=(1, 1, 1), block=(1, 1, 1), regs=16)

CBID = {"cudaLaunchKernel": 211, "cudaMemcpyAsync": 41, "cudaStreamSynchronize": 131,
        "cudaEventRecord": 135, "cudaStreamWaitEvent": 147, "cudaGraphLaunch": 311,
        "cuLaunchKernel": 307}
H100 = {"id": 0, "name": "NVIDIA H100 80GB HBM3", "totalGlobalMem": 85045231616,
        "computeMajor": 9, "computeMinor": 0, "maxThreadsPerBlock": 1024,
        "maxThreadsPerMultiprocessor": 2048, "regsPerBlock": 65536, "warpSize": 32,
        "sharedMemPerBlock": 49152, "numSms": NUM_SMS, "regsPerMultiprocessor": 65536,
        "sharedMemPerBlockOptin": 232448, "sharedMemPerMultiprocessor": 233472}


# ------------------------------------------------------------------ recorded run
class _OnTheGrid:
    """Times kept as whole µs plus a sub-µs jitter (ns), as the current format writes them."""

    @property
    def ts_ns(self) -> int:
        return self.start * 1000 + self.start_j

    @property
    def end_ns(self) -> int:
        return self.end * 1000 + self.end_j


@dataclass(eq=False)
class Host(_OnTheGrid):
    """A host-side range: cpu_op, user_annotation (incl. ProfilerStep) or python_function.
    Times are a µs grid point plus a sub-µs offset (< 500 ns)."""

    cat: str
    name: str
    start: int
    start_j: int
    stack: tuple  # enclosing Host events, outermost first
    args: dict
    ext: int | None = None  # External id (cpu_op, user_annotation)
    end: int = 0
    end_j: int = 0
    step: int | None = None
    python_id: int | None = None

    @property
    def is_step(self) -> bool:
        return self.name.startswith("ProfilerStep#")


@dataclass(eq=False)
class Launch(_OnTheGrid):
    """A CUDA runtime/driver API call on the host thread."""

    name: str
    cat: str  # cuda_runtime | cuda_driver
    start: int
    start_j: int
    end: int
    end_j: int
    corr: int
    stack: tuple
    step: int | None
    activities: list = field(default_factory=list)


@dataclass(eq=False)
class Activity(_OnTheGrid):
    """A kernel, memcpy or memset on a stream; it lasts a whole number of µs."""

    k: K
    start: int
    start_j: int
    dur: int
    stream: int
    launch: Launch | None
    corr: int
    bytes: int | None = None
    graph_node: int | None = None

    @property
    def dur_ns(self) -> int:
        return self.dur * 1000


class Run:
    """Replays a recipe on one CPU thread and two CUDA streams, on a µs grid.

    Every host range starts >= 1 µs after its parent (or previous sibling) and ends
    >= 1 µs before its parent, so rounding every timestamp to the µs (the legacy
    writer) keeps all nesting; GPU work starts after its launch and after the previous
    work on its stream."""

    def __init__(self, seed: int, t0: int = T0_US, first_corr: int = 4_001):
        self.rng = random.Random(seed)
        self.t = t0
        self.stack: list[Host] = []
        self.hosts: list[Host] = []
        self.launches: list[Launch] = []
        self.activities: list[Activity] = []
        self.free = {MAIN: t0, SIDE: t0}  # first µs at which each stream may start work
        self.next_corr = first_corr
        self.next_ext = 1
        self.next_py = 1
        self.step: int | None = None
        self.warm = False  # warm-up step: slower GEMMs and first-call launches
        self.seen: set = set()

    def jitter(self) -> int:
        return self.rng.randrange(0, 500)

    # ---- host ranges
    @contextmanager
    def host(self, cat: str, name: str, dims=None, types=None, pre=None, post=None):
        self.t += self.rng.randint(2, 4) if pre is None else pre
        ev = Host(cat, name, self.t, self.jitter(), tuple(self.stack), {})
        if cat in ("cpu_op", "user_annotation"):
            ev.ext, self.next_ext = self.next_ext, self.next_ext + 1
        if cat == "python_function":
            ev.python_id, self.next_py = self.next_py, self.next_py + 1
        if dims is not None:
            ev.args["Input Dims"] = dims
            ev.args["Input type"] = types
        if ev.is_step:
            self.step = int(name.split("#")[1])
        ev.step = self.step
        self.hosts.append(ev)
        self.stack.append(ev)
        yield ev
        self.stack.pop()
        self.t += self.rng.randint(1, 2) if post is None else post
        ev.end, ev.end_j = self.t, self.jitter()

    def op(self, name, dims=None, types=None, **kw):
        return self.host("cpu_op", name, dims, types, **kw)

    def module(self, label: str):
        return self.host("python_function", f"nn.Module: {label}")

    def busy(self, us: int):
        """Host work inside the current range (no events)."""
        self.t += us

    # ---- launches and device work
    def launch(self, name: str, work=(), stream=MAIN, cat="cuda_runtime", dur=None,
               graph=False, wait_for: int | None = None) -> Launch:
        """A runtime/driver call; ``work`` is [(K, µs, bytes)], run in order on ``stream``."""
        self.t += 1
        start, start_j = self.t, self.jitter()
        if dur is None:
            dur = self.rng.randint(3, 5)
            key = (name, tuple(k.name for k, _, _ in work))
            if self.warm and work and key not in self.seen:
                dur += 14  # first launch of a kernel: module load, cuBLAS heuristics
            self.seen.add(key)
        corr, self.next_corr = self.next_corr, self.next_corr + 1
        ready = start + self.rng.randint(3, 5)
        if wait_for is not None:
            ready = max(ready, wait_for)
        end = start + dur
        launch = Launch(name, cat, start, start_j, end, 0, corr, tuple(self.stack), self.step)
        for node, (k, kdur, nbytes) in enumerate(work):
            begin = max(ready, self.free[stream])
            act = Activity(k, begin, self.jitter(), kdur, stream, launch, corr, nbytes,
                           node if graph else None)
            self.free[stream] = ready = begin + kdur + 1
            launch.activities.append(act)
            self.activities.append(act)
        if name == "cudaStreamSynchronize":  # returns once the stream is idle
            end = max(end, self.free[stream])
        launch.end, launch.end_j = end, self.jitter()
        self.t = end
        self.launches.append(launch)
        return launch

    def kernel(self, k: K, dur: int, stream=MAIN, nbytes=None, api="cudaLaunchKernel",
               cat="cuda_runtime", wait_for=None) -> Launch:
        return self.launch(api, [(k, self.kdur(k, dur), nbytes)], stream=stream, cat=cat,
                           wait_for=wait_for)

    def kdur(self, k: K, dur: int) -> int:
        """Device time in this step: warm-up GEMMs run 50 % slower; +-1 µs noise."""
        if self.warm and k.group == "GEMM":
            dur = dur * 3 // 2
        return max(1, dur + self.rng.randint(-1, 1))

    def orphan(self, k: K, dur: int, start: int, corr: int, stream=MAIN):
        """Device work whose launch happened before the profiling window."""
        act = Activity(k, start, self.jitter(), dur, stream, None, corr)
        self.free[stream] = max(self.free[stream], start + dur + 1)
        self.activities.append(act)


# ------------------------------------------------------------------ the decoder recipe
S, HID, NH, HD, FFN, VOCAB = 512, 4096, 32, 128, 11008, 32000
HALF = "c10::Half"


def linear(run: Run, index: int, n_out: int, n_in: int, gemm_us: int, k=GEMM, stream=MAIN,
           wait_for=None):
    with run.module(f"Linear_{index}"):
        with run.op("aten::linear", [[1, S, n_in], [n_out, n_in], [n_out]], [HALF, HALF, HALF]):
            with run.op("aten::t", [[n_out, n_in]], [HALF]):
                pass
            with run.op("aten::addmm", [[n_out], [S, n_in], [n_in, n_out], [], []],
                        [HALF, HALF, HALF, "Scalar", "Scalar"]):
                run.kernel(k, gemm_us, stream=stream, wait_for=wait_for)


def pointwise(run: Run, name: str, k: K, dur: int, dims, types):
    with run.op(name, dims, types):
        run.kernel(k, dur)


def rmsnorm(run: Run, index: int):
    """The custom RMSNorm: five aten ops (plus the weight multiply), one kernel each."""
    x = [1, S, HID]
    with run.module(f"LlamaRMSNorm_{index}"):
        pointwise(run, "aten::pow", POW, 3, [x, []], ["float", "Scalar"])
        pointwise(run, "aten::mean", MEAN, 4, [x, [1], [], []], ["float", "", "Scalar", ""])
        pointwise(run, "aten::add", ADD_EPS, 2, [[1, S, 1], [], []], ["float", "Scalar", "Scalar"])
        pointwise(run, "aten::rsqrt", RSQRT, 2, [[1, S, 1]], ["float"])
        pointwise(run, "aten::mul", MUL_F32, 4, [x, [1, S, 1]], ["float", "float"])
        pointwise(run, "aten::mul", MUL_H, 3, [[HID], x], [HALF, HALF])


def attention(run: Run):
    with run.module("TinyAttention_0"):
        input_ready = run.free[MAIN]
        linear(run, 0, HID, HID, 40)                                   # q, stream 7
        run.launch("cudaEventRecord", dur=2)
        run.launch("cudaStreamWaitEvent", dur=2)                       # side waits for x
        linear(run, 1, HID, HID, 40, stream=SIDE, wait_for=input_ready)  # k, stream 20
        k_done = run.free[SIDE]
        run.launch("cudaEventRecord", dur=2)
        linear(run, 2, HID, HID, 40)                                   # v, stream 7
        run.launch("cudaStreamWaitEvent", dur=2)                       # main waits for k
        run.free[MAIN] = max(run.free[MAIN], k_done)
        with run.op("aten::view", [[1, S, HID], []], [HALF, ""]):
            pass
        with run.op("aten::transpose", [[1, S, NH, HD], [], []], [HALF, "", ""]):
            pass
        with run.op("aten::matmul", [[1, NH, S, HD], [1, NH, HD, S]], [HALF, HALF]):
            with run.op("aten::bmm", [[NH, S, HD], [NH, HD, S]], [HALF, HALF]):
                run.kernel(BMM, 10)
        pointwise(run, "aten::div", DIV, 5, [[1, NH, S, S], []], [HALF, "Scalar"])
        with run.op("aten::softmax", [[1, NH, S, S], [], []], [HALF, "", ""]):
            with run.op("aten::_softmax", [[1, NH, S, S], [], []], [HALF, "", "Scalar"]):
                run.kernel(SOFTMAX, 9)
        with run.op("aten::matmul", [[1, NH, S, S], [1, NH, S, HD]], [HALF, HALF]):
            with run.op("aten::bmm", [[NH, S, S], [NH, S, HD]], [HALF, HALF]):
                run.kernel(BMM, 10)
        with run.op("aten::transpose", [[1, NH, S, HD], [], []], [HALF, "", ""]):
            pass
        with run.op("aten::contiguous", [[1, S, NH, HD], []], [HALF, ""]):
            with run.op("aten::clone", [[1, S, NH, HD], []], [HALF, ""]):
                with run.op("aten::empty_like", [[1, S, NH, HD], [], [], [], [], []],
                            [HALF, "", "", "", "", ""]):
                    pass
                with run.op("aten::copy_", [[1, S, NH, HD], [1, S, NH, HD], []],
                            [HALF, HALF, "Scalar"]):
                    run.kernel(COPY, 6)
        linear(run, 3, HID, HID, 40)                                   # o


def decoder_step(run: Run, step: int, first: bool):
    run.warm = first
    with run.host("user_annotation", f"ProfilerStep#{step}", pre=0 if first else 2):
        if first:  # the previous, unprofiled iteration's last kernels still run
            run.orphan(FILL, 5, run.t + 1, corr=run.next_corr - 2)
            run.orphan(ASSERT, 2, run.t + 7, corr=run.next_corr - 1)
        # 1. token ids to the GPU
        with run.op("aten::to", [[1, S], [], [], [], [], []],
                    ["long int", "ScalarType", "", "Device", "Scalar", "Scalar"]):
            with run.op("aten::_to_copy", [[1, S], [], [], [], [], [], []],
                        ["long int", "ScalarType", "", "Device", "", "Scalar", ""]):
                with run.op("aten::empty_strided", [[], [], [], [], [], []],
                            ["", "", "ScalarType", "", "Device", ""]):
                    pass
                with run.op("aten::copy_", [[1, S], [1, S], []], ["long int", "long int", "Scalar"]):
                    run.launch("cudaMemcpyAsync", [(HTOD, 2, S * 8)])
                    run.launch("cudaStreamSynchronize")
        # 2. the model
        with run.module("TinyDecoderForCausalLM_0"):
            with run.module("Embedding_0"):
                with run.op("aten::embedding", [[VOCAB, HID], [1, S], [], [], []],
                            [HALF, "long int", "Scalar", "Scalar", "Scalar"]):
                    with run.op("aten::index_select", [[VOCAB, HID], [], [S]],
                                [HALF, "Scalar", "long int"]):
                        run.kernel(EMBED, 4)
            with run.module("TinyDecoderLayer_0"):
                rmsnorm(run, 0)
                attention(run)
                pointwise(run, "aten::add", ADD, 5, [[1, S, HID], [1, S, HID], []],
                          [HALF, HALF, "Scalar"])
                with run.host("user_annotation", "post_attention_layernorm"):
                    with run.op("Torch-Compiled Region: 1/0"):
                        with run.op("triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0",
                                    [[1, S, HID], [HID], [1, S, HID], [], []],
                                    [HALF, HALF, HALF, "Scalar", "Scalar"]):
                            run.kernel(TRITON_NORM, 8, api="cuLaunchKernel", cat="cuda_driver")
                with run.module("TinyGatedMLP_0"):
                    linear(run, 4, FFN, HID, 100, k=GEMM_WIDE)                # gate
                    linear(run, 5, FFN, HID, 100, k=GEMM_WIDE)                # up
                    with run.module("PytorchGELUTanh_0"):
                        pointwise(run, "aten::gelu", GELU, 11, [[1, S, FFN], []], [HALF, ""])
                    pointwise(run, "aten::mul", MUL_H, 10, [[1, S, FFN], [1, S, FFN]], [HALF, HALF])
                    linear(run, 6, HID, FFN, 98)                              # down
                pointwise(run, "aten::add", ADD, 5, [[1, S, HID], [1, S, HID], []],
                          [HALF, HALF, "Scalar"])
        # 3. lm_head + sampling, replayed as a CUDA graph (torch.compile "reduce-overhead")
        with run.op("Torch-Compiled Region: 2/0"):
            with run.op("CompiledFunction", [[1, S, HID]], [HALF]):
                run.launch("cudaGraphLaunch", [
                    (MEMSET, 1, 4096), (LM_HEAD, run.kdur(LM_HEAD, 85), None),
                    (GRAPH_SOFTMAX, run.kdur(GRAPH_SOFTMAX, 12), None),
                    (GRAPH_ARGMAX, run.kdur(GRAPH_ARGMAX, 7), None)], graph=True)
        # 4. the sampled token back to the host
        with run.op("aten::item", [[1]], ["long int"]):
            with run.op("aten::_local_scalar_dense", [[1]], ["long int"]):
                run.launch("cudaMemcpyAsync", [(DTOH, 2, 8)])
                run.launch("cudaStreamSynchronize")


def decoder_run() -> Run:
    run = Run(seed=20250601)
    for i, step in enumerate((2, 3, 4)):
        decoder_step(run, step, first=(i == 0))
    return run


# ------------------------------------------------------------------ the CPU-only recipe
def cpu_only_run() -> Run:
    """One inference of a small conv + attention model on CPU (cpu_op only, no steps)."""
    run = Run(seed=7, t0=T0_US + 5_000_000)
    op, busy = run.op, run.busy

    def empty():
        with op("aten::empty"):
            busy(1)

    def conv():
        with op("aten::conv2d"), op("aten::convolution"), op("aten::_convolution"):
            with op("aten::mkldnn_convolution"):
                empty()
                busy(run.rng.randint(180, 260))

    def batch_norm():
        with op("aten::batch_norm"), op("aten::_batch_norm_impl_index"):
            with op("aten::native_batch_norm"):
                empty()
                busy(run.rng.randint(40, 60))

    with op("aten::scalar_tensor"):
        empty()
    with op("aten::_assert_async"):
        busy(4)
    conv()
    batch_norm()
    with op("aten::relu_"):
        busy(18)
    with op("aten::max_pool2d"), op("aten::max_pool2d_with_indices"):
        busy(35)
    conv()
    batch_norm()
    with op("aten::add_"):
        busy(12)
    with op("aten::relu_"):
        busy(9)
    with op("aten::flatten"), op("aten::reshape"), op("aten::view"):
        pass
    with op("aten::transpose"), op("aten::as_strided"):
        pass
    with op("aten::scaled_dot_product_attention"):
        with op("aten::_fused_sdp_choice"):
            busy(3)
        with op("aten::_scaled_dot_product_flash_attention_for_cpu"):
            empty()
            busy(140)
    with op("aten::adaptive_avg_pool2d"), op("aten::_adaptive_avg_pool2d"):
        busy(15)
    with op("aten::linear"):
        with op("aten::t"), op("aten::transpose"), op("aten::as_strided"):
            pass
        with op("aten::addmm"):
            busy(64)
    with op("aten::softmax"), op("aten::_softmax"):
        busy(7)
    return run


# ------------------------------------------------------------------ writing events
def _rel_us(ns: int) -> float:
    return ns / 1000


def _kernel_args(a: Activity) -> dict:
    threads = a.k.block[0] * a.k.block[1] * a.k.block[2]
    blocks = a.k.grid[0] * a.k.grid[1] * a.k.grid[2]
    warps = blocks * max(1, threads // 32) / NUM_SMS
    return {"registers per thread": a.k.regs, "shared memory": a.k.smem,
            "blocks per SM": round(blocks / NUM_SMS, 6), "warps per SM": round(warps, 6),
            "grid": list(a.k.grid), "block": list(a.k.block),
            "est. achieved occupancy %": min(100, round(100 * warps / 64))}


def _op_of(stack: tuple, legacy: bool) -> Host | None:
    """The innermost op among ``stack`` (legacy: record_function ranges are ops too)."""
    for h in reversed(stack):
        if h.cat == "cpu_op" or (legacy and h.cat == "user_annotation" and not h.is_step):
            return h
    return None


def _bandwidth(a: Activity) -> float:
    return a.bytes / a.dur_ns  # bytes/ns == GB/s


def _gpu_annotations(run: Run) -> list[tuple[Host, int, int, int]]:
    """(annotation, stream, start ns, end ns) for user annotations that ran GPU work."""
    out = []
    for h in run.hosts:
        if h.cat != "user_annotation" or h.is_step:
            continue
        acts = [a for a in run.activities if a.launch is not None and h in a.launch.stack]
        for stream in sorted({a.stream for a in acts}):
            mine = [a for a in acts if a.stream == stream]
            out.append((h, stream, min(a.ts_ns for a in mine),
                        max(a.ts_ns + a.dur_ns for a in mine)))
    return out


def current_events(run: Run, process: str = "python3.11") -> tuple[list[dict], list]:
    """Kineto events in today's layout, and for each the recipe object it came from."""
    events, origin = [], []
    module_ids: dict[str, int] = {}
    ev_idx = 0
    for h in sorted(run.hosts, key=lambda h: h.ts_ns):
        e = {"ph": "X", "cat": h.cat, "name": h.name, "pid": PID, "tid": TID,
             "ts": _rel_us(h.ts_ns), "dur": _rel_us(h.end_ns - h.ts_ns)}
        if h.cat == "python_function":
            parents = [p for p in h.stack if p.cat == "python_function"]
            mid = module_ids.setdefault(h.name, len(module_ids))
            e["args"] = {"Python id": h.python_id,
                         "Python parent id": parents[-1].python_id if parents else None,
                         "Python thread": 0, "Python module id": mid}
        else:
            e["args"] = {"External id": h.ext, "Record function id": 0, "Ev Idx": ev_idx, **h.args}
            ev_idx += 1
        events.append(e)
        origin.append(h)
    orphans = [a for a in run.activities if a.launch is None]
    groups = [(None, [a]) for a in orphans] + [(la, la.activities) for la in run.launches]
    for launch, acts in groups:
        op = _op_of(launch.stack, False) if launch is not None else None
        for a in acts:
            args = {} if op is None else {"External id": op.ext}
            if a.k.kind == "kernel":
                cat = "kernel"
                args.update({"queued": 0, "device": DEVICE, "context": 1, "stream": a.stream,
                             "correlation": a.corr, **_kernel_args(a)})
                if a.graph_node is not None:
                    args.update({"graph id": 1, "graph node id": a.graph_node + 1})
            else:
                cat = "gpu_memcpy" if a.k.kind == "memcpy" else "gpu_memset"
                args.update({"device": DEVICE, "context": 1, "stream": a.stream,
                             "correlation": a.corr, "bytes": a.bytes,
                             "memory bandwidth (GB/s)": _bandwidth(a)})
            events.append({"ph": "X", "cat": cat, "name": a.k.name, "pid": DEVICE,
                           "tid": a.stream, "ts": _rel_us(a.ts_ns), "dur": _rel_us(a.dur_ns),
                           "args": args})
            origin.append(a)
            if launch is not None:
                events.append({"ph": "f", "id": a.corr, "pid": DEVICE, "tid": a.stream,
                               "ts": _rel_us(a.ts_ns), "cat": "ac2g", "name": "ac2g", "bp": "e"})
                origin.append(None)
        if launch is None:
            continue
        args = {} if op is None else {"External id": op.ext}
        args.update({"cbid": CBID[launch.name], "correlation": launch.corr})
        events.append({"ph": "X", "cat": launch.cat, "name": launch.name, "pid": PID, "tid": TID,
                       "ts": _rel_us(launch.ts_ns), "dur": _rel_us(launch.end_ns - launch.ts_ns),
                       "args": args})
        origin.append(launch)
        if acts:
            events.append({"ph": "s", "id": launch.corr, "pid": PID, "tid": TID,
                           "ts": _rel_us(launch.ts_ns), "cat": "ac2g", "name": "ac2g"})
            origin.append(None)
    for h, stream, start, end in _gpu_annotations(run):
        events.append({"ph": "X", "cat": "gpu_user_annotation", "name": h.name, "pid": DEVICE,
                       "tid": stream, "ts": _rel_us(start), "dur": _rel_us(end - start),
                       "args": {"External id": h.ext}})
        origin.append(("gpu_annotation", h, stream))
    first = min(h.ts_ns for h in run.hosts)
    last = max([h.end_ns for h in run.hosts] + [a.ts_ns + a.dur_ns for a in run.activities])
    t = _rel_us(first)
    meta = [("process_name", PID, 0, {"name": process}), ("process_labels", PID, 0, {"labels": "CPU"}),
            ("process_sort_index", PID, 0, {"sort_index": PID})]
    if run.activities:
        meta += [("process_name", DEVICE, 0, {"name": process}),
                 ("process_labels", DEVICE, 0, {"labels": f"GPU {DEVICE}"}),
                 ("process_sort_index", DEVICE, 0, {"sort_index": 5000000 + DEVICE})]
        for stream in sorted({a.stream for a in run.activities}):
            meta += [("thread_name", DEVICE, stream, {"name": f"stream {stream} "}),
                     ("thread_sort_index", DEVICE, stream, {"sort_index": stream})]
    meta += [("thread_name", PID, TID, {"name": f"thread {TID} ({process})"}),
             ("thread_sort_index", PID, TID, {"sort_index": TID})]
    for name, pid, tid, args in meta:
        events.append({"name": name, "ph": "M", "ts": t, "pid": pid, "tid": tid, "args": args})
        origin.append(None)
    events += [
        {"ph": "X", "cat": "Trace", "ts": t, "dur": _rel_us(last - first), "pid": "Spans",
         "tid": "PyTorch Profiler", "name": "PyTorch Profiler (0)", "args": {"Op count": 0}},
        {"name": "process_sort_index", "ph": "M", "ts": t, "pid": "Spans", "tid": 0,
         "args": {"sort_index": 536870912}},
        {"name": "Iteration Start: PyTorch Profiler", "ph": "i", "s": "g", "pid": "Traces",
         "tid": "Trace PyTorch Profiler", "ts": t},
        {"name": "Record Window End", "ph": "i", "s": "g", "pid": "", "tid": "",
         "ts": _rel_us(last)},
    ]
    origin += [None] * 4
    return events, origin


def current_trace(run: Run, name: str) -> tuple[dict, list]:
    events, origin = current_events(run)
    doc = {"schemaVersion": 1}
    doc["deviceProperties"] = [H100] if run.activities else []
    if run.activities:
        doc.update({"cupti_version": 24, "cuda_runtime_version": 12080,
                    "cuda_driver_version": 12080,
                    "distributedInfo": {"backend": "nccl", "rank": 0, "world_size": 1}})
    doc["record_shapes"] = 1
    doc["traceEvents"] = events
    doc.update({"traceName": f"/tmp/{name}", "displayTimeUnit": "ms",
                "baseTimeNanoseconds": BASE_TIME_NS})
    return doc, origin


def _legacy_us(grid_us: int) -> int:
    return BASE_TIME_NS // 1000 + grid_us


def legacy_events(run: Run) -> tuple[list[dict], list]:
    """The same run as the 2021 writer laid it out (PyTorch 1.8/1.9 + Kineto)."""
    events, origin = [], []
    tid = str(TID)
    for h in sorted(run.hosts, key=lambda h: h.ts_ns):
        if h.cat == "python_function":
            continue  # that writer had no module events
        args = {"Input dims": h.args.get("Input Dims", []), "Input type": h.args.get("Input type", []),
                "Device": 0, "External id": h.ext, "Trace name": "PyTorch Profiler",
                "Trace iteration": 0}
        events.append({"ph": "X", "cat": "Operator", "name": h.name, "pid": PID, "tid": tid,
                       "ts": _legacy_us(h.start), "dur": h.end - h.start, "args": args})
        origin.append(h)
    orphans = [a for a in run.activities if a.launch is None]
    groups = [(None, [a]) for a in orphans] + [(la, la.activities) for la in run.launches]
    for launch, acts in groups:
        op = _op_of(launch.stack, True) if launch is not None else None
        ext = op.ext if op is not None else 0
        for a in acts:
            args = {"queued": 0, "device": DEVICE, "context": 1} if a.k.kind == "kernel" else \
                {"device": DEVICE, "context": 1}
            args.update({"stream": a.stream, "correlation": a.corr, "external id": ext})
            if a.k.kind == "kernel":
                args.update(_kernel_args(a))
                cat = "Kernel"
            else:
                args.update({"bytes": a.bytes, "memory bandwidth (GB/s)": _bandwidth(a)})
                cat = "Memcpy" if a.k.kind == "memcpy" else "Memset"
            events.append({"ph": "X", "cat": cat, "name": a.k.name, "pid": DEVICE,
                           "tid": f"stream {a.stream}", "ts": _legacy_us(a.start), "dur": a.dur,
                           "args": args})
            origin.append(a)
            if launch is not None:
                events.append({"ph": "f", "id": a.corr, "pid": DEVICE, "tid": f"stream {a.stream}",
                               "ts": _legacy_us(a.start), "cat": "async", "name": "launch",
                               "bp": "e"})
                origin.append(None)
        if launch is None:
            continue
        events.append({"ph": "X", "cat": "Runtime", "name": launch.name, "pid": PID, "tid": tid,
                       "ts": _legacy_us(launch.start), "dur": launch.end - launch.start,
                       "args": {"cbid": CBID[launch.name], "correlation": launch.corr,
                                "external id": ext,
                                "external ts": _legacy_us(op.start) if op is not None else 0}})
        origin.append(launch)
        if acts:
            events.append({"ph": "s", "id": launch.corr, "pid": PID, "tid": TID,
                           "ts": _legacy_us(launch.start), "cat": "async", "name": "launch"})
            origin.append(None)
    first = min(h.start for h in run.hosts)
    last = max([h.end for h in run.hosts] + [a.start + a.dur for a in run.activities])
    t = _legacy_us(first)
    for name, pid, mtid, args in [
            ("process_name", PID, 0, {"name": "python"}), ("process_labels", PID, 0, {"labels": "CPU"}),
            ("process_name", DEVICE, 0, {"name": "python"}),
            ("process_labels", DEVICE, 0, {"labels": f"GPU {DEVICE}"}),
            ("thread_name", PID, tid, {"name": "thread 1 (python)"})]:
        events.append({"name": name, "ph": "M", "ts": t, "pid": pid, "tid": mtid, "args": args})
        origin.append(None)
    events += [
        {"ph": "X", "cat": "Trace", "ts": t, "dur": last - first, "pid": "Traces",
         "tid": "PyTorch Profiler", "name": "PyTorch Profiler (0)", "args": {"Op count": 0}},
        {"name": "Iteration Start: PyTorch Profiler", "ph": "i", "s": "g", "pid": "Traces",
         "tid": "Trace PyTorch Profiler", "ts": t},
        {"name": "Record Window End", "ph": "i", "s": "g", "pid": "", "tid": "",
         "ts": _legacy_us(last)},
    ]
    origin += [None] * 3
    return events, origin


# ------------------------------------------------------------------ JSON text
def _value(key: str, value) -> str:
    if key in ("ts", "dur") and isinstance(value, float):
        return f"{value:.3f}"  # Kineto writes µs with ns digits
    return json.dumps(value, ensure_ascii=False)


def _pairs(d: dict, keys) -> str:
    return ", ".join(f"{json.dumps(k)}: {_value(k, d[k])}" for k in keys)


def event_text(e: dict) -> str:
    """One event laid out the way Kineto writes it (two lines of fields, then args)."""
    keys = [k for k in e if k != "args"]
    cut = keys.index("ts") if "ts" in keys else len(keys)
    if e.get("ph") in ("s", "f", "i"):  # Kineto puts the timestamp on the first line here
        cut += 1
    lines = [_pairs(e, keys[:cut])]
    if keys[cut:]:
        lines.append(_pairs(e, keys[cut:]))
    text = "  {\n    " + ",\n    ".join(lines)
    if "args" in e:
        text += ',\n    "args": {\n      ' + _pairs(e["args"], list(e["args"])) + "\n    }"
    return text + "\n  }"


def current_text(doc: dict, cut: tuple[int, float] | None = None) -> str:
    """The document as Kineto writes it; ``cut=(n, fraction)`` stops after ``n`` complete
    events and ``fraction`` of the next one (a writer that died mid-file)."""
    out = ["{"]
    for key, value in doc.items():
        if key == "traceEvents":
            texts = [event_text(e) for e in value]
            if cut is not None:
                n, fraction = cut
                partial = texts[n][: int(len(texts[n]) * fraction)]
                out.append('  "traceEvents": [\n' + ",\n".join(texts[:n]) + ",\n" + partial)
                return "\n".join(out)
            out.append('  "traceEvents": [\n' + ",\n".join(texts) + "\n  ],")
        elif key == "deviceProperties":
            items = [",\n      ".join(_pairs(p, list(p)[i:i + 3]) for i in range(0, len(p), 3))
                     for p in value]
            body = ",\n".join("    {\n      " + item + "\n    }" for item in items)
            out.append('  "deviceProperties": [\n' + body + ("\n  ]," if items else "  ],"))
        else:
            out.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    out[-1] = out[-1].rstrip(",")
    out.append("}")
    return "\n".join(out) + "\n"


def legacy_text(events: list[dict]) -> str:
    return "[\n\n" + ",\n".join(event_text(e) for e in events) + "\n]\n"


# ------------------------------------------------------------------ ground truth
def _module_class(name: str) -> str:
    name = name[len("nn.Module: "):] if name.startswith("nn.Module: ") else name
    head, _, tail = name.rpartition("_")
    return head if head and tail.isdigit() else name


def _ranges_of(h: Host, legacy: bool) -> list[Host]:
    """Module/annotation ranges enclosing ``h``, outermost first (none in legacy files)."""
    if legacy:
        return []
    return [p for p in h.stack if p.cat in ("python_function", "user_annotation") and not p.is_step]


def _op_group(op: Host, legacy: bool) -> str | None:
    """What the op says: the innermost classified module/annotation around it, else its
    own rule, else its nearest classified caller's (docs/design.md, "Taxonomy")."""
    for r in reversed(_ranges_of(op, legacy)):
        group = MODULE_RULES[_module_class(r.name)]
        if group:
            return group
    callers = [p for p in op.stack if p.cat == "cpu_op" or
               (legacy and p.cat == "user_annotation" and not p.is_step)]
    for o in [op] + callers[::-1]:
        group = OP_RULES[o.name]
        if group:
            return group
    return None


def _module_path(op: Host, legacy: bool) -> str:
    return ".".join(r.name[len("nn.Module: "):] if r.name.startswith("nn.Module: ") else r.name
                    for r in _ranges_of(op, legacy))


def _step_at(run: Run, t_ns: int) -> int | None:
    for h in run.hosts:
        if h.is_step and h.ts_ns <= t_ns < h.end_ns:
            return h.step
    return None


def _union(intervals) -> int:
    total, reach = 0, None
    for s, e in sorted(intervals):
        if reach is None or s >= reach:
            total += e - s
            reach = e
        elif e > reach:
            total += e - reach
            reach = e
    return total


def _kernel_truth(run: Run, legacy: bool, base_ns: int, present: set | None) -> list[dict]:
    rows = []
    for a in run.activities:
        if present is not None and a not in present:
            continue
        launch = a.launch if a.launch is not None and (present is None or a.launch in present) else None
        op = _op_of(launch.stack, legacy) if launch is not None else None
        if a.k.kind == "memcpy" and ("HtoD" in a.k.name or "DtoH" in a.k.name):
            group = "Transfer"
        elif op is not None:
            group = _op_group(op, legacy) or a.k.group or "Other"
        else:
            group = a.k.group or "Unattributed"
        if op is None:
            link = "none"
        elif launch.name == "cudaGraphLaunch":
            link = "graph_launch"
        else:
            link = "correlation"
        ts = a.start * 1000 if legacy else a.ts_ns  # legacy: whole µs
        rows.append({
            "name": a.k.name, "kind": a.k.kind, "ts_ns": base_ns + ts, "dur_ns": a.dur_ns,
            "stream": a.stream, "correlation": a.corr, "bytes": a.bytes,
            "step": launch.step if launch is not None else _step_at(run, a.ts_ns),
            "group": group, "is_gemm": group in GEMM_GROUPS, "link": link,
            "launch": launch.name if launch is not None else None,
            "op": op.name if op is not None else None,
            "op_ts_ns": (base_ns + (op.start * 1000 if legacy else op.ts_ns)) if op is not None else None,
            "module": _module_path(op, legacy) if op is not None else None,
        })
    rows.sort(key=lambda r: (r["ts_ns"], r["stream"]))
    return rows


def _selection(rows: list[dict], steps) -> dict:
    sel = [r for r in rows if steps is None or r["step"] in steps]
    groups: dict[str, int] = {}
    counts: dict[str, int] = {}
    for r in sel:
        groups[r["group"]] = groups.get(r["group"], 0) + r["dur_ns"]
        counts[r["group"]] = counts.get(r["group"], 0) + 1
    total = sum(r["dur_ns"] for r in sel)
    gemm = sum(r["dur_ns"] for r in sel if r["is_gemm"])
    busy = _union((r["ts_ns"], r["ts_ns"] + r["dur_ns"]) for r in sel)
    return {"total_ns": total, "gemm_ns": gemm, "non_gemm_ns": total - gemm,
            "unattributed_ns": sum(r["dur_ns"] for r in sel if r["op"] is None),
            "groups": dict(sorted(groups.items())), "group_counts": dict(sorted(counts.items())),
            "kernels": len(sel), "busy_ns": busy, "concurrent_ns": total - busy}


def gpu_truth(run: Run, name: str, legacy: bool = False, base_ns: int = BASE_TIME_NS,
              present: set | None = None, events: int = 0) -> dict:
    """What the decoder recipe implies about a file written from ``run`` (``present``:
    the recipe objects whose events made it into the file, for a cut-off copy)."""
    rows = _kernel_truth(run, legacy, base_ns, present)
    hosts = [h for h in run.hosts if present is None or h in present]
    launches = [la for la in run.launches if present is None or la in present]
    steps = sorted(h.step for h in hosts if h.is_step)
    default = steps[1:] if len(steps) > 1 else steps
    ops = [h for h in hosts if h.cat == "cpu_op" or
           (legacy and h.cat == "user_annotation" and not h.is_step)]
    ranges = {"step": len(steps)}
    if not legacy:
        ranges["module"] = sum(h.cat == "python_function" for h in hosts)
        ranges["annotation"] = sum(h.cat == "user_annotation" and not h.is_step for h in hosts)
        ranges["gpu_annotation"] = 0 if present is not None else len(_gpu_annotations(run))
    by_op: dict[str, int] = {}
    for r in rows:
        if r["op"] is not None:
            by_op[r["op"]] = by_op.get(r["op"], 0) + 1
    return {
        "file": name,
        "format": "kineto-legacy" if legacy else "kineto",
        "truncated": present is not None,
        "events": events,
        "base_time_ns": None if legacy or present is not None else base_ns,  # in the header
        "time_basis": "device",
        "steps": steps,
        "default_steps": default,
        "ops": len(ops),
        "launches": len(launches),
        "ranges": ranges,
        "kernel_kinds": {kind: sum(r["kind"] == kind for r in rows)
                         for kind in ("kernel", "memcpy", "memset")},
        "attributed_kernels": sum(r["op"] is not None for r in rows),
        "kernels_by_op": dict(sorted(by_op.items())),
        "links": {link: sum(r["link"] == link for r in rows)
                  for link in sorted({r["link"] for r in rows})},
        "selections": {"default": {"steps": default, **_selection(rows, default)},
                       "all": {"steps": steps, **_selection(rows, None)}},
        "per_step": {str(s): _selection(rows, [s]) for s in steps},
        "kernels": rows,
    }


def cpu_truth(run: Run, name: str, events: int) -> dict:
    ops = sorted(run.hosts, key=lambda h: h.ts_ns)
    rows = []
    for h in ops:
        children = [c for c in ops if c.stack and c.stack[-1] is h]
        self_ns = (h.end_ns - h.ts_ns) - sum(c.end_ns - c.ts_ns for c in children)
        group = _op_group(h, False) or "Other"
        rows.append({"name": h.name, "ts_ns": BASE_TIME_NS + h.ts_ns, "dur_ns": h.end_ns - h.ts_ns,
                     "self_ns": self_ns, "depth": len(h.stack), "group": group,
                     "parent": h.stack[-1].name if h.stack else None})
    groups: dict[str, int] = {}
    counts: dict[str, int] = {}
    for r in rows:
        groups[r["group"]] = groups.get(r["group"], 0) + r["self_ns"]
        counts[r["group"]] = counts.get(r["group"], 0) + 1
    total = sum(r["dur_ns"] for r in rows if r["depth"] == 0)
    gemm = sum(ns for g, ns in groups.items() if g in GEMM_GROUPS)
    return {"file": name, "format": "kineto", "truncated": False, "events": events,
            "base_time_ns": BASE_TIME_NS, "time_basis": "cpu_self", "steps": [],
            "total_ns": total, "gemm_ns": gemm, "non_gemm_ns": total - gemm,
            "unattributed_ns": 0, "groups": dict(sorted(groups.items())),
            "group_counts": dict(sorted(counts.items())), "kernels": 0,
            "ops": len(rows), "op_rows": rows}


# ------------------------------------------------------------------ the sample files
CURRENT = "decoder_h100.pt.trace.json.gz"
LEGACY = "decoder_h100_legacy.pt.trace.json"
TRUNCATED = "decoder_h100_truncated.pt.trace.json"
CPU_ONLY = "cpu_only.pt.trace.json"
FILES = (CURRENT, LEGACY, TRUNCATED, CPU_ONLY)


def stem(file_name: str) -> str:
    return file_name.split(".pt.trace.json")[0]


def decoder_trace() -> tuple[dict, dict]:
    """(current-format trace document, ground truth) of the decoder recipe."""
    run = decoder_run()
    doc, _ = current_trace(run, CURRENT)
    return doc, gpu_truth(run, CURRENT, events=len(doc["traceEvents"]))


def legacy_trace() -> tuple[list, dict]:
    run = decoder_run()
    events, _ = legacy_events(run)
    # legacy timestamps are absolute: the same clock as BASE_TIME_NS + relative time
    return events, gpu_truth(run, LEGACY, legacy=True, events=len(events))


def truncated_trace() -> tuple[str, dict]:
    """(text cut mid-event, truth over the events before the cut). The cut falls in step
    3's GPU activity, right after the launch group of its softmax kernel."""
    run = decoder_run()
    doc, origin = current_trace(run, TRUNCATED)
    softmax = next(a for a in run.activities if a.k is SOFTMAX and a.launch.step == 3)
    n = origin.index(softmax.launch) + 2  # the runtime event, then its "s" flow
    present = {o for o in origin[:n] if o is not None}
    text = current_text(doc, cut=(n, 0.6))
    return text, gpu_truth(run, TRUNCATED, base_ns=0, present=present, events=n)


def cpu_only_trace() -> tuple[dict, dict]:
    run = cpu_only_run()
    doc, _ = current_trace(run, CPU_ONLY)
    return doc, cpu_truth(run, CPU_ONLY, events=len(doc["traceEvents"]))


def build_all() -> dict[str, tuple[bytes, dict]]:
    """Every sample file's bytes (gzip for .gz, deterministic) and its ground truth."""
    doc, truth = decoder_trace()
    out = {CURRENT: (gzip.compress(current_text(doc).encode(), compresslevel=9, mtime=0), truth)}
    events, truth = legacy_trace()
    out[LEGACY] = (legacy_text(events).encode(), truth)
    text, truth = truncated_trace()
    out[TRUNCATED] = (text.encode(), truth)
    doc, truth = cpu_only_trace()
    out[CPU_ONLY] = (current_text(doc).encode(), truth)
    return out


def truth_text(truth: dict) -> str:
    """JSON with one top-level key per line and one row per line in the row lists."""
    lines = []
    for key, value in truth.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in value)
            text = "[\n" + rows + "\n ]"
        elif isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
            text = "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                                       for k, v in value.items()) + "\n }"
        else:
            text = json.dumps(value, ensure_ascii=False)
        lines.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_all(out_dir) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (data, truth) in build_all().items():
        (out_dir / name).write_bytes(data)
        (out_dir / f"{stem(name)}.truth.json").write_text(truth_text(truth), encoding="utf-8")
        written += [out_dir / name, out_dir / f"{stem(name)}.truth.json"]
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE), help="folder to write into (default: samples/)")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(f"{path}  ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
