"""Small linear-algebra helpers of the planner: numerical rank, span tests, readable combinations."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

#: relative tolerance of the numerical rank (singular values below tol * largest are zero)
RANK_RTOL = 1e-8


def rank(matrix: np.ndarray, rtol: float = RANK_RTOL) -> int:
    """Numerical rank of ``matrix`` (rows are vectors), from its singular values."""
    m = np.atleast_2d(np.asarray(matrix, dtype=float))
    if m.size == 0:
        return 0
    s = np.linalg.svd(m, compute_uv=False)
    return int(np.sum(s > rtol * max(s[0], 1e-300)))


def row_space_basis(matrix: np.ndarray, rtol: float = RANK_RTOL) -> np.ndarray:
    """Orthonormal basis (rows) of the row space of ``matrix``; shape (rank, n_columns)."""
    m = np.atleast_2d(np.asarray(matrix, dtype=float))
    if m.size == 0:
        return np.zeros((0, m.shape[-1]))
    _, s, vt = np.linalg.svd(m, full_matrices=True)
    r = int(np.sum(s > rtol * max(s[0], 1e-300))) if s.size else 0
    return vt[:r]


def null_space_basis(matrix: np.ndarray, n_columns: int, rtol: float = RANK_RTOL) -> np.ndarray:
    """Orthonormal basis (rows) of the vectors orthogonal to every row of ``matrix``."""
    m = np.atleast_2d(np.asarray(matrix, dtype=float)) if np.size(matrix) else np.zeros((0, n_columns))
    if m.shape[0] == 0:
        return np.eye(n_columns)
    _, s, vt = np.linalg.svd(m, full_matrices=True)
    r = int(np.sum(s > rtol * max(s[0], 1e-300)))
    return vt[r:]


def residual_directions(vectors: np.ndarray, subspace: np.ndarray, rtol: float = 1e-6) -> np.ndarray:
    """Orthonormal basis of the parts of ``vectors`` (rows) that lie outside span(``subspace`` rows)."""
    basis = row_space_basis(subspace) if np.size(subspace) else np.zeros((0, vectors.shape[1]))
    res = vectors - (vectors @ basis.T) @ basis if basis.size else vectors.copy()
    scale = max(np.abs(vectors).max(), 1e-300)
    res = res[np.linalg.norm(res, axis=1) > rtol * scale]
    return row_space_basis(res) if res.size else np.zeros((0, vectors.shape[1]))


def rref(rows: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Reduced row-echelon form of ``rows`` (zero rows dropped): sparse rows that read well as
    combinations, e.g. ``E(Li+) - E(EMIM+)`` or ``E0(H) - E0(O)``."""
    m = np.array(rows, dtype=float)
    r = 0
    for col in range(m.shape[1] if m.size else 0):
        if r >= m.shape[0]:
            break
        piv = r + int(np.argmax(np.abs(m[r:, col])))
        if abs(m[piv, col]) < tol:
            continue
        m[[r, piv]] = m[[piv, r]]
        m[r] /= m[r, col]
        for i in range(m.shape[0]):
            if i != r:
                m[i] -= m[i, col] * m[r]
        r += 1
    return m[:r]


def nice_integer_combination(vector: np.ndarray, max_denominator: int = 12) -> list[int] | None:
    """Smallest integer multiple of ``vector`` (up to rounding), or None when none is close.

    Used to print combinations such as ``E(Li+) - E(EMIM+)`` instead of ``0.707 E(Li+) - 0.707 E(EMIM+)``.
    """
    v = np.asarray(vector, dtype=float)
    if not np.any(np.abs(v) > 1e-12):
        return None
    v = v / v[np.argmax(np.abs(v))]  # largest entry -> 1 (keeps its sign convention positive)
    fr = [Fraction(float(x)).limit_denominator(max_denominator) for x in v]
    if max(abs(float(f) - x) for f, x in zip(fr, v)) > 1e-6:
        return None
    lcm = 1
    for f in fr:
        lcm = lcm * f.denominator // np.gcd(lcm, f.denominator)
    ints = [int(f * lcm) for f in fr]
    g = 0
    for i in ints:
        g = int(np.gcd(g, abs(i)))
    return [i // g for i in ints] if g else None


def combination_text(vector: np.ndarray, names: list[str], symbol: str = "E") -> str:
    """``vector`` as a readable linear combination of ``symbol(name)`` terms, e.g. ``E(Li+) - E(EMIM+)``."""
    ints = nice_integer_combination(vector)
    coeffs = ints if ints is not None else [round(float(x), 3) for x in vector / np.abs(vector).max()]
    terms = []
    for c, n in zip(coeffs, names):
        if abs(c) < 1e-9:
            continue
        mag = "" if abs(c) == 1 else f"{abs(c):g} "
        sign = "-" if c < 0 else "+"
        terms.append((sign, f"{mag}{symbol}({n})"))
    if not terms:
        return "0"
    first_sign, first = terms[0]
    text = ("-" if first_sign == "-" else "") + first
    for sign, t in terms[1:]:
        text += f" {sign} {t}"
    return text
