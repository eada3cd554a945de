"""Property analyses of MD trajectories, each a class with _prepare/_single_frame/_conclude and a results
dict with units in its keys: density.py, eos.py (density-temperature and Tait fits), msd.py, diffusion.py,
conductivity.py, rdf.py, structure_factor.py (+ form_factors.py), ion_environment.py; driver.py runs what a
recipe asks for; blocks.py gives block-averaged errors; stage.py is the analyze stage."""
