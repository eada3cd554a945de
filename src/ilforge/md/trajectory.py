"""Trajectories: the in-memory :class:`Trajectory` and its H5MD file format (via h5py).

H5MD (de Buyl, Colberg, Höfling, Comput. Phys. Commun. 185, 1546 (2014); h5md.nongnu.org) layout
written here, readable by MDAnalysis' ``H5MDReader``::

    /h5md                      attrs version=[1, 1]; groups author, creator
    /particles/all/position    step (F,), time (F,) [ps], value (F, N, 3) [Angstrom], unwrapped
    /particles/all/box         attrs dimension=3, boundary=periodic
    /particles/all/box/edges   step, time, value (F, 3, 3) [Angstrom] cell vectors as rows
    /particles/all/species     (N,) atomic numbers (time independent)
    /particles/all/mass        (N,) amu
    /particles/all/mol_id      (N,) molecule index (0-based)
    /particles/all/mol_species (N,) species name of that molecule (UTF-8)
    /observables/<name>        step, time [ps], value (F,): potential_energy [eV],
                               kinetic_energy [eV], temperature [K], volume [Angstrom^3],
                               pressure [bar] (virial + kinetic; NaN when the calculator gave no stress)

Positions are *unwrapped*: ASE integrators never wrap atoms, so a molecule stays whole and a
diffusing atom's coordinate grows without bound (what MSDs need). Writes are buffered and flushed
every ``flush_every`` frames so that writing costs little next to the force evaluation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ilforge.errors import IlforgeError
from ilforge.units import density_g_cm3

H5MD_VERSION = (1, 1)
OBSERVABLES = ("potential_energy", "kinetic_energy", "temperature", "volume", "pressure")
_OBS_UNITS = {"potential_energy": "eV", "kinetic_energy": "eV", "temperature": "K", "volume": "Angstrom^3", "pressure": "bar"}


class TrajectoryError(IlforgeError):
    """A trajectory file is missing, unreadable or inconsistent."""


@dataclass
class Trajectory:
    """Frames of one MD run, in memory.

    positions: (F, N, 3) float, Å, unwrapped.  cells: (F, 3, 3) float, Å, rows are cell vectors.
    time_ps: (F,) float.  step: (F,) int.  numbers: (N,) atomic numbers.  masses: (N,) amu.
    mol_id: (N,) int or None.  mol_species: (N,) str or None.
    observables: name -> (F,) float (potential_energy eV, kinetic_energy eV, temperature K, ...).
    """

    positions: np.ndarray
    cells: np.ndarray
    time_ps: np.ndarray
    numbers: np.ndarray
    masses: np.ndarray
    step: np.ndarray | None = None
    mol_id: np.ndarray | None = None
    mol_species: np.ndarray | None = None
    observables: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.positions = np.asarray(self.positions, dtype=float)
        F, N = self.positions.shape[:2]
        cells = np.asarray(self.cells, dtype=float)
        if cells.ndim == 2:  # one cell for all frames
            cells = np.broadcast_to(cells, (F, 3, 3)).copy()
        self.cells = cells
        self.time_ps = np.asarray(self.time_ps, dtype=float)
        self.numbers = np.asarray(self.numbers, dtype=int)
        self.masses = np.asarray(self.masses, dtype=float)
        if self.step is None:
            self.step = np.arange(F)
        if self.cells.shape != (F, 3, 3) or self.time_ps.shape != (F,) or self.numbers.shape != (N,):
            raise TrajectoryError(
                f"inconsistent trajectory shapes: positions {self.positions.shape}, cells {self.cells.shape}, "
                f"time {self.time_ps.shape}, numbers {self.numbers.shape}"
            )
        if self.mol_id is not None:
            self.mol_id = np.asarray(self.mol_id, dtype=int)
        if self.mol_species is not None:
            self.mol_species = np.asarray(self.mol_species).astype(str)

    # ------------------------------------------------------------------ views
    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.positions.shape[1]

    @property
    def symbols(self) -> np.ndarray:
        from ase.data import chemical_symbols

        return np.array([chemical_symbols[z] for z in self.numbers])

    @property
    def volumes_A3(self) -> np.ndarray:
        """(F,) cell volumes in Å³ (|det cell|)."""
        return np.abs(np.linalg.det(self.cells))

    @property
    def densities_g_cm3(self) -> np.ndarray:
        """(F,) mass densities ρ = Σm / V in g/cm³."""
        return density_g_cm3(self.masses.sum(), self.volumes_A3)

    @property
    def timestep_ps(self) -> float:
        """Time between saved frames in ps (frames must be evenly spaced)."""
        if self.n_frames < 2:
            raise TrajectoryError("a trajectory with fewer than 2 frames has no time step")
        dt = np.diff(self.time_ps)
        if not np.allclose(dt, dt[0], rtol=1e-6, atol=1e-9):
            raise TrajectoryError("frames are not evenly spaced in time; analyses of time correlations need a fixed save interval")
        return float(dt[0])

    def slice(self, start: int | None = None, stop: int | None = None, step: int | None = None) -> "Trajectory":
        s = slice(start, stop, step)
        return Trajectory(
            positions=self.positions[s], cells=self.cells[s], time_ps=self.time_ps[s], numbers=self.numbers,
            masses=self.masses, step=self.step[s], mol_id=self.mol_id, mol_species=self.mol_species,
            observables={k: v[s] for k, v in self.observables.items()}, metadata=dict(self.metadata),
        )

    def select(self, symbols=None, mol_species=None) -> np.ndarray:
        """Atom indices with the given element symbols and/or molecule species (None: any)."""
        mask = np.ones(self.n_atoms, bool)
        if symbols is not None:
            mask &= np.isin(self.symbols, np.atleast_1d(symbols))
        if mol_species is not None:
            if self.mol_species is None:
                raise TrajectoryError("this trajectory has no mol_species array; select by element symbols instead")
            mask &= np.isin(self.mol_species, np.atleast_1d(mol_species))
        return np.flatnonzero(mask)

    def atoms(self, i: int):
        """Frame ``i`` as an :class:`ase.Atoms` (with mol_id / mol_species arrays when present)."""
        from ase import Atoms

        from ilforge.keys import MOL_ID, MOL_SPECIES

        a = Atoms(numbers=self.numbers, positions=self.positions[i], cell=self.cells[i], pbc=True, masses=self.masses)
        if self.mol_id is not None:
            a.arrays[MOL_ID] = self.mol_id.copy()
        if self.mol_species is not None:
            a.arrays[MOL_SPECIES] = self.mol_species.copy()
        return a

    @classmethod
    def from_atoms(cls, frames, dt_ps: float = 1.0) -> "Trajectory":
        """Build from a list of :class:`ase.Atoms` (positions taken as they are, i.e. unwrapped if they are)."""
        from ilforge.keys import MOL_ID, MOL_SPECIES

        first = frames[0]
        return cls(
            positions=np.array([a.positions for a in frames]),
            cells=np.array([a.cell.array for a in frames]),
            time_ps=np.arange(len(frames)) * dt_ps,
            numbers=first.numbers,
            masses=first.get_masses(),
            mol_id=first.arrays.get(MOL_ID),
            mol_species=first.arrays.get(MOL_SPECIES),
        )


# ---------------------------------------------------------------------------- writer
_GROUPS = ("particles/all/position", "particles/all/box/edges") + tuple(f"observables/{n}" for n in OBSERVABLES)


def _open_h5(path: Path, mode: str):
    """``h5py.File(path, mode)``, an unreadable file (truncated, not HDF5) as a :class:`TrajectoryError`
    that names the file and the fix."""
    import h5py

    try:
        return h5py.File(path, mode)
    except OSError as exc:
        raise TrajectoryError(
            f"trajectory {path} is corrupt or truncated ({exc}); it cannot be read. If the run was killed while "
            f"writing it, delete {path.parent}'s checkpoint and .h5 files (or run `ilforge md --no-restart`) to start "
            "this state point over") from None


class H5MDWriter:
    """Append frames to an H5MD file, buffering ``flush_every`` frames in memory.

    >>> with H5MDWriter(path, atoms) as w:
    ...     w.append(step, time_ps, atoms.positions, atoms.cell, potential_energy=e, kinetic_energy=k)

    ``append`` copies the positions (unwrapped), cell and observables. The file is open only while
    frames are written (``flush``), so a process killed between two flushes leaves a complete, readable
    file with every flushed frame. ``mode="a"`` appends to an existing file (a resumed run), after
    :meth:`truncate_to` (frame count recorded in the checkpoint) or :meth:`truncate_after` (a step).
    """

    def __init__(self, path, atoms, flush_every: int = 100, metadata: dict | None = None, mode: str = "w"):
        from ilforge.keys import MOL_ID, MOL_SPECIES

        self.path = Path(path)
        self.flush_every = int(flush_every)
        self._buf: list[tuple] = []
        self.n_atoms = len(atoms)
        self.closed = False
        if self.path.exists() and mode == "a":
            with _open_h5(self.path, "r") as f:
                try:
                    n = f["particles/all/position/value"].shape[1]
                except KeyError:
                    raise TrajectoryError(f"{self.path} is not an H5MD trajectory written by ilforge; delete it or use a "
                                          "new output directory") from None
            if n != self.n_atoms:
                raise TrajectoryError(f"{self.path} holds {n} atoms, the system has {self.n_atoms}; use a new output directory")
        else:
            with _open_h5(self.path, "w") as f:
                self._create(f, atoms, atoms.arrays.get(MOL_ID), atoms.arrays.get(MOL_SPECIES), metadata or {})

    def _create(self, f, atoms, mol_id, mol_species, metadata):
        import h5py

        from ilforge import __version__

        h = f.create_group("h5md")
        h.attrs["version"] = np.array(H5MD_VERSION)
        h.create_group("author").attrs["name"] = "ilforge"
        c = h.create_group("creator")
        c.attrs["name"] = "ilforge"
        c.attrs["version"] = __version__
        p = f.create_group("particles/all")
        N = self.n_atoms
        chunk = max(1, min(self.flush_every, max(1, 2**20 // (N * 24))))
        pos = p.create_group("position")
        self._timeseries(pos, (N, 3), chunk, "Angstrom")
        box = p.create_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = np.array([b"periodic"] * 3)
        self._timeseries(box.create_group("edges"), (3, 3), max(chunk, 64), "Angstrom")
        p.create_dataset("species", data=atoms.numbers.astype(np.int32))
        p.create_dataset("mass", data=atoms.get_masses()).attrs["unit"] = "amu"
        if mol_id is not None:
            p.create_dataset("mol_id", data=np.asarray(mol_id, dtype=np.int64))
        if mol_species is not None:
            p.create_dataset("mol_species", data=np.asarray(mol_species).astype(str).astype(object), dtype=h5py.string_dtype())
        obs = f.create_group("observables")
        for name in OBSERVABLES:
            self._timeseries(obs.create_group(name), (), max(chunk, 256), _OBS_UNITS[name])
        f.create_group("parameters").attrs["ilforge_metadata"] = json.dumps(metadata)

    @staticmethod
    def _timeseries(g, shape, chunk, unit):
        g.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(max(chunk, 256),))
        t = g.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(max(chunk, 256),))
        t.attrs["unit"] = "ps"
        v = g.create_dataset("value", shape=(0, *shape), maxshape=(None, *shape), dtype=np.float64, chunks=(chunk, *shape))
        v.attrs["unit"] = unit

    def append(self, step: int, time_ps: float, positions, cell, potential_energy=np.nan, kinetic_energy=np.nan,
               temperature=np.nan, pressure_bar=np.nan) -> None:
        """Buffer one frame (copies the arrays); flushes when the buffer is full."""
        cell = np.array(cell, dtype=float)
        self._buf.append((int(step), float(time_ps), np.array(positions, dtype=float), cell,
                          (float(potential_energy), float(kinetic_energy), float(temperature), abs(float(np.linalg.det(cell))),
                           float(pressure_bar))))
        if len(self._buf) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the buffered frames (open, extend, close)."""
        if not self._buf:
            return
        steps = np.array([b[0] for b in self._buf])
        times = np.array([b[1] for b in self._buf])
        with _open_h5(self.path, "a") as f:
            self._extend(f, "particles/all/position", steps, times, np.stack([b[2] for b in self._buf]))
            self._extend(f, "particles/all/box/edges", steps, times, np.stack([b[3] for b in self._buf]))
            obs = np.array([b[4] for b in self._buf])
            for k, name in enumerate(OBSERVABLES):
                self._extend(f, f"observables/{name}", steps, times, obs[:, k])
        self._buf.clear()

    @staticmethod
    def _extend(f, path, steps, times, values):
        g = f[path]
        n0 = g["step"].shape[0]
        n1 = n0 + len(steps)
        for name, data in (("step", steps), ("time", times), ("value", values)):
            ds = g[name]
            ds.resize(n1, axis=0)
            ds[n0:n1] = data

    def n_frames(self) -> int:
        """Frames in the file plus those buffered."""
        with _open_h5(self.path, "r") as f:
            return int(f["particles/all/position/step"].shape[0]) + len(self._buf)

    def last_step(self) -> int | None:
        self.flush()
        with _open_h5(self.path, "r") as f:
            s = f["particles/all/position/step"]
            return int(s[-1]) if s.shape[0] else None

    def truncate_to(self, n_frames: int) -> None:
        """Keep the first ``n_frames`` frames (the count a checkpoint recorded); fewer in the file is
        a :class:`TrajectoryError` (frames the checkpoint counted on are gone)."""
        self.flush()
        with _open_h5(self.path, "a") as f:
            for path in _GROUPS:
                g = f[path]
                have = min(g[name].shape[0] for name in ("step", "time", "value"))
                if have < n_frames:
                    raise TrajectoryError(
                        f"{self.path} has {have} frames in {path}, the checkpoint recorded {n_frames}: the trajectory was "
                        f"cut or replaced. Delete {self.path.parent}'s checkpoint and .h5 files (or run `ilforge md "
                        "--no-restart`) to start this state point over")
                for name in ("step", "time", "value"):
                    g[name].resize(n_frames, axis=0)

    def truncate_after(self, step: int) -> None:
        """Drop every frame with a step number greater than ``step``."""
        self.flush()
        with _open_h5(self.path, "a") as f:
            for path in _GROUPS:
                g = f[path]
                keep = int(np.searchsorted(g["step"][:], step, side="right"))
                for name in ("step", "time", "value"):
                    g[name].resize(keep, axis=0)

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------- reader
def read_h5md(path, start: int | None = None, stop: int | None = None, step: int | None = None) -> Trajectory:
    """Read an H5MD file written by :class:`H5MDWriter` (or any H5MD file with position, box/edges).

    A missing, truncated or corrupt file, or one whose datasets disagree in length, is a
    :class:`TrajectoryError` naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise TrajectoryError(f"trajectory {path} not found; run `ilforge md` first or check the path")
    with _open_h5(path, "r") as f:
        try:
            return _read_open(f, path, slice(start, stop, step))
        except KeyError as exc:
            raise TrajectoryError(f"{path} is not an H5MD trajectory with particles/all/position and box/edges ({exc})") from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise TrajectoryError(f"trajectory {path} is corrupt or truncated ({exc}); delete it and rerun the MD that wrote it "
                                  "(`ilforge md --no-restart`)") from None


def _read_open(f, path: Path, s: slice) -> Trajectory:
    import h5py

    p = f["particles/all"]
    pos = p["position/value"][s]
    time = p["position/time"][s]
    steps = p["position/step"][s]
    edges = p["box/edges/value"][s]
    numbers = p["species"][:] if "species" in p else np.zeros(pos.shape[1], int)
    if edges.ndim == 2:  # orthorhombic edges (F, 3)
        edges = np.array([np.diag(e) for e in edges])
    if "mass" in p:
        masses = p["mass"][:]
    else:
        from ase.data import atomic_masses

        masses = atomic_masses[numbers]
    mol_id = p["mol_id"][:] if "mol_id" in p else None
    mol_species = np.array([x.decode() if isinstance(x, bytes) else x for x in p["mol_species"][:]]) if "mol_species" in p else None
    observables = {}
    if "observables" in f:
        for name, g in f["observables"].items():
            if isinstance(g, h5py.Group) and "value" in g and g["value"].shape[0] == f["particles/all/position/value"].shape[0]:
                observables[name] = g["value"][s]
    meta = {}
    if "parameters" in f and "ilforge_metadata" in f["parameters"].attrs:
        meta = json.loads(f["parameters"].attrs["ilforge_metadata"])
    if not (len(time) == len(steps) == len(pos) == len(edges)):
        raise TrajectoryError(f"trajectory {path}: positions, times, steps and cells have different frame counts "
                              f"({len(pos)}, {len(time)}, {len(steps)}, {len(edges)}); the file was cut while being written. "
                              "Delete it and rerun the MD that wrote it (`ilforge md --no-restart`)")
    return Trajectory(positions=pos, cells=edges, time_ps=time, numbers=numbers, masses=masses, step=steps,
                      mol_id=mol_id, mol_species=mol_species, observables=observables, metadata=meta)
