"""Geometry kernels shared by the analyses: molecular centres of mass, minimum-image pair histograms.

Vectorised with numpy over blocks of atom pairs (no Python loop over atoms): the pair-distance
histogram of one frame costs a few (n_a x n_b) float32 array operations and one ``bincount``.
"""

from __future__ import annotations

import numpy as np

from ilforge.analysis.base import AnalysisError

#: number of pair distances computed at once (memory ~ 4 bytes x 6 arrays x this)
PAIR_BLOCK = 2_000_000


def molecule_index(mol_id) -> tuple[np.ndarray, np.ndarray]:
    """(unique molecule ids sorted, per-atom index into them)."""
    if mol_id is None:
        raise AnalysisError("this analysis needs per-atom mol_id (molecule index); the trajectory has none")
    uniq, inv = np.unique(np.asarray(mol_id), return_inverse=True)
    return uniq, inv


def centres_of_mass(positions, masses, mol_id) -> np.ndarray:
    """Centres of mass of molecules, R_m = Σ_i∈m m_i r_i / Σ_i∈m m_i.

    positions: (F, N, 3) or (N, 3) Å, *unwrapped* (molecules whole); masses (N,) amu; mol_id (N,).
    Returns (F, M, 3) or (M, 3), molecules ordered by sorted mol_id.
    """
    from scipy import sparse

    pos = np.asarray(positions, dtype=float)
    single = pos.ndim == 2
    if single:
        pos = pos[None]
    F, N, _ = pos.shape
    _, inv = molecule_index(mol_id)
    M = inv.max() + 1
    m = np.asarray(masses, dtype=float)
    W = sparse.csr_matrix((m, (inv, np.arange(N))), shape=(M, N))
    tot = np.asarray(W.sum(axis=1)).ravel()
    com = W @ pos.transpose(1, 0, 2).reshape(N, F * 3)
    com = (com / tot[:, None]).reshape(M, F, 3).transpose(1, 0, 2)
    return com[0] if single else com


def molecule_table(mol_id, mol_species) -> tuple[np.ndarray, np.ndarray]:
    """Per molecule (sorted mol_id order): its species name and its first atom index."""
    if mol_species is None:
        raise AnalysisError("this analysis needs per-atom mol_species; the trajectory has none")
    uniq, first = np.unique(np.asarray(mol_id), return_index=True)
    return np.asarray(mol_species)[first], first


def is_orthorhombic(cell, tol: float = 1e-8) -> bool:
    c = np.asarray(cell)
    return bool(np.all(np.abs(c - np.diag(np.diag(c))) < tol))


def max_cutoff(cell) -> float:
    """Largest r for which the minimum image is unique: half the smallest distance between opposite faces."""
    c = np.asarray(cell, dtype=float)
    V = abs(np.linalg.det(c))
    widths = [V / np.linalg.norm(np.cross(c[(i + 1) % 3], c[(i + 2) % 3])) for i in range(3)]
    return 0.5 * min(widths)


