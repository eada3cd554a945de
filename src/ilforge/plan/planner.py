"""Composition planner: which compositions must be sampled for energies to transfer.

An atom-additive MLIP learns, in effect, a per-species energy ε_s on top of interactions
(Goodwin et al., J. Phys. Chem. Lett. 2024). The energy of a box with species counts n is then
E ≈ n·ε + (interactions), so training data fix ε only along the directions spanned by the
training composition vectors n_k. Compositions are neutral mixtures of components (salts,
solvents): with N species and M independent linear constraints on the counts (electroneutrality
of each salt family), the reachable count vectors span C = N - M dimensions, and at least C
linearly independent training compositions are needed before the energy of every target
composition is determined.

Worked cases (N species, M constraints, C = N - M):

* one salt c a: N = 2, M = 1 (n_c = n_a), C = 1.
* Li+/EMIM+/PF6- (LiPF6 + EMIM-PF6): N = 3, M = 1 (n_Li + n_EMIM = n_PF6), C = 2. One
  training composition (x = 0.5) fixes only 0.5 E(Li+) + 0.5 E(EMIM+) + E(PF6-); the difference
  E(Li+) - E(EMIM+) stays undetermined and energies do not transfer to other x. Two (x = 0.4, 0.6)
  span the space.
* c1a1 + c2a2 (no common ion): N = 4, M = 2 (n_c1 = n_a1, n_c2 = n_a2), C = 2.
* c1, c2, a1, a2 mixed freely from the four salts c1a1, c1a2, c2a1, c2a2: N = 4, M = 1 (only
  overall neutrality n_c1 + n_c2 = n_a1 + n_a2), C = 3: the four salt vectors are linearly
  dependent (c1a1 + c2a2 = c1a2 + c2a1), so three compositions span the space. Single-ion
  energies still stay undetermined up to a shift E(cation) + λ, E(anion) - λ, which no neutral
  box can see, but every neutral box energy is fixed.

The same rank test on element counts says whether per-element reference energies (E0s) could be
fitted by least squares from the planned frames.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ilforge.chem.mixture import Composition
from ilforge.chem.species import Species
from ilforge.plan.linalg import combination_text, nice_integer_combination, null_space_basis, rank, residual_directions, rref

#: at most this many candidate subsets are enumerated exhaustively; beyond, a greedy choice
MAX_SUBSETS = 20000


@dataclass
class Plan:
    """Outcome of :func:`plan_compositions`. Counts are per species in the order of ``species``."""

    species: list[str]
    n_species: int
    n_constraints: int
    required_compositions: int
    constraints: list[str]
    training: list[str]
    training_rank: int
    spans_targets: bool
    determined: list[str]
    undetermined: list[str]
    untransferable_targets: list[str]
    gauge: list[str]
    recommended: list[str]
    recommended_counts: list[dict[str, int]]
    elements: list[str]
    element_rank: int
    element_e0_fittable: bool
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _species_order(species: list[Species], compositions: list[Composition], hint: list[str]) -> list[Species]:
    """Species that occur, cations first, then anions, then neutrals; within a kind in ``hint`` order."""
    present = {s for c in compositions for s, n in c.counts.items() if n > 0}
    kind_rank = {"cation": 0, "anion": 1, "neutral": 2}
    pos = {name: i for i, name in enumerate(hint)}
    return sorted(
        (sp for sp in species if sp.name in present), key=lambda sp: (kind_rank[sp.kind], pos.get(sp.name, len(pos)), sp.name)
    )


def _mixing_entropy(vec: np.ndarray) -> float:
    """Ideal mixing entropy per molecule, -Σ x_i ln x_i, of the species mole fractions (units of k_B)."""
    x = vec / vec.sum()
    x = x[x > 0]
    return float(-(x * np.log(x)).sum())


def _texts(rows: np.ndarray, labels: list[str], symbol: str, suffix: str = "") -> list[str]:
    return [combination_text(r, labels, symbol) + suffix for r in (rref(rows) if len(rows) else rows)]


def _independent_subset(vectors: list[np.ndarray]) -> list[int]:
    chosen: list[int] = []
    for i, v in enumerate(vectors):
        if rank(np.array([vectors[j] for j in chosen] + [v])) > len(chosen):
            chosen.append(i)
    return chosen


def _recommend(candidates: list[Composition], cand_vecs: np.ndarray, target_vecs: np.ndarray, n_all: int):
    """Minimal subset of candidates spanning the targets, preferring (1) compositions in which every
    species occurs (every ion pair can form), (2) high mixing entropy of the least mixed member,
    (3) well-separated compositions (largest smallest singular value of the normalised vectors)."""
    k = rank(target_vecs)
    if k == 0:
        return []
    all_present = np.array([np.count_nonzero(v) == n_all for v in cand_vecs])
    entropy = np.array([_mixing_entropy(v) for v in cand_vecs])
    unit = cand_vecs / np.linalg.norm(cand_vecs, axis=1, keepdims=True)

    def spans(idx) -> bool:
        sub = cand_vecs[list(idx)]
        return rank(sub) == k and rank(np.vstack([sub, target_vecs])) == k

    def score(idx):
        idx = list(idx)
        smin = np.linalg.svd(unit[idx], compute_uv=False)[-1]
        return (int(all_present[idx].sum()), round(float(entropy[idx].min()), 6), round(float(smin), 6))

    n = len(candidates)
    best = None
    if math.comb(n, k) <= MAX_SUBSETS:
        for idx in itertools.combinations(range(n), k):
            if spans(idx):
                s = score(idx)
                if best is None or s > best[0]:
                    best = (s, idx)
    else:  # greedy: best-scored candidate that raises the rank
        order = sorted(range(n), key=lambda i: (all_present[i], entropy[i]), reverse=True)
        idx: list[int] = []
        for i in order:
            if rank(cand_vecs[idx + [i]]) > len(idx):
                idx.append(i)
            if len(idx) == k:
                break
        if spans(idx):
            best = (score(idx), tuple(idx))
    return [] if best is None else sorted(best[1], key=lambda i: candidates[i].x if candidates[i].x is not None else i)


def _reachable_vectors(target_vecs: np.ndarray, train_vecs: np.ndarray, components, names: list[str]) -> np.ndarray:
    """Rows spanning the reachable count space: targets, training and the components' formula units."""
    reach = [target_vecs, train_vecs]
    if components:
        reach.append(np.array([[comp.get(s, 0) for s in names] for comp in components.values()], dtype=float))
    return np.vstack([r for r in reach if r.size])


