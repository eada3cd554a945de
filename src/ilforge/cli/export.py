"""``ilforge export MODEL_DIR --lammps DIR``: a trained model with a ready-to-run LAMMPS input."""

from __future__ import annotations

from ilforge.cli._args import positive_int

VERB = "export"
HELP = "write a trained model's LAMMPS files (model, box data file, in.lammps with NPT)"
ORDER = 58


def register(parser):
    parser.add_argument("model_dir", help="trained model directory (models/NAME; a committee exports every member)")
    parser.add_argument("--lammps", required=True, metavar="DIR", help="directory to write the LAMMPS files into")
    parser.add_argument("--box", help="extxyz file whose first frame is the box (default: the model's first training frame)")
    parser.add_argument("--temperature-K", type=float, default=300.0, help="NPT temperature, K (default 300)")
    parser.add_argument("--pressure-bar", type=float, default=1.0, help="NPT pressure, bar (default 1)")
    parser.add_argument("--timestep-fs", type=float, default=0.5, help="timestep, fs (default 0.5)")
    parser.add_argument("--steps", type=positive_int, default=10000, help="NPT steps (default 10000)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ilforge.models.export import export_lammps

    exp = export_lammps(args.model_dir, args.lammps, box=args.box, temperature_K=args.temperature_K,
                        pressure_bar=args.pressure_bar, timestep_fs=args.timestep_fs, steps=args.steps)
    print(f"exported the {exp.backend} model to {exp.directory}: {', '.join(exp.files)}")
    print(f"run it with: cd {exp.directory} && lmp -in in.lammps  (pair_style {exp.pair_style})")
    if exp.e0_offset_eV:
        print(f"LAMMPS energies exclude the reference energies: add {exp.e0_offset_eV:.6f} eV for this box")
    return 0
