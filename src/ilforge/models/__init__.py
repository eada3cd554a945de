"""MLIP backends (MACE first), training settings, reference energies, committees and fine-tuning."""

import warnings

# `import mace` sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD (mace-torch 0.3.16), and torch then warns at every
# torch.load, e3nn's constants included: expected here, and noise on the terminal of every worker.
warnings.filterwarnings("ignore", message="Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected", category=UserWarning)
