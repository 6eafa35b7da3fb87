"""Names as traces spell them, reduced to what identifies the work.

- :func:`kernel_base_name`: a GPU kernel's own function name, without namespaces, template
  arguments, parameter list or return type. Kernel rules match it and tables show it, so
  that words inside template arguments (``flashinfer::``, ``cutlass::bfloat16_t``) never
  decide a group. Generic launchers whose own name says nothing (cutlass ``Kernel2``,
  ``device_kernel``; ATen's ``vectorized_elementwise_kernel``, ``reduce_kernel``) keep the
  base name of the template argument that names the work: ``Kernel2<cutlass_80_tensorop_...>``,
  ``vectorized_elementwise_kernel<FillFunctor>``.
- :func:`fused_members` / :func:`main_member`: the members of a fused layer name
  (TensorRT ``/conv1/Conv + /relu/Relu``, ``PWN(a, b)``) and which one says what the layer
  computes: a GEMM-based member first. Parsers (which see no taxonomy) and the taxonomy use
  these same functions.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

# ----------------------------------------------------------------------------- kernels
# launchers whose own name says nothing: the first informative template argument names the
# work (cutlass / CUTLASS 3 / ATen / apex)
_GENERIC = re.compile(r"^(?:device_)?kernel\d*$|^kentry$|^enable_sm\d+(?:_or_later|_only)?$", re.IGNORECASE)
_LAUNCHERS = frozenset("""
vectorized_elementwise_kernel unrolled_elementwise_kernel elementwise_kernel
elementwise_kernel_manual_unroll
elementwise_kernel_with_index index_elementwise_kernel reduce_kernel multi_tensor_apply_kernel
gpu_kernel_impl gpu_kernel_impl_nocast gpu_kernel_with_scalars BinaryFunctor AUnaryFunctor
BUnaryFunctor func_wrapper_t ReduceOp opmath_gpu_kernel_with_scalars
""".split())
# wrappers inside a launcher's arguments that only carry the real functor
_TRANSPARENT = frozenset("""
gpu_kernel_impl gpu_kernel_impl_nocast gpu_kernel_with_scalars BinaryFunctor AUnaryFunctor
BUnaryFunctor func_wrapper_t ReduceOp opmath_gpu_kernel_with_scalars
""".split()) | {"enable_sm80_to_sm89", "enable_sm90_or_later", "enable_sm90_only", "enable_sm100_only"}
# template arguments that are plumbing, not the work
_PLUMBING = re.compile(
    r"^(?:Array|array|tuple|pair|TrivialOffsetCalculator|OffsetCalculator|LoadWithCast|StoreWithCast|"
    r"LoadWithoutCast|StoreWithoutCast|TensorListMetadata|FusedOptimizerTensorListMetadata|"
    r"TensorInfo|IntDivider|C|Int|integral_constant|Shape|Layout|Stride|"
    r"(?:unsigned |signed )?(?:char|short|int|long|long long|float|double|bool|half|__half|"
    r"__nv_bfloat16|Half|BFloat16|bfloat16_t|half_t|float_e4m3_t|float_e5m2_t|size_t|void|auto)"
    r"|u?int\d+_t|c10|true|false|nullptr_t|decltype)$")
_NUMBER = re.compile(r"^(?:\([\w\s]+\))?\s*-?\d")
_ANON = re.compile(r"\(anonymous namespace\)::|`anonymous namespace'::|<unnamed>::|\{anonymous\}::")
_CLONE = re.compile(r"\s*\[clone [^\]]*\]\s*$|\.kd$")
_MANGLED = re.compile(r"^_Z")
_OPEN = {"<": ">", "(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


@lru_cache(maxsize=65536)
def kernel_base_name(name: str) -> str:
    """The kernel's own name: ``void flashinfer::QuantizationSFLayout<...>(...)`` ->
    ``QuantizationSFLayout``; ``void cutlass::Kernel2<cutlass_80_tensorop_s16816gemm...>(...)``
    -> ``Kernel2<cutlass_80_tensorop_s16816gemm...>``; names that are no function signature
    (``Memcpy HtoD (Pageable -> Device)``, ``nvjet_tst_...``, Triton names) stay as they are."""
    s = str(name).strip()
    if not s or s.startswith(("Memcpy", "Memset")):
        return s
    if _MANGLED.match(s):
        return _mangled_base(s) or s
    if not any(c in s for c in "<(: "):
        return s
    s = _CLONE.sub("", _ANON.sub("", s))
    try:
        return _base(s) or str(name).strip()
    except (ValueError, IndexError):
        return str(name).strip()


def _base(s: str, depth: int = 0) -> str:
    ident, args, qualifier = _own_name(s)
    if not ident:
        return ""
    if depth < 6 and (_GENERIC.match(ident) or ident in _LAUNCHERS):
        inner = _informative(args, depth)
        if ident in _TRANSPARENT:
            return inner or ident
        prefix = f"{qualifier}::" if qualifier and _GENERIC.match(ident) else ""
        return f"{prefix}{ident}<{inner}>" if inner else f"{prefix}{ident}"
    return ident


def _informative(args: list[str], depth: int) -> str:
    for arg in args:
        arg = arg.strip()
        if not arg or _NUMBER.match(arg):
            continue
        ident, inner_args, _ = _own_name(arg)
        if not ident or _PLUMBING.match(ident):
            continue
        if ident in _TRANSPARENT or _GENERIC.match(ident):
            found = _informative(inner_args, depth + 1)
            if found:
                return found
            continue
        return _base(arg, depth + 1)
    return ""


def _own_name(s: str) -> tuple[str, list[str], str]:
    """(own identifier, its template arguments, the namespace just before it) of a
    signature, a type or a lambda's enclosing function."""
    # top-level text: template arguments collected, the first top-level "(" ends the name
    top: list[str] = []
    stack: list[str] = []
    start = 0
    groups: list[tuple[int, int]] = []  # spans of top-level <...> in s
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "-" and i + 1 < n and s[i + 1] == ">":
            i += 2
            continue
        if not stack and s.startswith("operator", i) and (i == 0 or not (s[i - 1].isalnum() or s[i - 1] == "_")) \
                and s[i + 8:i + 9] in ("(", "<", ">", "=", "!", "+", "-", "*", "/", "&", "|", "[", "~", "^", "%", " "):
            # operator()/operator< as a name: keep the word, skip its symbol
            j = i + len("operator")
            while j < n and s[j] in "()<>=!+-*/&|[]~^%,":
                j += 1
                if s[j - 2:j] == "()":
                    break
            top.append("operator")
            i = j
            continue
        if c in _OPEN:
            if c == "(" and not stack:
                break
            if c == "<" and not stack:
                start = i
            stack.append(c)
        elif c in _CLOSE and stack and stack[-1] == _CLOSE[c]:
            stack.pop()
            if c == ">" and not stack:
                groups.append((start, i))
                top.append("<>")
            i += 1
            continue
        if not stack:
            top.append(c)
        i += 1
    text = "".join(top).strip()
    # the return type and other words come before the name: keep the last word
    word = text.rsplit(" ", 1)[-1] if " " in text else text
    parts = [p for p in word.split("::") if p]
    if not parts:
        return "", [], ""
    if parts[-1] == "operator" and len(parts) > 1:  # functor::operator()(...) -> functor
        parts = parts[:-1]
    last = parts[-1]
    ident = last.replace("<>", "")
    qualifier = parts[-2].replace("<>", "") if len(parts) > 1 else ""
    args: list[str] = []
    if last.endswith("<>") and groups:
        # the template arguments of the last component are the last top-level group
        g0, g1 = groups[-1]
        args = _split_args(s[g0 + 1:g1])
    return ident, args, qualifier