def _is_neutrality(row: np.ndarray, charges: np.ndarray) -> bool:
    """Whether the constraint ``row · n = 0`` is proportional to overall electroneutrality ``q · n = 0``."""
    return bool(np.any(charges) and rank(np.vstack([row, charges])) == 1)


def _constraint_texts(constraints_rows: np.ndarray, charges: np.ndarray, labels: list[str]) -> list[str]:
    """Human-readable linear constraints on the counts, ``Σ c_s n_s = 0``, one per independent row (RREF)."""
    constraint_text = []
    for row in rref(constraints_rows) if len(constraints_rows) else []:
        ints = nice_integer_combination(row)
        is_neutrality = _is_neutrality(row, charges)
        text = combination_text(row, labels, "n") + " = 0"
        constraint_text.append(text + (" (overall electroneutrality)" if is_neutrality else "") if ints is not None else text)
    return constraint_text


def _gauge_texts(constraints_rows: np.ndarray, charges: np.ndarray, labels: list[str]) -> list[str]:
    """The gauge freedoms of the species energies: each constraint row c gives E -> E + λ c, invisible to every box."""
    gauge = []
    for row in rref(constraints_rows) if len(constraints_rows) else []:
        if _is_neutrality(row, charges):
            gauge.append(
                "E(i) -> E(i) + λ q_i for every ion i changes no neutral box: single-ion energies are fixed "
                "only up to a cation/anion shift"
            )
        else:
            gauge.append(f"adding λ × ({combination_text(row, labels, 'E')}) to the species energies changes no box energy")
    return gauge


def _training_analysis(targets, training, target_vecs: np.ndarray, train_vecs: np.ndarray, labels: list[str], n: int) -> dict:
    """Rank of the training vectors, whether they span the targets, the energy combinations they fix
    (``determined``), the missing directions (``undetermined``) and the targets outside their span."""
    train_rank = rank(train_vecs) if len(training) else 0
    spans = bool(len(training)) and rank(np.vstack([train_vecs, target_vecs])) == train_rank
    indep = _independent_subset(list(train_vecs)) if len(training) else []
    determined = [combination_text(train_vecs[i], labels, "E") for i in indep]
    missing = residual_directions(target_vecs, train_vecs if len(training) else np.zeros((0, n)))
    undetermined = _texts(missing, labels, "E")
    untransferable = []
    if len(training):
        for c, v in zip(targets, target_vecs):
            if rank(np.vstack([train_vecs, v])) > train_rank:
                untransferable.append(c.id)
    else:
        untransferable = [c.id for c in targets]
    return {"train_rank": train_rank, "spans": spans, "determined": determined, "undetermined": undetermined,
            "untransferable": untransferable}


def _element_analysis(ordered: list[Species], planned: list[Composition]) -> tuple[list[str], int, bool]:
    """Elements (C, H first), the rank of the element-count matrix of ``planned`` (compositions x elements)
    and whether per-element E0s are fittable by least squares (full column rank)."""
    elements = sorted({el for sp in ordered for el in sp.symbols}, key=lambda e: (e != "C", e != "H", e))
    el_matrix = np.array(
        [[sum(c.counts.get(sp.name, 0) * sp.symbols.count(el) for sp in ordered) for el in elements] for c in planned]
    ).reshape(len(planned), len(elements))
    el_rank = rank(el_matrix) if len(planned) else 0
    fittable = el_rank == len(elements) and len(planned) > 0
    return elements, el_rank, fittable


