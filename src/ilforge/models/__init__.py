"""MLIP backends in a registry (:mod:`ilforge.models.registry`), training settings, reference energies
(E0s), committees, error metrics, the train stage (:mod:`ilforge.models.stage`) and the conformance
kit every backend must pass (:mod:`ilforge.models.testing`)."""
