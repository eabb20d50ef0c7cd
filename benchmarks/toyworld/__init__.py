"""Toy-world benchmarks: models trained from scratch on the procedural toy world (``docs/toy_world.md``)."""
