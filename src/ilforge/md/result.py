"""What an MD run directory holds, and its typed record ``run.json`` (:class:`MDResult`).

A run directory (``Project.md_run(composition, state)`` in a project, any folder otherwise)
belongs to the MD runner; the names inside it are defined here and nowhere else::

    task.json            the state-point task (settings, state point, calculator, seed)
    start.extxyz         the starting structure of the task
    equilibration.h5     H5MD frames of the schedule and equilibration
    production.h5        H5MD frames of the production
    checkpoint.npz       last checkpoint (positions, momenta, cell, integrator state, frame counts)
    progress.json        progress of the run (steps, ns/day, latest monitor values; ilforge.progress)
    high_spread_frames.extxyz  frames where the committee disagreed (for labelling)
    run.json             the outcome (:class:`MDResult`), written last

Read ``run.json`` through :meth:`MDResult.load`, never by string key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ilforge.errors import CorruptFileError
from ilforge.jsonio import write_json_atomic

RUN_JSON = "run.json"
CHECKPOINT = "checkpoint.npz"
PROGRESS = "progress.json"
PRODUCTION = "production.h5"
EQUILIBRATION = "equilibration.h5"
START = "start.extxyz"
HIGH_SPREAD_FRAMES = "high_spread_frames.extxyz"
INPUTS_JSON = "inputs.json"  # the identity of the run (task, start structure, model files): resume only when unchanged

COMPLETED = "completed"
STOPPED = "stopped"


@dataclass
class MDResult:
    """Outcome of one state point: ``status`` is ``completed`` or ``stopped`` (then ``problem`` says why).

    ``state``: {temperature_K (K), pressure_bar (bar or None)}; ``wall_s`` seconds of this call;
    ``atom_steps_per_s`` = N_atoms x steps run / wall_s; ``monitors``: each monitor's summary;
    ``nve_drift_eV_ps_atom``: slope of E_tot(t) in NVE (eV/ps/atom); ``settings``: the MD settings.
    """

    outdir: str
    state: dict
    status: str
    steps_done: int
    steps_total: int
    problem: str | None = None
    production: str | None = None
    wall_s: float = 0.0
    atom_steps_per_s: float = 0.0
    monitors: dict = field(default_factory=dict)
    nve_drift_eV_ps_atom: float | None = None
    settings: dict = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED

    @property
    def temperature_K(self) -> float:
        return float(self.state["temperature_K"])

    @property
    def pressure_bar(self) -> float | None:
        p = self.state.get("pressure_bar")
        return None if p is None else float(p)

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, run_dir: str | Path | None = None) -> Path:
        """Write ``run.json`` (atomically) in ``run_dir`` (default ``outdir``)."""
        return write_json_atomic(Path(run_dir or self.outdir) / RUN_JSON, self.to_dict())

    @classmethod
    def from_dict(cls, doc: dict) -> "MDResult":
        return cls(**{k: doc[k] for k in cls.__dataclass_fields__ if k in doc})

    @classmethod
    def load(cls, run_dir: str | Path) -> "MDResult | None":
        """The record of the run in ``run_dir``, or None when it has none (never run, or interrupted)."""
        path = Path(run_dir) / RUN_JSON
        if not path.is_file():
            return None
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CorruptFileError(f"MD run record {path} is unreadable ({exc}); delete it to rerun the state point "
                                   "(it resumes from its checkpoint)") from None
