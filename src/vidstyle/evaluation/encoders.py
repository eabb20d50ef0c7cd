"""The encoders an evaluation runs with, found in one weights folder (see ``docs/evaluation.md``).

Every encoder is optional: a metric whose encoder is absent is *skipped* and the report says why; no
metric is ever computed with a stand-in under its name. Weight-free metrics (flicker, the DIS-flow
proxies, PSNR/SSIM) always run, labelled as proxies where they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidstyle.errors import VidstyleInputError

# first existing name wins; official download names are accepted as they come
WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    "csd": ("csd.safetensors", "csd.pth", "checkpoint.pth"),
    "inception": ("inception.safetensors", "pt_inception-2015-12-05-6726825d.pth", "inception.pth"),
    "lpips_trunk": ("alexnet.safetensors", "alexnet-owt-7be5be79.pth", "alexnet.pth"),
    "lpips_heads": ("lpips_alex.safetensors", "lpips_alex.pth", "alex.pth"),
    "raft": ("raft-things.safetensors", "raft-things.pth"),
    "amt": ("amt-s.safetensors", "amt-s.pth"),
}
MODEL_DIRS = {"clip": "clip", "dino": "dino", "dinov2": "dinov2"}
FID_FEATURES = ("inception", "dinov2")


@dataclass
class Encoders:
    """Loaded encoders (``None`` when absent) and, per missing one, the reason the report shows."""

    csd: Any = None
    clip: tuple[Any, Any, Any] | None = None  # (CLIPModel, image processor, tokenizer)
    dino: tuple[Any, Any] | None = None  # (ViTModel, image processor)
    lpips: Any = None
    fid: Any = None  # a FeatureExtractor (name, __call__)
    flows: list[Any] = field(default_factory=list)  # FlowBackends, the DIS proxy always first
    interpolators: list[Any] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # encoder -> where it was loaded from
    missing: dict[str, str] = field(default_factory=dict)  # encoder -> why it is absent


def _find(folder: Path | None, key: str) -> Path | None:
    if folder is None:
        return None
    return next((folder / name for name in WEIGHT_FILES[key] if (folder / name).is_file()), None)


def _model_ref(folder: Path | None, option: str | None, key: str) -> str | None:
    """A hub id / directory given as an option, else ``folder/<key>/`` when it exists."""
    if option:
        return option
    if folder is not None and (folder / MODEL_DIRS[key]).is_dir():
        return str(folder / MODEL_DIRS[key])
    return None


def _expect(folder: Path | None, key: str) -> str:
    names = " or ".join(WEIGHT_FILES[key])
    return f"no {names} in {folder}" if folder is not None else "no --weights folder given"


def _load_transformers(kind: str, ref: str, device: str) -> tuple[Any, ...]:
    import transformers

    try:
        if kind == "clip":
            model = transformers.CLIPModel.from_pretrained(ref)
            tokenizer = transformers.AutoTokenizer.from_pretrained(ref)
            processor = transformers.AutoImageProcessor.from_pretrained(ref)
            return model.to(device).eval(), processor, tokenizer
        model = transformers.AutoModel.from_pretrained(ref)
        processor = transformers.AutoImageProcessor.from_pretrained(ref)
        return model.to(device).eval(), processor
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise VidstyleInputError(f"cannot load the {kind} encoder {ref!r}: {first}") from None


def load_encoders(weights: str | Path | None, clip_model: str | None = None, dino_model: str | None = None,
                  fid_features: str = "inception", device: str = "cpu") -> Encoders:
    """Load what ``weights`` (a folder, or ``None``) and the model options provide."""
    from vidstyle.metrics.motion import DISFlow, FlowWarpInterpolator

    if fid_features not in FID_FEATURES:
        raise VidstyleInputError(f"--fid-features must be one of {', '.join(FID_FEATURES)}, got {fid_features!r}")
    folder = Path(weights) if weights is not None else None
    if folder is not None and not folder.is_dir():
        raise VidstyleInputError(f"weights folder not found: {folder}")
    enc = Encoders()
    dis = DISFlow()
    enc.flows.append(dis)
    enc.interpolators.append(FlowWarpInterpolator(dis))

    if path := _find(folder, "csd"):
        from vidstyle.metrics.csd import CSDStyleEncoder

        enc.csd, enc.sources["csd"] = CSDStyleEncoder.from_file(path, device=device), str(path)
    else:
        enc.missing["csd"] = _expect(folder, "csd")

    trunk, heads = _find(folder, "lpips_trunk"), _find(folder, "lpips_heads")
    if trunk and heads:
        from vidstyle.metrics.lpips import LPIPS

        enc.lpips = LPIPS.from_files(trunk, heads).to(device)
        enc.sources["lpips"] = f"{trunk} + {heads}"
    else:
        enc.missing["lpips"] = "; ".join(_expect(folder, k) for k, p in (("lpips_trunk", trunk),
                                                                          ("lpips_heads", heads)) if p is None)

    if path := _find(folder, "raft"):
        from vidstyle.metrics.raft import RAFTFlow

        enc.flows.append(RAFTFlow.from_file(path, device=device))
        enc.sources["raft"] = str(path)
    else:
        enc.missing["raft"] = _expect(folder, "raft")
    if path := _find(folder, "amt"):
        from vidstyle.metrics.amt import AMTInterpolator

        enc.interpolators.append(AMTInterpolator.from_file(path, device=device))
        enc.sources["amt"] = str(path)
    else:
        enc.missing["amt"] = _expect(folder, "amt")

    for kind, option in (("clip", clip_model), ("dino", dino_model)):
        if ref := _model_ref(folder, option, kind):
            setattr(enc, kind, _load_transformers(kind, ref, device))
            enc.sources[kind] = ref
        else:
            enc.missing[kind] = f"no {folder / MODEL_DIRS[kind] if folder else '--weights'} folder and no " \
                                f"--{kind}-model given"

    if fid_features == "inception":
        if path := _find(folder, "inception"):
            from vidstyle.metrics.inception import FIDInceptionV3

            enc.fid, enc.sources["fid"] = FIDInceptionV3.from_file(path).to(device), str(path)
        else:
            enc.missing["fid"] = _expect(folder, "inception")
    elif ref := _model_ref(folder, None, "dinov2"):
        from vidstyle.metrics.features import DINOv2Features

        enc.fid, enc.sources["fid"] = DINOv2Features.from_pretrained(ref, device=device), ref
    else:
        enc.missing["fid"] = f"no {folder / 'dinov2' if folder else '--weights'} folder for --fid-features dinov2"
    return enc
