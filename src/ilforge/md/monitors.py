"""Stability monitors of an MD run: each has ``check(step, atoms) -> None | Problem``.

The runner calls every monitor every ``check_every_steps`` steps and stops on the first
:class:`Problem`, saying which monitor fired and why. Monitors also keep statistics that go into
``run.json`` (``summary()``): counts of close contacts over time, frames saved for labelling.

- :class:`FiniteMonitor`: NaN/inf in positions, forces or energy.
- :class:`TemperatureMonitor`: instantaneous T above ``factor`` x target (a runaway).
- :class:`MinDistanceMonitor`: per element-pair minimum distances (e.g. Li-Li < 2.0 Å) and a
  floor for any pair; also counts pairs below ``count_contacts_A`` per check, over time.
- :class:`BondGraphMonitor`: a molecule's covalent bond graph differs from its species topology
  (a bond longer than ``break_factor`` x the covalent-radius sum, or atoms of two molecules
  closer than ``form_factor`` x that sum). Monatomic ions take no part.
- :class:`CommitteeSpreadMonitor`: max over atoms of the committee force standard deviation
  (the committee calculator's ``max_force_std``); frames above a threshold are appended to an
  extxyz for labelling.

:func:`energy_drift` gives the NVE drift of the total energy per ps per atom.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ilforge import keys
from ilforge.md.result import HIGH_SPREAD_FRAMES

log = logging.getLogger(__name__)


@dataclass
class Problem:
    """Why a run must stop: the monitor's name, the step and a message a user can act on."""

    monitor: str
    step: int
    message: str

    def __str__(self) -> str:
        return f"step {self.step}: {self.monitor}: {self.message}"


class Monitor:
    name = "monitor"

    def check(self, step: int, atoms) -> Problem | None:  # pragma: no cover - interface
        raise NotImplementedError

    def summary(self) -> dict:
        return {}


def _pair_key(a: str, b: str) -> tuple[str, str]:
    return tuple(sorted((a, b)))  # type: ignore[return-value]


def parse_pairs(spec: dict[str, float]) -> dict[tuple[str, str], float]:
    """{'Li-Li': 2.0} -> {('Li', 'Li'): 2.0}."""
    out = {}
    for k, v in spec.items():
        parts = k.split("-")
        if len(parts) != 2:
            from ilforge.errors import IlforgeError

            raise IlforgeError(f"pair {k!r}: write element pairs as 'A-B', e.g. 'Li-Li'")
        out[_pair_key(*parts)] = float(v)
    return out


class FiniteMonitor(Monitor):
    name = "nan"

    def check(self, step, atoms):
        calc = atoms.calc
        res = calc.results if calc is not None else {}
        bad = []
        if not np.all(np.isfinite(atoms.positions)):
            bad.append("positions")
        if "forces" in res and not np.all(np.isfinite(res["forces"])):
            bad.append("forces")
        if "energy" in res and not np.isfinite(res["energy"]):
            bad.append("energy")
        if bad:
            return Problem(self.name, step, f"non-finite {', '.join(bad)}: the potential failed (extrapolation far outside its training data?)")
        return None


class TemperatureMonitor(Monitor):
    name = "temperature"

    def __init__(self, target_K: float, factor: float = 2.0):
        self.target_K, self.factor = float(target_K), float(factor)
        self.max_seen_K = 0.0

    def check(self, step, atoms):
        T = atoms.get_temperature()
        self.max_seen_K = max(self.max_seen_K, float(T)) if np.isfinite(T) else self.max_seen_K
        if not np.isfinite(T) or T > self.factor * self.target_K:
            return Problem(self.name, step, f"temperature runaway: T = {T:.0f} K > {self.factor:g} x target {self.target_K:.0f} K; "
                           "the potential is releasing energy (unphysical forces); retrain with more data or a smaller time step")
        return None

    def summary(self):
        return {"max_temperature_K": self.max_seen_K}


_PAIR_CACHE: dict = {}


