"""DreamStyle's transformer input: noisy channels, mask channels and condition channels per latent frame.

Layout along the latent-frame axis (DESIGN §1)::

    [first_frame]      [target 1 .. F_lat]        [style 1 .. K]
    noisy: z_ff noised  noisy: x_t (denoised)      noisy: z_style noised
    mask:  1 (4 ch)     mask:  0                   mask:  1
    cond:  z_ff         cond:  latent of raw video cond:  z_style

16 noisy + 4 mask + 16 condition channels = the 36 input channels of Wan I2V. The first-frame frame
exists in first-frame mode only, the style frames (one per reference image) in style-image mode.
Condition frames are noised to the current noise level with one fixed noise draw per call, so the
whole noisy channel group is a consistent ``x_t`` (the same rule serves training).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

MASK_CHANNELS = 4


@dataclass
class DreamStyleCondition:
    """Normalised VAE latents of one call's conditions (batch ``B``, latent size ``h x w``).

    - ``video``: ``[B, C, F_lat, h, w]``, the raw video (condition channels of the targets);
    - ``first_frame``: ``[B, C, 1, h, w]`` or None;
    - ``style``: ``[B, C, K, h, w]`` or None.
    """

    video: torch.Tensor
    first_frame: torch.Tensor | None = None
    style: torch.Tensor | None = None

    def to(self, device: torch.device) -> DreamStyleCondition:
        """The same condition with every latent on ``device``."""
        move = lambda x: None if x is None else x.to(device)  # noqa: E731
        return DreamStyleCondition(move(self.video), move(self.first_frame), move(self.style))

    @property
    def num_first(self) -> int:
        return 0 if self.first_frame is None else self.first_frame.shape[2]

    @property
    def num_targets(self) -> int:
        return self.video.shape[2]

    @property
    def num_style(self) -> int:
        return 0 if self.style is None else self.style.shape[2]

    @property
    def frame_types(self) -> list[str]:
        """Token type of every latent frame, in sequence order."""
        return ["first_frame"] * self.num_first + ["video"] * self.num_targets + ["style"] * self.num_style

    @property
    def target_frames(self) -> slice:
        """Where the target frames sit on the frame axis of the model input/output."""
        return slice(self.num_first, self.num_first + self.num_targets)

    def condition_channels(self) -> torch.Tensor:
        """Mask and condition channels, ``[B, 4 + C, F_total, h, w]`` (constant over steps)."""
        parts, masks = [], []
        for latents, value in ((self.first_frame, 1.0), (self.video, 0.0), (self.style, 1.0)):
            if latents is None:
                continue
            parts.append(latents)
            masks.append(torch.full_like(latents[:, :1], value).expand(-1, MASK_CHANNELS, -1, -1, -1))
        return torch.cat([torch.cat(masks, dim=2), torch.cat(parts, dim=2)], dim=1)

    def clean_condition_latents(self) -> torch.Tensor | None:
        """First-frame and style latents stacked ``[B, C, n_first + K, h, w]`` (None if neither)."""
        parts = [p for p in (self.first_frame, self.style) if p is not None]
        return torch.cat(parts, dim=2) if parts else None

    def model_input(self, noisy_targets: torch.Tensor, sigma: float | torch.Tensor,
                    condition_noise: torch.Tensor | None, channels: torch.Tensor) -> torch.Tensor:
        """Assemble ``[B, 36, F_total, h, w]`` from ``x_t`` of the targets ``[B, C, F_lat, h, w]``.

        ``condition_noise`` is the fixed noise ``[B, C, n_first + K, h, w]`` of the condition frames,
        noised as ``(1 - sigma) z + sigma eps``; ``channels`` is :meth:`condition_channels`.
        """
        clean = self.clean_condition_latents()
        pieces = [noisy_targets]
        if clean is not None:
            noised = (1.0 - sigma) * clean + sigma * condition_noise
            first, style = noised[:, :, : self.num_first], noised[:, :, self.num_first:]
            pieces = [first, noisy_targets, style]
        noisy = torch.cat(pieces, dim=2).to(channels.dtype)
        return torch.cat([noisy, channels], dim=1)
