"""One GEMM / non-GEMM taxonomy for every framework (DESIGN.md, "Taxonomy").

Rules live in a data file (``default.toml`` beside this module); users extend or override
them with their own file of the same shape (``--taxonomy FILE``). Three kinds of rule, in
precedence order when a kernel is classified:

1. ``modules``: module / annotation class names (LlamaRMSNorm, NewGELUActivation, ...)
   -- everything inside such a module belongs to its group;
2. ``ops``: operator names -- aten ops, ONNX op types, TensorRT layer types;
3. ``kernels``: GPU kernel-name patterns (cutlass, nvjet, triton_poi_fused_*, ...).

Classification runs once per distinct name, never per event.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tracekit.model.errors import TracekitError
from tracekit.model.names import fused_members, kernel_base_name, main_member, member_type

UNATTRIBUTED = "Unattributed"
DEFAULT_ORIGIN = "default"  # rules of tracekit/taxonomy/default.toml
OTHER = "Other"
RULE_KINDS = ("modules", "ops", "kernels")
_GENERATED_KERNEL = re.compile(r"\s*triton_(poi|red|per|tem)_")
# Inductor's C++ kernels on CPU (with cpp.enable_kernel_profile: graph_<n>_cpp_fused_<ops>_<n>)
# name their fused aten ops as its Triton pointwise kernels do: read by the same rules
_CPP_KERNEL = re.compile(r"\s*(?:graph_\d+_)?cpp_fused_")


class TaxonomyError(TracekitError, ValueError):
    """A taxonomy file that cannot be used; the message names the file and the problem.
    Also a ValueError, as it was before the common root."""


@dataclass
class Rule:
    kind: str  # "modules" | "ops" | "kernels"
    group: str
    names: frozenset = frozenset()  # exact normalized names (ops only)
    compact_names: frozenset = frozenset()  # the same without underscores
    patterns: tuple = ()  # compiled regexes, searched case-insensitively
    origin: str = "default"
    note: str = ""
    line: int = 0  # line of its [[kind]] header in the file it came from (0: unknown)

    def where(self) -> str:
        return f"{self.origin}:{self.line}" if self.line else self.origin


class Pattern:
    """A case-insensitive regex compiled on its first search. The packaged rules' patterns
    are checked by the tests; compiling all ~500 of them costs every command ~80 ms, while
    a trace's names usually stop at an early rule."""

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern | None = None

    def search(self, text: str):
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, re.IGNORECASE)
        return self._compiled.search(text)


@dataclass(frozen=True)
class Decision:
    """Why a name got its group: the rule that matched (None: no rule), the pattern or
    name of that rule that matched, and for a fused name the member that decided."""
    group: str
    rule: Rule | None = None
    matched: str = ""
    member: str = ""


