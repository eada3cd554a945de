"""MLIP molecular dynamics: runner (runner.py), stability monitors (monitors.py), H5MD trajectories
(trajectory.py), calculators for models and labelers (calculators.py), settings (settings.py)."""
