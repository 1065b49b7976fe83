"""Training engine: the objective computes losses, the loop schedules phases, checkpoints persist state."""
