"""A tiny untrained MACE model (mace.modules.ScaleShiftMACE) saved with torch.save, for MD plumbing tests."""

from __future__ import annotations

import numpy as np


def tiny_mace(path, atomic_numbers=(3, 5, 9), scale: float = 1.0, seed: int = 0, r_max: float = 4.0):
    from ilforge.models.mace_backend import import_mace

    import_mace()
    import torch
    from e3nn import o3
    from mace import modules

    torch.manual_seed(seed)
    torch.set_default_dtype(torch.float64)
    model = modules.ScaleShiftMACE(
        r_max=r_max, num_bessel=4, num_polynomial_cutoff=5, max_ell=1,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=1, num_elements=len(atomic_numbers), hidden_irreps=o3.Irreps("8x0e"), MLP_irreps=o3.Irreps("4x0e"),
        atomic_energies=np.zeros(len(atomic_numbers)), avg_num_neighbors=8.0, atomic_numbers=list(atomic_numbers),
        correlation=2, gate=torch.nn.functional.silu, radial_MLP=[8, 8], atomic_inter_scale=scale, atomic_inter_shift=0.0,
    )
    torch.save(model, path)
    return path
