"""Deployment: ``ilforge export MODEL_DIR --lammps DIR`` writes what LAMMPS needs to run a trained model.

LAMMPS ``units metal``: Å, eV, ps, bar, K. The directory holds the model file(s), ``box.data`` (a
LAMMPS data file, ``atom_style atomic``, types in the model's element order, masses in amu) and
``in.lammps``: the setup (:func:`setup_commands`: units, box, ``pair_style``/``pair_coeff``) and an NPT
block (``fix npt``, Nosé–Hoover with damping 100 timesteps for T and 1000 for P, isotropic), thermo
output every 100 steps and a trajectory dump.

Each backend supplies its files and pair style: a ``lammps_files(committee, out_dir, elements)`` hook on
its class, or the function of that name in ``ilforge.models.<backend>_export``, returning
``(pair_style, pair_coeff, files, notes)``. The deepmd hook copies the frozen ``model.pb`` (a committee:
``model_<k>.pb``, all given to ``pair_style deepmd``, which writes the force deviation to
``model_devi.out``); LAMMPS's energy is then the model's without ilforge's per-element reference
energies, E_ilforge = E_LAMMPS + Σ_i E0[Z_i] (the constant is written in ``in.lammps`` and ``export.json``).

The box is the model's first training frame, or the first frame of an extxyz file (``box``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ase import Atoms

from ilforge.errors import IlforgeError
from ilforge.jsonio import write_json_atomic, write_text_atomic
from ilforge.models.committee import Committee
from ilforge.models.data import read_frames_file
from ilforge.models.registry import backend_class, get_backend
from ilforge.units import FS_TO_PS

log = logging.getLogger(__name__)

DATA_FILE = "box.data"
INPUT_FILE = "in.lammps"
EXPORT_JSON = "export.json"


@dataclass
class LammpsExport:
    """An exported model: ``directory``, the ``files`` written, the ``pair_style`` line, the element
    order of the LAMMPS types and ``e0_offset_eV`` = Σ_i E0[Z_i] of the box (eV) that LAMMPS leaves out."""

    directory: Path
    backend: str
    pair_style: str
    pair_coeff: str
    elements: list[str]
    e0_offset_eV: float
    files: list[str] = field(default_factory=list)
    pre_box: list[str] = field(default_factory=list)

    def setup_commands(self) -> list[str]:
        return setup_commands(self.pair_style, self.pair_coeff, pre_box=self.pre_box)


def setup_commands(pair_style: str, pair_coeff: str, data_file: str = DATA_FILE, pre_box=()) -> list[str]:
    """LAMMPS commands up to the force field: metal units, ``pre_box`` (settings a pair style needs before
    the box exists, e.g. ``newton off`` for pair_nequip), periodic box from ``data_file``, the pair style."""
    return ["units metal", "boundary p p p", "atom_style atomic", "atom_modify map yes", *pre_box, f"read_data {data_file}",
            f"pair_style {pair_style}", f"pair_coeff {pair_coeff}"]


def npt_block(temperature_K: float, pressure_bar: float, timestep_fs: float, steps: int, seed: int) -> list[str]:
    """Velocities at T, Nosé–Hoover NPT (T damping 100 dt, P damping 1000 dt, isotropic), thermo and a dump."""
    dt_ps = timestep_fs * FS_TO_PS
    return [f"velocity all create {temperature_K:g} {seed} dist gaussian", f"timestep {dt_ps:g}",
            "thermo_style custom step time temp pe etotal press vol density", "thermo 100",
            f"fix npt all npt temp {temperature_K:g} {temperature_K:g} {100 * dt_ps:g} iso {pressure_bar:g} {pressure_bar:g} {1000 * dt_ps:g}",
            "dump traj all custom 1000 traj.lammpstrj id type x y z", f"run {steps}"]


def _box(model: Committee, box: str | Path | None) -> Atoms:
    if box is not None:
        return read_frames_file(box)[0]
    try:
        train, _ = get_backend(model.backend).training_frames(model.members[0])
    except (NotImplementedError, IlforgeError) as exc:
        raise IlforgeError(f"{model.directory}: no training frames kept to take a box from ({exc}); give one with `--box FILE`") from None
    return train[0]


def _write_data(atoms: Atoms, path: Path, elements: list[str]) -> None:
    import ase.io

    missing = sorted(set(atoms.get_chemical_symbols()) - set(elements))
    if missing:
        raise IlforgeError(f"the box holds elements {missing} the model was not trained on ({elements}); give another `--box`")
    if not atoms.pbc.all():
        raise IlforgeError("the box for LAMMPS must be periodic (pbc T T T with a cell); give another `--box`")
    a = atoms.copy()
    a.calc = None
    ase.io.write(path, a, format="lammps-data", specorder=elements, masses=True, units="metal", atom_style="atomic")


def _writer(backend: str):
    """The backend's ``lammps_files`` hook (its class, else ``ilforge.models.<backend>_export``), or None."""
    import importlib

    hook = getattr(backend_class(backend), "lammps_files", None)
    if hook is None:
        try:
            hook = getattr(importlib.import_module(f"ilforge.models.{backend}_export"), "lammps_files", None)
        except ModuleNotFoundError:
            return None
    return hook