@dataclass
class Taxonomy:
    groups: dict[str, bool] = field(default_factory=dict)  # group -> is GEMM-based, in order
    rules: list[Rule] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    documented: list[dict] = field(default_factory=list)  # [[disagreements]] of the files

    # ------------------------------------------------------------ building
    @classmethod
    def default(cls) -> "Taxonomy":
        return _default()

    @classmethod
    def from_file(cls, path: str | Path, base: "Taxonomy | None" = None) -> "Taxonomy":
        """Load a user taxonomy. Its rules take precedence over ``base`` (the default);
        with ``replace = true`` at the top of the file the defaults are dropped."""
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TaxonomyError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TaxonomyError(f"{path}: cannot read ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise TaxonomyError(f"{path}: not valid TOML ({exc})") from None
        base = cls.default() if base is None else base
        text = path.read_text(encoding="utf-8")
        if doc.get("replace"):  # the file stands alone: its rules may use its groups only
            return cls._from_doc(doc, str(path), text=text)
        mine = cls._from_doc(doc, str(path), known=base.groups, text=text)
        groups = dict(base.groups)
        groups.update(mine.groups)
        return cls(groups=groups, rules=mine.rules + base.rules,
                   sources=mine.sources + base.sources,
                   documented=mine.documented + base.documented)

    @classmethod
    def _from_doc(cls, doc: dict, origin: str, known: dict | None = None,
                  text: str = "", trusted: bool = False) -> "Taxonomy":
        groups: dict[str, bool] = {}
        for name, spec in (doc.get("groups") or {}).items():
            gemm = spec.get("gemm", False) if isinstance(spec, dict) else bool(spec)
            groups[name] = bool(gemm)
        allowed = dict(known or {})
        allowed.update(groups)
        rules: list[Rule] = []
        lines = _header_lines(text)
        for kind in RULE_KINDS:
            for i, spec in enumerate(doc.get(kind) or []):
                where = f"{origin}: {kind}[{i}]"
                if not isinstance(spec, dict) or "group" not in spec:
                    raise TaxonomyError(f"{where}: each rule needs a 'group'")
                group = spec["group"]
                if group not in allowed:
                    raise TaxonomyError(f"{where}: unknown group {group!r} "
                                        f"(declare it under [groups])")
                try:
                    patterns = tuple(Pattern(p) if trusted else re.compile(p, re.IGNORECASE)
                                     for p in spec.get("match", []))
                except re.error as exc:
                    raise TaxonomyError(f"{where}: bad pattern ({exc})") from None
                names = frozenset(normalize_op(n) for n in spec.get("names", []))
                rules.append(Rule(kind, group, names, frozenset(n.replace("_", "") for n in names),
                                  patterns, origin, spec.get("note", ""),
                                  lines[kind][i] if i < len(lines.get(kind, ())) else 0))
        taxonomy = cls(groups=groups, rules=rules, sources=[origin])
        taxonomy.documented = _documented(doc)
        return taxonomy

    # ------------------------------------------------------------ queries
    def is_gemm(self, group: str) -> bool:
        return self.groups.get(group, False)

    def group_order(self) -> list[str]:
        order = list(self.groups)
        for extra in (OTHER, UNATTRIBUTED):
            if extra not in order:
                order.append(extra)
        return order

    def classify(self, kind: str, name: str) -> str:
        """Group of one name under one kind of rule; "" when no rule matches."""
        return self.decide(kind, name).group

    def classify_many(self, kind: str, names) -> list[str]:
        fn = self._decider(kind)
        return [fn(str(n)).group for n in names]

    def decide(self, kind: str, name: str) -> Decision:
        """The group of one name under one kind of rule and the rule that decided it; the
        one code path behind :meth:`classify` (and so behind loading a trace)."""
        return self._decider(kind)(str(name))

    def _decider(self, kind: str):
        cache = self.__dict__.setdefault("_cache", {})
        if kind not in cache:
            rules = [r for r in self.rules if r.kind == kind]
            if kind == "ops":
                kernel_rules = [r for r in self.rules if r.kind == "kernels"]

                # torch.compile records one op per generated kernel, named like the kernel:
                # the kernel rules know those names ("_to_copy" in a fused norm is no copy)
                def one(name, rules=rules):
                    if _GENERATED_KERNEL.match(name):
                        return _match(kernel_rules, "kernels", name)
                    if _CPP_KERNEL.match(name):
                        return _match(kernel_rules, "kernels", _CPP_KERNEL.sub("triton_poi_fused_", name, 1))
                    return _match(rules, "ops", name)

                fn = lambda name: fused_decision(name, one, self.is_gemm)
            else:
                fn = lambda name, rules=rules, kind=kind: _match(rules, kind, name)
            cache[kind] = lru_cache(maxsize=None)(fn)
        return cache[kind]


def normalize_op(name: str) -> str:
    """Canonical operator name: 'aten::native_layer_norm_' -> 'native_layer_norm',
    'autograd::engine::evaluate_function: AddmmBackward0' -> 'addmm'."""
    s = name.strip().lower()
    if s.startswith("autograd::engine::evaluate_function:"):
        s = s.split("evaluate_function:", 1)[1].strip()
    s = s.rsplit("::", 1)[-1]
    s = re.sub(r"backward\d*$", "", s)
    return s.strip("_ ")


def module_class(name: str) -> str:
    """Class-like part of a module/annotation label: 'LlamaRMSNorm_0' -> 'LlamaRMSNorm'."""
    s = name.strip()
    if s.startswith("nn.Module: "):
        s = s[len("nn.Module: "):]
    return re.sub(r"_\d+$", "", s)


def fused_decision(name: str, decide, is_gemm) -> Decision:
    """Decision for a fused layer name (``/conv1/Conv + /relu/Relu``, ``PWN(a, b)``): the
    first GEMM-based member decides, else the first member whose group is not shape
    plumbing (Memory, QDQ), else the first classified member. ``decide(op type)`` decides
    one member. A name that is no fused list: decide(name)."""
    members = fused_members(name)
    if len(members) == 1:
        return decide(members[0])
    decisions = [decide(member_type(m)) for m in members]
    groups = [d.group for d in decisions]
    pick = main_member(groups, is_gemm)
    if pick < 0:
        plain = [i for i, g in enumerate(groups) if g and g not in _PLUMBING_GROUPS]
        pick = plain[0] if plain else next((i for i, g in enumerate(groups) if g), -1)
    if pick < 0:
        return Decision("")
    d = decisions[pick]
    return Decision(d.group, d.rule, d.matched, members[pick])


_PLUMBING_GROUPS = ("Memory", "QDQ")


def _match(rules: list[Rule], kind: str, name: str) -> Decision:
    if kind == "ops":
        key = normalize_op(name)
        compact = key.replace("_", "")  # CamelCase autograd nodes: NllLossBackward0 ~ nll_loss
        full = name.strip().lower()
        bare = full.rsplit("::", 1)[-1]  # namespace dropped, underscores kept: _foreach_add_
        forms = (key, full) if bare == key else (key, full, bare)
        for rule in rules:
            if key in rule.names or compact in rule.compact_names:
                return Decision(rule.group, rule, f"name {key if key in rule.names else compact!r}")
            for p in rule.patterns:
                if any(p.search(f) for f in forms):
                    return Decision(rule.group, rule, p.pattern)
        return Decision("")
    key = module_class(name) if kind == "modules" else kernel_base_name(name)
    for rule in rules:
        for p in rule.patterns:
            if p.search(key):
                return Decision(rule.group, rule, p.pattern)
    return Decision("")


_HEADER = re.compile(r"^\s*\[\[\s*(modules|ops|kernels)\s*\]\]", re.MULTILINE)


def _header_lines(text: str) -> dict[str, list[int]]:
    """Line number of each [[kind]] header, per kind, in file order (TOML keeps that order
    within an array of tables)."""
    out: dict[str, list[int]] = {}
    for m in _HEADER.finditer(text or ""):
        out.setdefault(m.group(1), []).append(text.count("\n", 0, m.start()) + 1)
    return out


def _documented(doc: dict) -> list[dict]:
    """The documented disagreements between a kernel's name and the op that launched it
    ([[disagreements]]: kernel = group by kernel name, op = group by precedence, reason)."""
    out = []
    for spec in doc.get("disagreements") or []:
        if isinstance(spec, dict) and "kernel" in spec and "op" in spec:
            out.append({"kernel": str(spec["kernel"]), "op": str(spec["op"]),
                        "reason": str(spec.get("reason", ""))})
    return out


@lru_cache(maxsize=1)
def _default() -> Taxonomy:
    text = resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")
    return Taxonomy._from_doc(tomllib.loads(text), DEFAULT_ORIGIN, text=text, trusted=True)