def _split_args(s: str) -> list[str]:
    out, depth, cur = [], 0, []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "-" and s[i + 1:i + 2] == ">":
            cur.append("->")
            i += 2
            continue
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        if c == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def _mangled_base(s: str) -> str:
    """Own name of an Itanium-mangled kernel (``_ZN19cutlass_cudnn_train6KernelINS_4conv...``):
    the nested name's last component, and for a generic launcher its first template
    argument's last component."""
    names, i = _source_names(s, 2 + (s[2:3] == "N"))
    if not names:
        return ""
    own = names[-1][0]
    end = names[-1][1]
    if _GENERIC.match(own) and s[end:end + 1] == "I":
        args, _ = _source_names(s, end + 1)
        inner = [n for n, _ in args if not _GENERIC.match(n) and n not in ("cutlass", "kernel")]
        if inner:
            qual = names[-2][0] if len(names) > 1 else ""
            return f"{qual + '::' if qual else ''}{own}<{inner[-1]}>"
    return own


def _source_names(s: str, i: int) -> tuple[list[tuple[str, int]], int]:
    """<length><identifier> components from position ``i`` (substitutions and the
    nested-name marker skipped), until the first template-argument or end marker."""
    out = []
    n = len(s)
    while i < n:
        c = s[i]
        if c == "N":
            i += 1
        elif c == "L":  # a literal template argument (Li1E): no name
            j = s.find("E", i)
            if j < 0:
                break
            i = j + 1
        elif c == "S":
            j = s.find("_", i)
            if j < 0:
                break
            i = j + 1
        elif c.isdigit():
            j = i
            while j < n and s[j].isdigit():
                j += 1
            length = int(s[i:j])
            out.append((s[j:j + length], j + length))
            i = j + length
            if i < n and s[i] in "IE":
                break
        else:
            break
    return out, i


