"""Active learning (``ilforge learn``): grow the training set where a committee is uncertain until MD
is stable at every state point (settings, selection, the generation loop, the stage)."""
