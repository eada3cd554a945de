"""The calculator of an MD state point, described by a JSON-able dict (it travels in ``task.json``).

The MD runner accepts any ASE calculator; a state-point task names its calculator by a dict so
that it can be built in whichever process (or Python environment) runs the task:

- ``{"kind": "model", ...}``: a trained model or committee, built by the models package
  (:class:`ilforge.models.committee.ModelCalculatorFactory`, from
  ``Committee.load(model_dir).calculator_factory(device, dtype).to_dict()``);
- ``{"kind": "named", "name": "emt" | "lj"}``: an ASE test/demo calculator (:class:`NamedCalculator`).

No backend-specific code lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ilforge.errors import IlforgeError

MODEL = "model"
NAMED = "named"
NAMES = ("emt", "lj")


@dataclass(frozen=True)
class NamedCalculator:
    """An ASE calculator by name, for tests and demos (picklable; calling it builds the calculator).

    ``emt``: ASE's effective-medium theory (Al, Cu, Ag, Au, Ni, Pd, Pt; H, C, N, O as in ASE).
    ``lj``: Lennard-Jones U(r) = 4ε[(σ/r)¹² − (σ/r)⁶], σ = 2.5 Å, ε = 0.01 eV, smoothly cut to
    zero between 0.66 rc and rc = 7 Å (ASE ``LennardJones(smooth=True)``), with stress.
    """

    name: str

    def __post_init__(self):
        if self.name not in NAMES:
            raise IlforgeError(f"calculator {self.name!r}: the named calculators are {', '.join(NAMES)}")

    def __call__(self):
        if self.name == "emt":
            from ase.calculators.emt import EMT

            return EMT()
        from ase.calculators.lj import LennardJones

        return LennardJones(sigma=2.5, epsilon=0.01, rc=7.0, smooth=True)

    def to_dict(self) -> dict:
        return {"kind": NAMED, "name": self.name}

    def check(self, atoms, where: str = "the structure") -> None:
        """Refuse elements the calculator has no parameters for (EMT), before any work starts."""
        if self.name != "emt":
            return
        from ase.calculators.emt import parameters

        missing = sorted(set(atoms.get_chemical_symbols()) - set(parameters))
        if missing:
            raise IlforgeError(f"EMT has no parameters for element(s) {', '.join(missing)} in {where} (it covers "
                               f"{', '.join(sorted(parameters))}); choose another model: --model lj or a trained model")


def check_calculator(d: dict, atoms, where: str = "the structure") -> None:
    """Refuse a named calculator that cannot handle ``atoms`` (see :meth:`NamedCalculator.check`)."""
    if d.get("kind") == NAMED:
        NamedCalculator(d["name"]).check(atoms, where)


def calculator_identity(d: dict) -> dict:
    """What makes the calculator of ``d`` what it is, for deciding whether a saved MD run may be resumed:
    the description itself and, for a model, the SHA-256 of each model file (retraining into the same
    directory changes the model, not its path)."""
    import hashlib
    from pathlib import Path

    out = {"description": d}
    if d.get("kind") == MODEL:
        from ilforge.models.artifact import ModelArtifact

        files = [Path(m) if Path(m).is_file() else ModelArtifact.load(m).model_file for m in d.get("model_dirs", [])]
        out["model_sha256"] = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    return out


def calculator_from_dict(d: dict):
    """A new ASE calculator from its description (see the module docstring)."""
    kind = d.get("kind")
    if kind == NAMED:
        return NamedCalculator(d["name"])()
    if kind == MODEL:
        from ilforge.models.committee import ModelCalculatorFactory

        return ModelCalculatorFactory.from_dict(d)()
    raise IlforgeError(f"calculator description {d!r}: 'kind' must be {MODEL!r} or {NAMED!r}")
