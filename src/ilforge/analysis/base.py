"""The analysis contract, as MDAnalysis' ``AnalysisBase``: ``_prepare``, ``_single_frame``, ``_conclude``.

An analysis is built on a :class:`~ilforge.md.trajectory.Trajectory` and run with
``run(start, stop, step)``; afterwards ``results`` is a dict whose keys carry units
(``D_m2_s``, ``density_g_cm3``, ``r_A``...). Analyses that are faster over all frames at once
(FFT-based MSD, chunked RDF histograms) collect per-frame data in ``_single_frame`` or override
``_run_frames`` to process a block of frames with numpy; the three hooks stay the public shape.
"""

from __future__ import annotations

import logging

import numpy as np

from ilforge.errors import IlforgeError

log = logging.getLogger(__name__)


class AnalysisError(IlforgeError):
    """An analysis cannot run on this input (too few frames, missing mol_id, unknown species...)."""


class AnalysisBase:
    """Base class: subclasses implement ``_prepare``, ``_single_frame`` (frame index ``self._frame_index``
    into the trajectory, ``self._i`` the running count) and ``_conclude``, filling ``self.results``."""

    def __init__(self, trajectory):
        self.trajectory = trajectory
        self.results: dict = {}

    def run(self, start: int | None = None, stop: int | None = None, step: int | None = None):
        self.frames = np.arange(self.trajectory.n_frames)[slice(start, stop, step)]
        self.n_frames = len(self.frames)
        if self.n_frames == 0:
            raise AnalysisError(f"{type(self).__name__}: no frames selected (start={start}, stop={stop}, step={step})")
        self._prepare()
        self._run_frames(self.frames)
        self._conclude()
        return self

    def _run_frames(self, frames: np.ndarray) -> None:
        for i, f in enumerate(frames):
            self._i = i
            self._frame_index = int(f)
            self._single_frame()

    def _prepare(self) -> None:  # pragma: no cover - default does nothing
        pass

    def _single_frame(self) -> None:  # pragma: no cover - must be overridden or _run_frames replaced
        raise NotImplementedError

    def _conclude(self) -> None:  # pragma: no cover
        pass