def _plan_messages(n, m, c_required, training, tr: dict, target_vecs, recommended, elements, el_rank, fittable) -> list[str]:
    """The plan's explanation, one sentence per finding (required count, training span, recommendation, E0s)."""
    messages = [
        f"{n} species, {m} constraint(s): at least C = {n} - {m} = {c_required} linearly independent compositions "
        f"are needed for energies to transfer across the composition space."
    ]
    if training:
        if tr["spans"]:
            messages.append(
                f"The training compositions ({', '.join(c.id for c in training)}) have rank {tr['train_rank']} and span every target: "
                f"energies can transfer."
            )
        else:
            messages.append(
                f"The training compositions ({', '.join(c.id for c in training)}) have rank {tr['train_rank']} < {rank(target_vecs)} "
                f"needed by the targets: {'; '.join(tr['undetermined'])} stay(s) undetermined, so energies of "
                f"{len(tr['untransferable'])} target(s) cannot transfer (forces may)."
            )
    if recommended:
        messages.append(f"Recommended minimal training set: {', '.join(recommended)}.")
    messages.append(
        f"Per-element reference energies: the element counts of the {'training' if training else 'recommended'} "
        f"frames span {el_rank} of {len(elements)} directions ({', '.join(elements)}); "
        + (
            "a least-squares E0 fit is possible."
            if fittable
            else "a least-squares E0 fit is NOT determined; use isolated-atom energies at the same level of theory."
        )
    )
    return messages


def plan_compositions(
    species: list[Species],
    targets: list[Composition],
    training: list[Composition] | None = None,
    candidates: list[Composition] | None = None,
    components: dict[str, dict[str, int]] | None = None,
) -> Plan:
    """Rank analysis of compositions for energy transferability (see the module docstring).

    species: every species that may occur (library entries); targets: compositions the model must
    describe; training: compositions it is (to be) trained on; candidates: compositions to choose
    the recommendation from (default: the targets); components: neutral formula units, whose
    count vectors together with the targets define the reachable composition space.
    """
    training = training or []
    candidates = candidates if candidates is not None else targets
    hint = [s for comp in (components or {}).values() for s in comp] + [s for c in targets for s in c.counts]
    ordered = _species_order(species, [*targets, *training, *candidates], hint)
    names = [sp.name for sp in ordered]
    labels = [sp.label for sp in ordered]
    n = len(names)

    def vecs(comps):
        return np.array([c.vector(names) for c in comps]).reshape(len(comps), n)

    target_vecs, train_vecs, cand_vecs = vecs(targets), vecs(training), vecs(candidates)
    reach_vecs = _reachable_vectors(target_vecs, train_vecs, components, names)
    c_required = rank(reach_vecs)
    constraints_rows = null_space_basis(reach_vecs, n)
    m = n - c_required
    charges = np.array([sp.charge for sp in ordered], dtype=float)
    tr = _training_analysis(targets, training, target_vecs, train_vecs, labels, n)
    rec_idx = _recommend(candidates, cand_vecs, target_vecs, n) if len(candidates) else []
    recommended = [candidates[i].id for i in rec_idx]
    planned = training if training else [candidates[i] for i in rec_idx]
    elements, el_rank, fittable = _element_analysis(ordered, planned)
    return Plan(
        species=labels,
        n_species=n,
        n_constraints=m,
        required_compositions=c_required,
        constraints=_constraint_texts(constraints_rows, charges, labels),
        training=[c.id for c in training],
        training_rank=tr["train_rank"],
        spans_targets=bool(tr["spans"]),
        determined=tr["determined"],
        undetermined=tr["undetermined"] if training else [],
        untransferable_targets=tr["untransferable"] if training else [],
        gauge=_gauge_texts(constraints_rows, charges, labels),
        recommended=recommended,
        recommended_counts=[candidates[i].counts for i in rec_idx],
        elements=elements,
        element_rank=el_rank,
        element_e0_fittable=bool(fittable),
        messages=_plan_messages(n, m, c_required, training, tr, target_vecs, recommended, elements, el_rank, fittable),
    )


def plan_recipe(recipe, train_refs: list[str | float] | None = None) -> Plan:
    """Plan for a :class:`~ilforge.recipe.Recipe`; ``train_refs`` (ids or scan values) override
    ``recipe.training_compositions``."""
    lib = recipe.library()
    targets = recipe.resolve_compositions(lib)
    refs = recipe.training_compositions if train_refs is None else train_refs
    training = [recipe.composition_by_ref(r, targets) for r in refs]
    return plan_compositions(list(lib), targets, training, targets, recipe._canonical_components(lib))