def _input_text(exp: LammpsExport, notes: list[str], npt: list[str]) -> str:
    head = [f"# ilforge export of a {exp.backend} model: LAMMPS units metal (Å, eV, ps, bar, K); run with `lmp -in {INPUT_FILE}`",
            f"# LAMMPS types 1..{len(exp.elements)} = {' '.join(exp.elements)}"]
    if exp.e0_offset_eV:
        head.append(f"# energies exclude ilforge's per-element reference energies: E_ilforge = pe + {exp.e0_offset_eV!r} eV for this box")
    return "\n".join(head + [f"# {n}" for n in notes] + exp.setup_commands() + npt) + "\n"


def export_lammps(model_dir: str | Path, out_dir: str | Path, box: str | Path | None = None, temperature_K: float = 300.0,
                  pressure_bar: float = 1.0, timestep_fs: float = 0.5, steps: int = 10000, seed: int = 12345) -> LammpsExport:
    """Write the LAMMPS files of the model (or committee) in ``model_dir`` into ``out_dir`` (module docstring)."""
    model = Committee.load(model_dir)
    writer = _writer(model.backend)
    if writer is None:
        raise IlforgeError(f"{model_dir}: export to LAMMPS is not available for backend {model.backend!r} yet (docs/backends.md)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    elements = model.elements
    atoms = _box(model, box)
    style, coeff, files, notes = writer(model, out, elements)  # first: a backend without a LAMMPS path refuses here
    _write_data(atoms, out / DATA_FILE, elements)
    e0s = model.members[0].info.get("e0s", {}).get("values_eV", {}) if getattr(writer, "excludes_e0s", False) else {}
    offset = float(sum(e0s.get(s, 0.0) for s in atoms.get_chemical_symbols()))
    exp = LammpsExport(out, model.backend, style, coeff, elements, offset, [*files, DATA_FILE, INPUT_FILE, EXPORT_JSON],
                       list(getattr(writer, "pre_pair_commands", [])))
    write_text_atomic(out / INPUT_FILE, _input_text(exp, notes, npt_block(temperature_K, pressure_bar, timestep_fs, steps, seed)))
    write_json_atomic(out / EXPORT_JSON, {"model_dir": str(Path(model_dir).resolve()), "backend": exp.backend, "pair_style": style,
                                          "pair_coeff": coeff, "elements": elements, "e0_offset_eV": offset, "files": exp.files,
                                          "n_atoms": len(atoms)}, indent=2)
    log.info("exported %s model %s for LAMMPS to %s", model.backend, model_dir, out)
    return exp