def pair_distances_blocks(xa, xb, cell, rmax: float, same: bool = False):
    """Yield arrays of minimum-image distances (float32, Å) between points ``xa`` (n_a, 3) and ``xb`` (n_b, 3)
    that are below ``rmax``. ``same=True`` (xa is xb) counts each unordered pair once and skips i = j.

    Orthorhombic cells use per-axis rounding; triclinic cells round fractional coordinates
    (exact for rmax below :func:`max_cutoff` in cells that are not strongly skewed).
    """
    cell = np.asarray(cell, dtype=float)
    ortho = is_orthorhombic(cell)
    if ortho:
        L = np.diag(cell).astype(np.float32)
        a = np.asarray(xa, dtype=np.float32)
        b = np.asarray(xb, dtype=np.float32)
    else:
        inv = np.linalg.inv(cell)
        a = (np.asarray(xa) @ inv).astype(np.float32)
        b = (np.asarray(xb) @ inv).astype(np.float32)
        c32 = cell.astype(np.float32)
    na, nb = len(a), len(b)
    rows = max(1, PAIR_BLOCK // max(nb, 1))
    r2max = np.float32(rmax * rmax)
    for i0 in range(0, na, rows):
        i1 = min(na, i0 + rows)
        if same:
            j0 = i0 + 1  # pairs (i, j) with j > i only
            if j0 >= nb:
                break
            bb = b[j0:]
        else:
            j0, bb = 0, b
        aa = a[i0:i1]
        if ortho:
            r2 = np.zeros((i1 - i0, len(bb)), np.float32)
            for k in range(3):
                d = np.subtract.outer(aa[:, k], bb[:, k])
                d -= L[k] * np.rint(d / L[k])
                r2 += d * d
        else:
            ds = aa[:, None, :] - bb[None, :, :]
            ds -= np.rint(ds)
            dr = ds @ c32
            r2 = np.einsum("ijk,ijk->ij", dr, dr)
        if same:
            # keep j > i: in block row r (atom i0+r), column c is atom j0+c; need j0+c > i0+r
            rr = np.arange(i1 - i0)[:, None]
            cc = np.arange(len(bb))[None, :]
            mask = (r2 < r2max) & (cc + j0 > rr + i0)
        else:
            mask = r2 < r2max
        yield np.sqrt(r2[mask])


def pair_histogram(xa, xb, cell, edges, same: bool = False) -> np.ndarray:
    """Counts of minimum-image pair distances in the uniform bins ``edges`` (Å) for one frame.

    ``same=True`` (xa is xb): each unordered pair once, i = j excluded. Orthorhombic cells take
    a fast path: coordinates wrapped into [0, L), per-axis minimum image |d| -> min(|d|, L - |d|),
    float32 in preallocated blocks, bin index from r directly, one ``bincount`` per block.
    """
    edges = np.asarray(edges, dtype=float)
    nbins = len(edges) - 1
    r0, dr = edges[0], (edges[-1] - edges[0]) / nbins
    cell = np.asarray(cell, dtype=float)
    if not is_orthorhombic(cell):
        counts = np.zeros(nbins, dtype=np.int64)
        for d in pair_distances_blocks(xa, xb, cell, edges[-1], same=same):
            idx = np.floor((d - np.float32(r0)) * np.float32(1.0 / dr)).astype(np.int64)
            idx = idx[(idx >= 0) & (idx < nbins)]
            counts += np.bincount(idx, minlength=nbins)
        return counts
    L = np.diag(cell).astype(np.float32)
    a = np.asarray(xa, dtype=np.float32)
    a = a - L * np.floor(a / L)
    b = a if same else np.asarray(xb, dtype=np.float32)
    if not same:
        b = b - L * np.floor(b / L)
    nb = len(b)
    rows = max(1, PAIR_BLOCK // max(nb, 1))
    counts = np.zeros(nbins + 2, dtype=np.int64)  # [below r0] + bins + [beyond rmax]
    inv_dr = np.float32(1.0 / dr)
    for i0 in range(0, len(a), rows):
        aa = a[i0:i0 + rows]
        r2 = np.zeros((len(aa), nb), np.float32)
        d = np.empty_like(r2)
        for k in range(3):
            np.subtract.outer(aa[:, k], b[:, k], out=d)
            np.abs(d, out=d)
            np.minimum(d, L[k] - d, out=d)
            d *= d
            r2 += d
        np.sqrt(r2, out=r2)
        if r0 != 0.0:
            r2 -= np.float32(r0)
        r2 *= inv_dr
        np.clip(r2, -1.0, nbins, out=r2)
        idx = r2.astype(np.int64)
        idx += 1
        if r0 != 0.0:  # truncation toward zero maps (-1, 0) to bin 0: send it below the range
            idx[r2 < 0] = 0
        counts += np.bincount(idx.ravel(), minlength=nbins + 2)
    hist = counts[1:nbins + 1].copy()
    if same:
        if r0 <= 0.0:
            hist[0] -= len(a)  # the i = j "pairs" at r = 0
        hist //= 2
    return hist


def distance_matrix(xa, xb, cell) -> np.ndarray:
    """Full (n_a, n_b) minimum-image distance matrix in Å (float64; for small selections)."""
    cell = np.asarray(cell, dtype=float)
    inv = np.linalg.inv(cell)
    ds = (np.asarray(xa)[:, None, :] - np.asarray(xb)[None, :, :]) @ inv
    ds -= np.rint(ds)
    dr = ds @ cell
    return np.sqrt(np.einsum("ijk,ijk->ij", dr, dr))
