"""Backend environments: a virtual environment per MLIP backend that cannot share ilforge's own.

Backends such as DeePMD-kit pin packages (TensorFlow, a LAMMPS build) that conflict with
ilforge's own packages, so each lives in its own venv, created once and reused (:mod:`ilforge.envs.manager`),
driven through files (:func:`ilforge.envs.subprocess_task.run_in_env`: ``task.json`` in,
``result.json`` out) and, for MD, through an ASE socket calculator whose client runs in that venv
(:mod:`ilforge.envs.socket_calc`). The worker scripts in ``envs/workers/`` import only the
standard library, numpy, ASE and the backend's packages — never ilforge.
"""
