"""Names of Atoms.info / Atoms.arrays keys and frame-store columns, with shape and unit.

One place for every key: import the constant, never spell the string. Label keys follow
the extxyz conventions of MLIP trainers (``REF_energy`` ...), so exported frames go straight into
their training scripts.

Do not name an array ``species`` (extxyz reserves it for element symbols and ASE drops such an
array silently) nor ``charge``/``charges`` (ASE reads them as calculator results).
"""

# --- labels (extxyz label keys of MLIP trainers) -------------------------------------------
REF_ENERGY = "REF_energy"  # info, float, eV, total energy of the frame
REF_FORCES = "REF_forces"  # arrays, (n_atoms, 3) float, eV/Å
REF_STRESS = "REF_stress"  # info, (6,) Voigt or (3, 3) float, eV/Å³, ASE sign convention
REF_VIRIALS = "REF_virials"  # info, (3, 3) float, eV (optional)

# --- frame metadata (info) ----------------------------------------------------------------
CONFIG_TYPE = "config_type"  # str: classical_md, rattle, volume_scan, contact_scan, reference_md, relax, IsolatedAtom, box
COMPOSITION_ID = "composition_id"  # str: id of the composition in the recipe, e.g. "x0.40"
LEVEL_OF_THEORY = "level_of_theory"  # str: method and settings of the labels, e.g. "xtb:GFN1-xTB"
TEMPERATURE_K = "temperature_K"  # float, K
DENSITY_G_CM3 = "density_g_cm3"  # float, g/cm³ (target density of a packed box)
DENSITY_SOURCE = "density_source"  # str: where the target density came from
FORCEFIELD = "forcefield"  # str: name of the classical force field that produced a frame
SEED = "seed"  # int
SOURCE = "source"  # str: free text, provenance of a frame
PARENT_HASH = "parent_hash"  # str: content hash of the frame this one was derived from
FRAME_HASH = "frame_hash"  # str: content hash of numbers, positions, cell, pbc
GENERATION = "generation"  # int: active-learning generation whose training set the frame joined first (0: the initial set; frames selected by generation k join k + 1)
COUNT_PREFIX = "count_"  # info, int: count_<species> = number of molecules of that species

# --- per-atom arrays -----------------------------------------------------------------------
MOL_ID = "mol_id"  # arrays, (n_atoms,) int: index of the molecule (ion) the atom belongs to, 0-based
MOL_SPECIES = "mol_species"  # arrays, (n_atoms,) str: species name of that molecule, e.g. "EMIM"
FF_CHARGE = "ff_charge"  # arrays, (n_atoms,) float, e: force-field partial charge
FF_TYPE = "ff_type"  # arrays, (n_atoms,) str: force-field atom type

# --- committee results (ASE calculator results of models.committee.CommitteeCalculator) ----
ENERGY_STD = "energy_std"  # float, eV: standard deviation of the members' energies (ddof = 0)
FORCES_STD = "forces_std"  # (n_atoms, 3) float, eV/Å: standard deviation over members of each force component
MAX_FORCE_STD = "max_force_std"  # float, eV/Å: max over atoms of the norm of forces_std
ENERGIES = "energies"  # (n_members,) float, eV: each member's energy

# --- config types --------------------------------------------------------------------------
CT_BOX = "box"
CT_CLASSICAL_MD = "classical_md"
CT_RATTLE = "rattle"
CT_VOLUME_SCAN = "volume_scan"
CT_CONTACT_SCAN = "contact_scan"  # one intermolecular contact shortened by a rigid translation
CT_REFERENCE_MD = "reference_md"
CT_RELAX = "relax"
CT_ACTIVE_LEARNING = "active_learning"  # a frame of exploration MD selected by `ilforge learn`
CT_ISOLATED_ATOM = "IsolatedAtom"  # the config type of E0 frames (isolated atoms)


def count_key(species: str) -> str:
    """Info key holding the number of molecules of ``species`` in a frame."""
    return f"{COUNT_PREFIX}{species}"
