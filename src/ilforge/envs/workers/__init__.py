"""Worker scripts run by path with a backend environment's Python (they do not import ilforge)."""
