"""ilforge: machine-learned interatomic potentials for ionic liquids and concentrated electrolytes.

The pipeline (see DESIGN.md): recipe -> plan -> build -> sample -> label -> train -> validate
-> md -> analyze -> report. Each stage is a library function; ``ilforge <verb>`` is its CLI.
"""

__version__ = "0.1.0"