def _neighbor_pairs(atoms, cutoff: float):
    """i, j (i < j), d for all pairs closer than ``cutoff`` (minimum image).

    Orthorhombic periodic cells use scipy's periodic k-d tree; other cells ASE's neighbour list.
    The last result is cached (keyed on positions, cell and cutoff), so monitors checking the same
    frame share one neighbour search.
    """
    pos = atoms.positions
    cell = atoms.cell.array
    key = (hash(pos.tobytes()), hash(cell.tobytes()), len(pos))
    hit = _PAIR_CACHE.get("last")
    if hit is not None and hit[0] == key and hit[1] >= cutoff:
        i, j, d = hit[2]
        m = d < cutoff
        return i[m], j[m], d[m]
    ortho = np.allclose(cell, np.diag(np.diag(cell))) and all(atoms.pbc)
    L = np.diag(cell)
    if ortho and cutoff < 0.5 * L.min():
        from scipy.spatial import cKDTree

        x = pos - L * np.floor(pos / L)
        x[x >= L] -= L[np.nonzero(x >= L)[1]]  # guard against rounding to exactly L
        pairs = cKDTree(x, boxsize=L).query_pairs(cutoff, output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
        dv = x[j] - x[i]
        dv -= L * np.rint(dv / L)
        d = np.sqrt((dv * dv).sum(axis=1))
        swap = i > j
        i, j = np.where(swap, j, i), np.where(swap, i, j)
    else:
        from ase.neighborlist import neighbor_list

        i, j, d = neighbor_list("ijd", atoms, cutoff, self_interaction=False)
        keep = i < j
        i, j, d = i[keep], j[keep], d[keep]
    _PAIR_CACHE["last"] = (key, cutoff, (i, j, d))
    return i, j, d


class MinDistanceMonitor(Monitor):
    """Stops when a pair is closer than its threshold; counts contacts below ``count_A`` per check."""

    name = "min_distance"

    def __init__(self, min_distances_A: dict[str, float], min_any_A: float = 0.5, count_A: dict[str, float] | None = None):
        self.pairs = parse_pairs(min_distances_A)
        self.min_any_A = float(min_any_A)
        self.count_pairs = parse_pairs(count_A or {})
        self.cutoff = max([self.min_any_A, *self.pairs.values(), *self.count_pairs.values(), 0.1])
        self.counts: dict[str, list[tuple[int, int]]] = {f"{a}-{b}": [] for a, b in self.count_pairs}
        self.min_seen: dict[str, float] = {}

    def check(self, step, atoms):
        i, j, d = _neighbor_pairs(atoms, self.cutoff)
        sym = np.array(atoms.get_chemical_symbols())
        si, sj = sym[i], sym[j]
        for (a, b), thr in self.count_pairs.items():
            m = ((si == a) & (sj == b)) | ((si == b) & (sj == a))
            self.counts[f"{a}-{b}"].append((int(step), int(np.sum(d[m] < thr))))
        for (a, b), thr in self.pairs.items():
            m = (((si == a) & (sj == b)) | ((si == b) & (sj == a))) & (d < thr)
            if m.any():
                k = np.flatnonzero(m)[np.argmin(d[m])]
                return Problem(self.name, step, f"{a}-{b} distance {d[k]:.2f} Å (atoms {i[k]}, {j[k]}) below {thr:g} Å: "
                               "unphysical close contact; the potential lacks short-range repulsion for this pair")
        if len(d) and d.min() < self.min_any_A:
            k = int(np.argmin(d))
            return Problem(self.name, step, f"atoms {i[k]} ({si[k]}) and {j[k]} ({sj[k]}) at {d[k]:.2f} Å < {self.min_any_A:g} Å: atoms collapsed")
        return None

    def summary(self):
        out = {}
        for k, series in self.counts.items():
            c = np.array([n for _, n in series]) if series else np.zeros(0)
            out[k] = {"checks": len(c), "total_contacts": int(c.sum()), "checks_with_contact": int(np.sum(c > 0)),
                      "series": [list(s) for s in series]}
        return {"close_contacts": out}


def covalent_radii(numbers) -> np.ndarray:
    from ase.data import covalent_radii as cr

    return cr[np.asarray(numbers)]


class BondGraphMonitor(Monitor):
    """Compares the bond graph with the reference topology (bonds of each molecule at the start).

    The reference is the species topology (``Species.bonds``) when ``mol_species`` names a library
    species whose atom symbols match the molecule's atoms in order, otherwise the covalent bonds of
    the starting geometry (within ``1.2 x`` the covalent-radius sum).
    """

    name = "bond_graph"

    def __init__(self, atoms, break_factor: float = 1.5, form_factor: float = 1.1, library=None):
        from ilforge.keys import MOL_ID, MOL_SPECIES

        if MOL_ID not in atoms.arrays:
            raise ValueError("BondGraphMonitor needs the mol_id array")
        self.mol_id = atoms.arrays[MOL_ID].copy()
        self.break_factor, self.form_factor = break_factor, form_factor
        self.radii = covalent_radii(atoms.numbers)
        sizes = np.bincount(np.unique(self.mol_id, return_inverse=True)[1])
        self.active = sizes[np.unique(self.mol_id, return_inverse=True)[1]] > 1  # atoms of polyatomic molecules
        species = atoms.arrays.get(MOL_SPECIES)
        self.bonds = self._reference_bonds(atoms, species, library)
        self.source = "species topology" if self._from_species else "starting geometry"

    def _reference_bonds(self, atoms, species, library):
        self._from_species = False
        bonds = []
        if species is not None:
            try:
                if library is None:
                    from ilforge.chem.species import load_library

                    library = load_library()
                sym = np.array(atoms.get_chemical_symbols())
                ok = True
                for m in np.unique(self.mol_id):
                    idx = np.flatnonzero(self.mol_id == m)
                    sp = library.get(str(species[idx[0]]))
                    if tuple(sym[idx]) != tuple(sp.symbols):
                        ok = False
                        break
                    bonds.extend((int(idx[a]), int(idx[b])) for a, b in sp.bonds)
                if ok:
                    self._from_species = True
                    return np.array(sorted(bonds), dtype=int).reshape(-1, 2)
            except Exception as exc:  # noqa: BLE001 - unknown species: fall back to the geometry
                log.info("bond monitor: species topology unavailable (%s); using the starting geometry", exc)
        return self._geometry_bonds(atoms, 1.2)

    def _geometry_bonds(self, atoms, factor):
        cut = factor * 2 * self.radii.max()
        i, j, d = _neighbor_pairs(atoms, cut)
        m = (d < factor * (self.radii[i] + self.radii[j])) & (self.mol_id[i] == self.mol_id[j]) & self.active[i] & self.active[j]
        return np.stack([i[m], j[m]], axis=1)

    def check(self, step, atoms):
        from ase.geometry import find_mic

        b = self.bonds
        if len(b):
            dv = atoms.positions[b[:, 1]] - atoms.positions[b[:, 0]]
            _, d = find_mic(dv, atoms.cell, atoms.pbc)
            broken = d > self.break_factor * (self.radii[b[:, 0]] + self.radii[b[:, 1]])
            if broken.any():
                k = int(np.flatnonzero(broken)[0])
                i, j = b[k]
                sym = atoms.get_chemical_symbols()
                return Problem(self.name, step, f"bond {sym[i]}{i}-{sym[j]}{j} of molecule {self.mol_id[i]} broke ({d[k]:.2f} Å, "
                               f"reference: {self.source}); the molecule decomposed")
        cut = self.form_factor * 2 * (self.radii[self.active].max() if self.active.any() else 0.0)
        if cut <= 0:
            return None
        i, j, d = _neighbor_pairs(atoms, cut)
        m = (self.mol_id[i] != self.mol_id[j]) & self.active[i] & self.active[j] & (d < self.form_factor * (self.radii[i] + self.radii[j]))
        if m.any():
            k = int(np.flatnonzero(m)[0])
            sym = atoms.get_chemical_symbols()
            return Problem(self.name, step, f"new bond {sym[i[k]]}{i[k]}-{sym[j[k]]}{j[k]} between molecules {self.mol_id[i[k]]} and "
                           f"{self.mol_id[j[k]]} ({d[k]:.2f} Å); the topology changed (reaction or proton transfer)")
        return None

    def summary(self):
        return {"reference_bonds": int(len(self.bonds)), "reference": self.source}


class CommitteeSpreadMonitor(Monitor):
    """Max over atoms of |σ_F,i| = sqrt(Σ_k σ²_ik), σ_ik the standard deviation over committee members
    of force component k on atom i (eV/Å): the committee calculator's ``max_force_std`` (or computed
    from its ``forces_std``, (N, 3)). Frames above ``save_eV_A`` are appended to ``save_path``
    (extxyz); above ``stop_eV_A`` the run stops. Without a committee of two or more members (no
    spread in the calculator's results) the monitor does nothing."""

    name = "committee_spread"

    def __init__(self, save_eV_A: float | None, stop_eV_A: float | None = None, save_path=None):
        self.save_eV_A, self.stop_eV_A = save_eV_A, stop_eV_A
        self.save_path = Path(save_path) if save_path else None
        self.saved = 0
        self.max_seen = 0.0
        self.available = None

    @staticmethod
    def spread(atoms) -> float | None:
        res = atoms.calc.results if atoms.calc is not None else {}
        energies = res.get(keys.ENERGIES)
        if energies is not None and np.size(energies) < 2:
            return None  # a committee of one: no spread
        if res.get(keys.MAX_FORCE_STD) is not None:
            return float(res[keys.MAX_FORCE_STD])
        fstd = res.get(keys.FORCES_STD)
        if fstd is None or np.asarray(fstd).ndim != 2:
            return None
        return float(np.linalg.norm(np.asarray(fstd), axis=1).max())

    def check(self, step, atoms):
        s = self.spread(atoms)
        self.available = s is not None
        if s is None:
            return None
        self.max_seen = max(self.max_seen, s)
        if self.save_eV_A is not None and s > self.save_eV_A and self.save_path is not None:
            from ase.io import write

            a = atoms.copy()
            a.calc = None
            a.info.update({"md_step": int(step), "committee_force_spread_eV_A": s})
            write(self.save_path, a, format="extxyz", append=True)
            self.saved += 1
        if self.stop_eV_A is not None and s > self.stop_eV_A:
            return Problem(self.name, step, f"committee force spread {s:.2f} eV/Å > {self.stop_eV_A:g} eV/Å: the models disagree "
                           f"(extrapolation); {self.saved} frames saved to {self.save_path} for labelling")
        return None

    def summary(self):
        return {"committee": bool(self.available), "max_force_spread_eV_A": self.max_seen, "frames_saved": self.saved,
                "saved_to": str(self.save_path) if self.saved else None}


def energy_drift(time_ps, total_energy_eV, n_atoms: int) -> float:
    """NVE drift: slope of a least-squares line through E_tot(t), in eV / ps / atom."""
    t = np.asarray(time_ps, dtype=float)
    e = np.asarray(total_energy_eV, dtype=float)
    if len(t) < 2:
        return float("nan")
    return float(np.polyfit(t, e, 1)[0] / n_atoms)


def default_monitors(settings, atoms, target_K: float | None, outdir=None) -> list[Monitor]:
    """The monitors that ``MonitorSettings`` asks for."""
    from ilforge.keys import MOL_ID

    mons: list[Monitor] = [FiniteMonitor()]
    if target_K:
        mons.append(TemperatureMonitor(target_K, settings.temperature_factor))
    mons.append(MinDistanceMonitor(settings.min_distances_A, settings.min_distance_any_A, settings.count_contacts_A))
    if settings.bonds and MOL_ID in atoms.arrays:
        mons.append(BondGraphMonitor(atoms, settings.bond_break_factor, settings.bond_form_factor))
    if settings.force_spread_eV_A is not None or settings.force_spread_stop_eV_A is not None:
        save = Path(outdir) / HIGH_SPREAD_FRAMES if outdir else None
        mons.append(CommitteeSpreadMonitor(settings.force_spread_eV_A, settings.force_spread_stop_eV_A, save))
    return mons