# ----------------------------------------------------------------------------- fused names
FUSED_JOIN = " + "
# GEMM-based ONNX op types (and aten spellings seen in fused names): a fused layer with one
# of these is GEMM-based whatever else it holds
GEMM_OP_TYPES = frozenset("""
Conv ConvTranspose ConvInteger QLinearConv DeformConv NhwcConv FusedConv CausalConvWithState
MatMul MatMulInteger QLinearMatMul MatMulNBits FusedMatMul DynamicQuantizeMatMul
MatMulIntegerToFloat Gemm FusedGemm QGemm GemmFastGelu Einsum Attention LinearAttention
MultiHeadAttention GroupQueryAttention PackedAttention PackedMultiHeadAttention
DecoderMaskedMultiHeadAttention QAttention
""".split())
_REFORMAT = re.compile(r"^\s*Reformatting CopyNode for (?:Input|Output) Tensor \d+ to ", re.DOTALL)
_PWN = re.compile(r"PWN\(([^()]*)\)")
_TRAILING_NUMBER = re.compile(r"(?:_+\d+)+$")


def is_reformat(name: str) -> bool:
    """TensorRT's "Reformatting CopyNode for Input Tensor 0 to <layer>": a copy that feeds
    <layer>, not <layer> itself."""
    return bool(_REFORMAT.match(str(name)))


def fused_members(name: str) -> list[str]:
    """The members of a fused layer name, in order: ``/conv1/Conv + /relu/Relu`` ->
    ``["/conv1/Conv", "/relu/Relu"]``; ``PWN(PWN(a, b), c)`` -> ``["a", "b", "c"]``. A
    name that is no fused list (a reformat copy included) is its only member."""
    s = str(name)
    if is_reformat(s) or (FUSED_JOIN not in s and "PWN(" not in s):
        return [s]
    previous = None
    while previous != s:  # PWN(PWN(a), b) -> a + b
        previous = s
        s = _PWN.sub(lambda m: FUSED_JOIN.join(m.group(1).split(", ")), s)
    members = [p.strip() for p in s.split(FUSED_JOIN)]
    return [p for p in members if p] or [str(name)]


def member_type(member: str) -> str:
    """The op a member names, from its last path piece: ``/model/layers.0/attn/MatMul_1``
    -> ``MatMul``; ``Conv_34`` -> ``Conv``."""
    last = str(member).strip().rsplit("/", 1)[-1].strip()
    return _TRAILING_NUMBER.sub("", last)


def main_member(types: list[str], is_gemm: Callable[[str], bool] | None = None) -> int:
    """Index of the member that says what a fused layer computes: the first GEMM-based one
    (``is_gemm(type)``, by default an ONNX GEMM-based op type), else -1 (the caller picks)."""
    test = is_gemm or (lambda t: t in GEMM_OP_TYPES)
    for i, t in enumerate(types):
        if t and test(t):
            return i
    return -1


_PATH_PART = re.compile(r"([./])")
_INSTANCE = re.compile(r"(?:_\d+)+$")


def module_class_path(path: str) -> str:
    """A module path without its instance numbers, so that every instance of a layer shares
    one row: ``Model_0.Encoder_0.Layer_3.Attention_0`` -> ``Model.Encoder.Layer.Attention``;
    ``/model/layers.0/attn`` -> ``/model/layers/attn``; ``model.layers.11.mlp`` ->
    ``model.layers.mlp``. Parts that are only a number go, with the separator before them."""
    parts = _PATH_PART.split(str(path))
    out: list[str] = []
    for i in range(0, len(parts), 2):
        part = parts[i]
        if part.isdigit() and i:
            continue
        if i:
            out.append(parts[i - 1])
        out.append(_INSTANCE.sub("", part) or part)
    return "".join(out)
