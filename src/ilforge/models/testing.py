"""The backend conformance kit: physics and bookkeeping every MLIP backend must get right.

Each check raises :class:`AssertionError` with the numbers that failed; ``tests/integration/
test_backend_conformance.py`` runs them on a tiny model of each registered backend.

- :func:`check_forces` — forces are the negative gradient of the energy, F_i = −∂E/∂r_i, against
  central finite differences [E(r + δ) − E(r − δ)] / 2δ (eV/Å);
- :func:`check_stress` — the stress is the strain derivative of the energy, σ_ij = (1/V) ∂E/∂ε_ij
  (eV/Å³, ASE sign convention), by central differences of a symmetric strain of the cell with the
  atoms moved along; and the pressure P = −tr(σ)/3 equals −dE/dV from an isotropic scaling;
- :func:`check_round_trip` — a model reloaded from its directory (``ModelArtifact.load``) predicts
  the same numbers, in batches and through its calculator;
- :func:`check_committee_statistics` — a committee's mean and spread equal numpy's mean and
  standard deviation (ddof = 0) of the members' own predictions, batched and as a calculator;
- :func:`check_e0s` — an isolated atom (no neighbour within the cutoff) has exactly its reference
  energy E0 (``model.json`` ``e0s``).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ilforge.models.artifact import ModelArtifact
from ilforge.models.committee import Committee
from ilforge.models.registry import get_backend


def _energy(atoms: Atoms, calc) -> float:
    a = atoms.copy()
    a.calc = calc
    return float(a.get_potential_energy())


def check_forces(calc, atoms: Atoms, delta: float = 1e-4, atol: float = 1e-4, max_components: int = 18, seed: int = 0) -> None:
    """F = −∇E by central finite differences on up to ``max_components`` (seeded) Cartesian components.

    ``delta`` in Å, ``atol`` in eV/Å.
    """
    a = atoms.copy()
    a.calc = calc
    forces = a.get_forces()
    comps = [(i, k) for i in range(len(a)) for k in range(3)]
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(comps))[:max_components]
    worst = (0.0, None, None, None)
    for c in pick:
        i, k = comps[c]
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[i, k] += delta
        minus.positions[i, k] -= delta
        fd = -(_energy(plus, calc) - _energy(minus, calc)) / (2 * delta)
        err = abs(fd - forces[i, k])
        if err > worst[0]:
            worst = (err, (i, k), fd, forces[i, k])
    if worst[0] > atol:
        err, (i, k), fd, f = worst
        raise AssertionError(f"force of atom {i}, component {'xyz'[k]}: {f:.6g} eV/Å from the model, {fd:.6g} eV/Å = "
                             f"−dE/dx by finite differences (|difference| {err:.3g} > {atol:g})")


def _strained(atoms: Atoms, eps: np.ndarray) -> Atoms:
    b = atoms.copy()
    b.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + eps), scale_atoms=True)
    return b


def numerical_stress(calc, atoms: Atoms, delta: float = 1e-5) -> np.ndarray:
    """σ_ij = (1/V) ∂E/∂ε_ij (Voigt xx, yy, zz, yz, xz, xy; eV/Å³) by central differences of a
    symmetric strain ε (off-diagonal ε_ij = ε_ji = δ/2)."""
    v = atoms.get_volume()
    out = np.zeros(6)
    for n, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        eps = np.zeros((3, 3))
        eps[i, j] += delta / 2 if i != j else delta
        if i != j:
            eps[j, i] += delta / 2
        out[n] = (_energy(_strained(atoms, eps), calc) - _energy(_strained(atoms, -eps), calc)) / (2 * delta * v)
    return out


def check_stress(calc, atoms: Atoms, delta: float = 1e-5, atol: float = 1e-5) -> None:
    """The model's stress against :func:`numerical_stress`, and P = −tr(σ)/3 against −dE/dV from an
    isotropic scaling V(1 ± δ) (``atol`` in eV/Å³)."""
    a = atoms.copy()
    a.calc = calc
    stress = a.get_stress(voigt=True)
    fd = numerical_stress(calc, atoms, delta)
    err = np.abs(stress - fd)
    if err.max() > atol:
        raise AssertionError(f"stress {np.array2string(stress, precision=6)} eV/Å³ from the model, "
                             f"{np.array2string(fd, precision=6)} = (1/V) dE/dε by finite differences (max |difference| {err.max():.3g} > {atol:g})")
    v = atoms.get_volume()
    s = (1 + delta) ** (1 / 3) - 1, (1 - delta) ** (1 / 3) - 1
    e_plus, e_minus = (_energy(_strained(atoms, np.eye(3) * x), calc) for x in s)
    dedv = (e_plus - e_minus) / (2 * delta * v)
    pressure = -stress[:3].mean()
    if abs(pressure + dedv) > atol:
        raise AssertionError(f"pressure −tr(σ)/3 = {pressure:.6g} eV/Å³ from the model, −dE/dV = {-dedv:.6g} eV/Å³ "
                             f"by finite differences (|difference| {abs(pressure + dedv):.3g} > {atol:g})")


def _compare(what: str, a: list[dict], b: list[dict], atol: float) -> None:
    for n, (p, q) in enumerate(zip(a, b)):
        de = abs(p["energy"] - q["energy"])
        df = float(np.abs(np.asarray(p["forces"]) - np.asarray(q["forces"])).max())
        if de > atol or df > atol:
            raise AssertionError(f"{what}, frame {n}: energy {p['energy']!r} vs {q['energy']!r} eV, max force difference {df:.3g} eV/Å "
                                 f"(> {atol:g})")


def check_round_trip(artifact: ModelArtifact, frames: list[Atoms], atol: float = 1e-8) -> None:
    """The model reloaded from its directory predicts what the trained artifact predicts (batched), and
    its calculator gives the batched numbers (eV, eV/Å)."""
    backend = get_backend(artifact.backend)
    before = backend.predict(artifact, frames)
    reloaded = ModelArtifact.load(artifact.directory)
    _compare("batched prediction after reloading", before, backend.predict(reloaded, frames), atol)
    calc = backend.load_calculator(reloaded)
    by_calc = []
    for a in frames:
        b = a.copy()
        b.calc = calc
        by_calc.append({"energy": b.get_potential_energy(), "forces": b.get_forces()})
    _compare("calculator of the reloaded model vs batched prediction", before, by_calc, atol * max(1.0, max(abs(p["energy"]) for p in before)))


def check_committee_statistics(committee: Committee, frames: list[Atoms], atol: float = 1e-8) -> None:
    """Committee mean and spread (batched and as a calculator) against numpy on the members' predictions."""
    per = committee.member_predictions(frames)
    got = committee.predict(frames)
    for n in range(len(frames)):
        e = np.array([p[n]["energy"] for p in per])
        f = np.array([p[n]["forces"] for p in per])
        want = {"energy": e.mean(), "energy_std": e.std(), "forces": f.mean(axis=0), "forces_std": f.std(axis=0),
                "max_force_std": np.linalg.norm(f.std(axis=0), axis=1).max()}
        for key, value in want.items():
            diff = float(np.abs(np.asarray(got[n][key]) - value).max())
            if diff > atol:
                raise AssertionError(f"committee {key} of frame {n}: {got[n][key]} vs numpy {value} (difference {diff:.3g} > {atol:g})")
    a = frames[0].copy()
    a.calc = committee.calculator_factory()()
    energy = a.get_potential_energy()
    if abs(energy - got[0]["energy"]) > atol * max(1.0, abs(energy)) or abs(a.calc.results["energy_std"] - got[0]["energy_std"]) > atol * max(1.0, abs(energy)):
        raise AssertionError(f"committee calculator: energy {energy!r} ± {a.calc.results['energy_std']!r} eV vs batched "
                             f"{got[0]['energy']!r} ± {got[0]['energy_std']!r} eV")


def check_e0s(artifact: ModelArtifact, atol: float = 1e-6, box_A: float = 30.0) -> None:
    """Each element's isolated atom (alone in a ``box_A`` non-periodic cell) predicts its E0 (eV)."""
    e0s = artifact.info["e0s"]["values_eV"]
    atoms = [Atoms(el, positions=[[box_A / 2] * 3], cell=[box_A] * 3, pbc=False) for el in artifact.elements if el in e0s]
    preds = get_backend(artifact.backend).predict(artifact, atoms)
    for a, p in zip(atoms, preds):
        el = a.get_chemical_symbols()[0]
        if abs(p["energy"] - e0s[el]) > atol:
            raise AssertionError(f"isolated {el} atom: {p['energy']!r} eV from the model, E0 = {e0s[el]!r} eV "
                                 f"(difference {p['energy'] - e0s[el]:.3g} eV > {atol:g})")
