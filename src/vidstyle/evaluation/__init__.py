"""Evaluate stylized videos against a dataset manifest: encoders from a weights folder, per-video and
dataset-level metrics (``vidstyle.metrics``), and a JSON + self-contained HTML report."""
