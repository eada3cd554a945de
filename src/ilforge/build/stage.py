"""The ``build`` stage: a packed box per composition and temperature of the recipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ilforge import keys
from ilforge.build.box import build_boxes, min_intermolecular_distance
from ilforge.progress import Progress
from ilforge.project import Project, writes_project
from ilforge.units import density_g_cm3


@dataclass
class BoxInfo:
    """One packed box: its file, size, net charge (e), density (g/cm³) against its target, and the
    closest approach of atoms of different molecules (Å)."""

    path: Path
    n_atoms: int
    net_charge_e: int
    density_g_cm3: float
    target_density_g_cm3: float
    density_source: str
    min_intermolecular_A: float


@dataclass
class BuildResult:
    boxes: list[BoxInfo] = field(default_factory=list)

    def summary(self) -> dict:
        return {"boxes": [b.path.name for b in self.boxes]}


def _box_info(path: Path, charges: dict[str, int]) -> BoxInfo:
    from ase.io import read

    a = read(path)
    q = sum(n * charges[k.removeprefix(keys.COUNT_PREFIX)] for k, n in a.info.items() if k.startswith(keys.COUNT_PREFIX))
    return BoxInfo(path, len(a), int(q), density_g_cm3(a.get_masses().sum(), a.get_volume()),
                   float(a.info[keys.DENSITY_G_CM3]), str(a.info[keys.DENSITY_SOURCE]).split(" (")[0],
                   min_intermolecular_distance(a))


@writes_project("build")
def run_build(project: Project, recipe, *, force: bool = False) -> BuildResult:
    """Pack every (composition, temperature) box of ``recipe`` into ``project``; boxes already packed
    from the same inputs are kept (``force`` repacks them). Progress: boxes done / total
    (``Project.progress_file("build")``, a terminal line)."""
    n = len(recipe.resolve_compositions()) * len(recipe.temperatures_K)
    with Progress(n, "build", "box", status_path=project.progress_file("build")) as progress:
        paths = build_boxes(recipe, project, force=force, progress=lambda path: progress.update(1, box=path.stem))
    charges = {sp.name: sp.charge for sp in recipe.library()}
    return BuildResult([_box_info(p, charges) for p in paths])
