"""MLIP molecular dynamics: the runner of one state point (runner.py) with its observers (observers.py:
H5MD writer, monitor checks, checkpoints, progress) and checkpoints (checkpoint.py), stability monitors
(monitors.py), H5MD trajectories (trajectory.py), the run record run.json (result.py), calculators by
description (calculators.py), state points as file tasks run by an executor (state_points.py,
state_point_task.py), settings (settings.py) and the md stage (stage.py)."""
