"""The papers' metrics, each an exact definition plus an encoder loaded from its published weight layout.

``csd`` (CSD style score), ``semantic`` (CLIP-T, DINO structure distance and CLS cosine), ``lpips`` (LPIPS v0.1,
AlexNet), ``distribution`` (FID, ArtFID; pluggable ``inception`` or ``features.DINOv2Features``), ``motion``
(VBench dynamic degree, motion smoothness, temporal flickering, subject consistency; flow backends ``raft`` and
the OpenCV DIS proxy, interpolators ``amt`` and a flow-warp proxy), ``fidelity`` (PSNR, SSIM), ``weights`` (strict
loading). Every score key names its encoder or backend after ``@``.
"""
