"""Training: cached datasets, the DreamStyle objective, accelerate trainers with exact resume."""
