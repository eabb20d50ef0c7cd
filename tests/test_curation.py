"""`vidstyle data curate`: the toy path end to end, filters, resume, shards, the model stages on tiny random models,
the CSD style filter and every bad-input class."""

from __future__ import annotations

import json
import string
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image

from vidstyle.cli.errors import run_cli
from vidstyle.cli.main import app
from vidstyle.data.curation import (
    CurateOptions,
    InstantStyleStylizer,
    StageInput,
    TemplateCaptioner,
    ToyPropagator,
    ToyStylizer,
    VLMCaptioner,
    assign_styles,
    content_consistency,
    motion_ratio,
    parse_shard,
    read_styles,
    run_curate,
    template_caption,
)
from vidstyle.data.curation.plan import derived_seed, list_raw_videos, plan_samples
from vidstyle.data.curation.sources import parse_ip_adapter
from vidstyle.data.curation.store import read_frames
from vidstyle.data.manifest import read_manifest
from vidstyle.data.samples import load_sample
from vidstyle.data.toy import apply_style, random_scene, render_scene
from vidstyle.errors import VidstyleInputError
from vidstyle.metrics.fidelity import psnr
from vidstyle.video_io import read_video, write_video

SIZE, FRAMES = 32, 9
STYLES = {"negative": "inverted colours like a photographic negative",
          "halftone": "colour halftone print of cyan, magenta and yellow dot screens",
          "watercolour": "soft watercolour wash with bleeding edges"}
COMMAND = typer.main.get_command(app)
TOY = ["--stylizer", "toy", "--propagator", "toy", "-q"]


def cli(*args: object) -> int:
    return run_cli(COMMAND, ["data", "curate", *[str(a) for a in args]])


def write_styles(path: Path, styles: dict[str, str] = STYLES, refs: dict[str, list[str]] | None = None) -> Path:
    rows = [{"id": k, "description": v, **({"refs": refs[k]} if refs else {})} for k, v in styles.items()]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_outputs(a: Path, b: Path) -> None:
    """Every file byte for byte, except the encoded clips, compared by their decoded frames: their bytes were
    seen to differ about once in ten CI runs although the frames handed to the encoder were identical (once,
    under heavy load, by a mean of 2.6 levels: a different encode, not another clip). A different clip scores
    far below 30 dB against the other run's."""
    files_a, files_b = all_files(a), all_files(b)
    assert sorted(files_a) == sorted(files_b)
    assert {k: v for k, v in files_a.items() if not k.endswith(".mp4")} == \
        {k: v for k, v in files_b.items() if not k.endswith(".mp4")}
    for name in (k for k in files_a if k.endswith(".mp4")):
        frames_a, frames_b = (read_video(root / name).frames for root in (a, b))
        assert frames_a.shape == frames_b.shape and psnr(frames_a, frames_b) > 30.0, name


def rejected_rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "rejected.jsonl").read_text().splitlines()]


def planned_ids(inputs: dict[str, Path]) -> list[str]:
    """The sample ids of the toy runs (two styles per video), in plan order."""
    return [s.id for s in plan_samples(list_raw_videos(inputs["raw"]), read_styles(inputs["styles"]), 2, 0)]


def toy_options(inputs: dict[str, Path], output: Path, **changes) -> CurateOptions:
    return CurateOptions(raw=inputs["raw"], styles=inputs["styles"], output=output, stylizer="toy",
                         propagator="toy", styles_per_video=2, quiet=True, **changes)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Four toy raw clips ``uint8 [9, 32, 32, 3]`` and a styles file of three toy styles without refs."""
    root = tmp_path_factory.mktemp("curation_inputs")
    raw = root / "raw"
    raw.mkdir()
    for i in range(4):
        write_video(render_scene(random_scene(np.random.default_rng(i)), SIZE, FRAMES), raw / f"{i:03d}_clip.mp4", 8)
    (raw / "notes.txt").write_text("not a video")
    return {"raw": raw, "styles": write_styles(root / "styles.jsonl"), "root": root}


@pytest.fixture(scope="module")
def unsharded(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("unsharded") / "out"
    assert cli("--raw", inputs["raw"], "--styles", inputs["styles"], "-o", out, "--styles-per-video", 2, *TOY) == 0
    return out


class Calls:
    """Counts stage calls by patching the toy stage classes (and the filters) for one test."""

    def __init__(self, monkeypatch, fail_on_propagate: int | None = None, delay: float = 0.0) -> None:
        self.counts: Counter[str] = Counter()
        self.threads: list[int] = []  # the thread of every propagate call, in call order
        self._lock = threading.Lock()
        for cls, name in ((TemplateCaptioner, "caption"), (ToyStylizer, "stylize"), (ToyPropagator, "propagate")):
            monkeypatch.setattr(cls, name, self._wrap(name, getattr(cls, name), fail_on_propagate, delay))
        from vidstyle.data.curation.filters import Filters

        monkeypatch.setattr(Filters, "scores", self._wrap("scores", Filters.scores, None, 0.0))

    def _wrap(self, name, method, fail_on: int | None, delay: float):
        def wrapped(obj, *args, **kwargs):
            with self._lock:
                self.counts[name] += 1
                count = self.counts[name]
                if name == "propagate":
                    self.threads.append(threading.get_ident())
            if name == "propagate" and fail_on is not None and count == fail_on:
                raise KeyboardInterrupt  # a run killed while propagating
            time.sleep(delay)
            return method(obj, *args, **kwargs)

        return wrapped


# ---- the toy path ---------------------------------------------------------------------------------------------
def test_toy_path_accepts_good_samples_and_the_manifest_reads_back(inputs, unsharded):
    report = read_manifest(unsharded, on_error="stop")
    ids = [r.id for r in report.records]
    assert len(ids) == len(set(ids)) == 8 and not rejected_rows(unsharded)
    per_style = Counter(r.style_id for r in report.records)
    assert max(per_style.values()) - min(per_style.values()) <= 1  # balanced assignment
    for stem in (f"{i:03d}_clip" for i in range(4)):
        assert sum(r.id.startswith(stem) for r in report.records) == 2
    record = report.records[0]
    assert record.raw == f"clips/raw/{record.id.rsplit('_', 1)[0]}.mp4"
    assert record.t_ns == "a video of clip" and record.t_sty == f"a video of clip, {STYLES[record.style_id]}"
    assert set(record.scores) == {"content", "motion"} and record.scores["content"] > 0.9
    assert record.style_refs == [f"styles/{record.style_id}/ref0.png", f"styles/{record.style_id}/ref1.png"]
    sample = load_sample(unsharded, record, SIZE, SIZE)
    assert sample.raw.shape == sample.stylized.shape == (FRAMES, SIZE, SIZE, 3)
    # the toy propagator's video is the exact stylized clip, its first frame is the stylized first frame
    raw, _ = read_frames(unsharded / "work/videos" / record.id.rsplit("_", 1)[0] / "raw.npz")
    stylized, _ = read_frames(unsharded / "work/samples" / record.id / "stylized.npz")
    assert ids == planned_ids(inputs)
    assert np.array_equal(stylized, apply_style(record.style_id, raw, seed=derived_seed(0, "sample", record.id)))
    first = np.asarray(Image.open(unsharded / "work/samples" / record.id / "first.png"))
    assert np.array_equal(first, stylized[0])
    settings = json.loads((unsharded / "curation.json").read_text())
    assert settings["csd"] is None and settings["stylizer"] == settings["propagator"] == "toy"


def test_assignment_is_balanced_seeded_and_distinct():
    stems = [f"v{i}" for i in range(11)]
    for per_video in (1, 2, 3):
        plan = assign_styles(stems, ["a", "b", "c", "d"], per_video, seed=5)
        counts = Counter(s for styles in plan.values() for s in styles)
        assert max(counts.values()) - min(counts.values()) <= 1
        assert all(len(set(styles)) == len(styles) == per_video for styles in plan.values())
        assert plan == assign_styles(stems, ["a", "b", "c", "d"], per_video, seed=5)
    assert assign_styles(stems, ["a", "b", "c"], 1, 0) != assign_styles(stems, ["a", "b", "c"], 1, 1)
    assert parse_shard("1/3") == (1, 3) and template_caption("0001_Woman-walking") == "a video of woman walking"


def test_content_and_motion_measures():
    raw = render_scene(random_scene(np.random.default_rng(3)), 48, FRAMES)
    noise = np.random.default_rng(0).integers(0, 256, raw.shape, dtype=np.uint8)
    assert content_consistency(raw, raw) == pytest.approx(1.0) and motion_ratio(raw, raw) == pytest.approx(1.0)
    assert content_consistency(raw, noise) < 0.3 and motion_ratio(raw, noise) > 3.0
    assert motion_ratio(raw, np.repeat(raw[:1], FRAMES, axis=0)) < 1.0  # a frozen video moves less


# ---- filters --------------------------------------------------------------------------------------------------
def test_filters_reject_bad_samples_with_every_failed_check(inputs, tmp_path, monkeypatch):
    out = tmp_path / "strict"
    assert cli("--raw", inputs["raw"], "--styles", inputs["styles"], "-o", out, "--min-content", 0.999, *TOY) == 0
    manifest = read_manifest(out, on_error="stop").records
    rejected = rejected_rows(out)
    assert len(manifest) + len(rejected) == 4 and rejected
    assert all(r.style_id == "negative" for r in manifest)  # an exact inversion keeps every edge
    for row in rejected:
        (check,) = row["failed"]
        assert check["check"] == "content" and check["value"] < check["min"] == 0.999
        assert check["value"] == row["scores"]["content"] and "--min-content" in check["message"]

    def noise_for_one_video(self, first, raw, job):
        if job.sample_id.startswith("001_clip_"):
            return np.random.default_rng(0).integers(0, 256, raw.shape, dtype=np.uint8)
        return apply_style(job.style_id, raw, seed=job.seed)

    monkeypatch.setattr(ToyPropagator, "propagate", noise_for_one_video)
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in inputs["raw"].glob("*.mp4"):
        (raw / path.name).write_bytes(path.read_bytes())
    write_video(render_scene(random_scene(np.random.default_rng(9)), SIZE, 3), raw / "004_short.mp4", 8)
    out = tmp_path / "noisy"
    assert cli("--raw", raw, "--styles", inputs["styles"], "-o", out, "--styles-per-video", 2, *TOY) == 0
    rejected = {row["id"]: row for row in rejected_rows(out)}
    noisy = [key for key in rejected if key.startswith("001_clip_")]
    short = [row for key, row in rejected.items() if key.startswith("004_short_")]
    assert len(noisy) == len(short) == 2 and len(rejected) == 4
    for key in noisy:
        failed = {c["check"]: c for c in rejected[key]["failed"]}
        assert failed["content"]["value"] < 0.3 and failed["motion"]["value"] > 3.0
    assert all(row["failed"][0]["check"] == "raw" and "3 frame(s)" in row["failed"][0]["message"] for row in short)
    assert len(read_manifest(out, on_error="stop").records) == 6


# ---- resume ---------------------------------------------------------------------------------------------------
def test_resume_skips_finished_stages_and_matches_an_uninterrupted_run(inputs, unsharded, tmp_path, monkeypatch):
    out = tmp_path / "killed"
    calls = Calls(monkeypatch, fail_on_propagate=3)
    with pytest.raises(KeyboardInterrupt):
        run_curate(toy_options(inputs, out))
    ids = planned_ids(inputs)
    assert [r.id for r in read_manifest(out, on_error="stop").records] == ids[:2]
    assert (out / "work/samples" / ids[2] / "first.png").is_file()  # stylized before the kill
    assert not (out / "work/samples" / ids[2] / "stylized.npz").exists()

    monkeypatch.undo()
    calls = Calls(monkeypatch)
    report = run_curate(toy_options(inputs, out))
    assert (report.made, report.skipped, report.accepted) == (6, 2, 8)
    assert calls.counts == {"caption": 2, "stylize": 5, "propagate": 6, "scores": 6}
    assert_same_outputs(out, unsharded)  # work/ included

    calls.counts.clear()
    report = run_curate(toy_options(inputs, out))
    assert (report.made, report.skipped) == (0, 8) and not calls.counts
    (out / "clips/stylized" / f"{ids[4]}.mp4").unlink()  # a deleted clip is published again
    report = run_curate(toy_options(inputs, out))
    assert report.made == 1 and calls.counts == Counter()
    assert_same_outputs(out, unsharded)


# ---- shards ---------------------------------------------------------------------------------------------------
def test_shards_in_turn_and_interleaved_give_the_unsharded_manifest(inputs, unsharded, tmp_path, monkeypatch):
    expected = (unsharded / "manifest.jsonl").read_bytes()
    out = tmp_path / "in_turn"
    run_curate(toy_options(inputs, out, shard="1/2"))
    half = [r.id for r in read_manifest(out, on_error="stop").records]
    assert half == planned_ids(inputs)[1::2]
    run_curate(toy_options(inputs, out, shard="0/2"))
    assert (out / "manifest.jsonl").read_bytes() == expected

    calls = Calls(monkeypatch, delay=0.02)  # every stage call lets the other process run
    out = tmp_path / "interleaved"
    errors: list[BaseException] = []

    def shard(i: int) -> None:
        try:
            run_curate(toy_options(inputs, out, shard=f"{i}/2"))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=shard, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert (out / "manifest.jsonl").read_bytes() == expected
    ids = [r.id for r in read_manifest(out, on_error="stop").records]
    assert len(ids) == len(set(ids)) == 8 and calls.counts["propagate"] == 8
    assert sum(a != b for a, b in zip(calls.threads, calls.threads[1:], strict=False)) >= 3  # really interleaved
    assert_same_outputs(out, unsharded)


# ---- model stages on tiny random models -------------------------------------------------------------------------
def test_wan_propagator_runs_end_to_end_on_tiny(inputs, tmp_path):
    out = tmp_path / "wan"
    styles = write_styles(tmp_path / "one.jsonl", {"negative": STYLES["negative"]})
    code = cli("--raw", inputs["raw"], "--styles", styles, "-o", out, "--stylizer", "toy", "--propagator", "wan",
               "--preset", "tiny", "--frames", 5, "--steps", 2, "--height", 32, "--width", 32, "-q")
    assert code == 0
    done = [json.loads(p.read_text()) for p in sorted(out.glob("work/samples/*/done.json"))]
    assert len(done) == 4
    video, _ = read_frames(out / "work/samples/000_clip_negative/stylized.npz")
    assert video.shape == (5, 32, 32, 3) and video.dtype == np.uint8
    assert json.loads((out / "curation.json").read_text())["propagator"] == "wan:tiny"
    assert len(read_manifest(out, on_error="stop").records) + len(rejected_rows(out)) == 4


def _tiny_vlm(folder: Path) -> Path:
    """A random LLaVA (CLIP tower + 2-layer Llama) with a character-level tokenizer and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    specials = ["<pad>", "<s>", "</s>", "<unk>", "<image>"]
    vocab = {token: i for i, token in enumerate(specials + list(string.ascii_letters + string.digits + " .,"))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>",
                                        pad_token="<pad>", unk_token="<unk>",
                                        extra_special_tokens={"image_token": "<image>"})
    template = ("{% for m in messages %}{{ m['role'] }}: {% for c in m['content'] %}{% if c['type'] == 'image' %}"
                "<image>{% else %}{{ c['text'] }}{% endif %}{% endfor %} {% endfor %}"
                "{% if add_generation_prompt %}assistant: {% endif %}")
    processor = LlavaProcessor(image_processor=CLIPImageProcessorPil(size={"shortest_edge": 32},
                                                                     crop_size={"height": 32, "width": 32}),
                               tokenizer=tokenizer, patch_size=8, vision_feature_select_strategy="default",
                               chat_template=template, num_additional_image_tokens=1)
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=32,
                                       intermediate_size=16, patch_size=8),
        text_config=LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                pad_token_id=0, bos_token_id=1, eos_token_id=2),
        image_token_index=vocab["<image>"], vision_feature_select_strategy="default", vision_feature_layer=-1))
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def test_vlm_captioner_with_a_tiny_random_model(inputs, tmp_path):
    vlm = _tiny_vlm(tmp_path / "vlm")
    captioner = VLMCaptioner.load(str(vlm), torch.device("cpu"), torch.float32)
    frame = render_scene(random_scene(np.random.default_rng(0)), SIZE, 1)[0]
    caption = captioner.caption(frame, "000_clip")
    assert caption and "\n" not in caption and caption == captioner.caption(frame, "000_clip")  # greedy
    out = tmp_path / "vlm_out"
    styles = write_styles(tmp_path / "one.jsonl", {"negative": STYLES["negative"]})
    assert cli("--raw", inputs["raw"], "--styles", styles, "-o", out, "--captioner", vlm, *TOY) == 0
    saved = json.loads((out / "work/videos/000_clip/caption.json").read_text())
    assert saved == {"t_ns": caption, "captioner": str(vlm.resolve())}
    record = next(r for r in read_manifest(out, on_error="stop").records if r.id == "000_clip_negative")
    assert record.t_ns == caption and record.t_sty == f"{caption}, {STYLES['negative']}"


def _tiny_sdxl(folder: Path) -> tuple[Path, Path]:
    """A random SDXL img2img pipeline (with a CLIP image encoder) and an IP-Adapter weight file for it."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLImg2ImgPipeline, UNet2DConditionModel
    from diffusers.models.embeddings import ImageProjection
    from safetensors.torch import save_file
    from transformers import (
        CLIPImageProcessorPil,
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTextModelWithProjection,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    from vidstyle.backbones.tiny import tiny_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=80,
        cross_attention_dim=64, norm_num_groups=8)
    vae = AutoencoderKL(block_out_channels=[16, 32], down_block_types=["DownEncoderBlock2D"] * 2,
                        up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4, norm_num_groups=8)
    tokenizer = tiny_tokenizer()
    tokenizer.model_max_length = 16
    text = CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=0, hidden_size=32, intermediate_size=37,
                          num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer), projection_dim=32)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=16, projection_dim=16, num_hidden_layers=1, num_attention_heads=2, image_size=32,
        intermediate_size=16, patch_size=8))
    StableDiffusionXLImg2ImgPipeline(
        vae=vae, text_encoder=CLIPTextModel(text), text_encoder_2=CLIPTextModelWithProjection(text),
        tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet, scheduler=EulerDiscreteScheduler(),
        image_encoder=image_encoder, requires_aesthetics_score=False,
        feature_extractor=CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
    ).save_pretrained(folder / "sdxl")
    # IP-Adapter layout of h94/IP-Adapter: image_proj.{proj,norm}.*, ip_adapter.<k>.to_{k,v}_ip.weight for every
    # cross-attention processor k = 1, 3, 5, ... in attn_processors order
    proj = ImageProjection(cross_attention_dim=64, image_embed_dim=16, num_image_text_embeds=4).state_dict()
    weights = {f"image_proj.{k.replace('image_embeds', 'proj')}": v for k, v in proj.items()}
    widths = {"down": list(unet.config.block_out_channels), "up": list(reversed(unet.config.block_out_channels))}
    names = [n for n in unet.attn_processors if not n.endswith("attn1.processor")]
    for key, name in zip(range(1, 2 * len(names), 2), names, strict=True):
        width = (unet.config.block_out_channels[-1] if name.startswith("mid")
                 else widths[name[:2] if name.startswith("up") else "down"][int(name.split(".")[1])])
        for kind in ("k", "v"):
            weights[f"ip_adapter.{key}.to_{kind}_ip.weight"] = 0.1 * torch.randn(width, 64)
    save_file({k: v.contiguous() for k, v in weights.items()}, folder / "ip-adapter.safetensors")
    return folder / "sdxl", folder / "ip-adapter.safetensors"


def test_instantstyle_stylizer_on_a_tiny_sdxl_with_a_style_only_ip_adapter(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr("vidstyle.data.curation.stylizers.SDXL_AREA", 32 * 48)  # run at the frame's size, not 1024^2
    sdxl, adapter = _tiny_sdxl(tmp_path)
    stylizer = InstantStyleStylizer.load(str(sdxl), parse_ip_adapter(str(adapter)), torch.device("cpu"),
                                         torch.float32, steps=2, strength=0.6)
    scales = {name: proc.scale for name, proc in stylizer.pipe.unet.attn_processors.items() if hasattr(proc, "scale")}
    assert scales and all((s == [1.0]) == name.startswith("up_blocks.0.attentions.1.") for name, s in scales.items())
    seen, pipe = {}, stylizer.pipe

    def spy(**kwargs):
        seen.update(kwargs)
        return pipe(**kwargs)

    stylizer.pipe = spy
    ref = Image.fromarray(apply_style("oil", render_scene(random_scene(np.random.default_rng(7)), SIZE, 1))[0])
    frame = render_scene(random_scene(np.random.default_rng(0)), 48, 1)[0][:32]  # [32, 48, 3]
    job = StageInput(sample_id="a", style_id="oil", t_ns="a clip", t_sty="a clip, oil", refs=(ref,), seed=3)
    out = stylizer.stylize(frame, job)
    assert out.shape == (32, 48, 3) and out.dtype == np.uint8 and np.array_equal(out, stylizer.stylize(frame, job))
    assert seen["prompt"] == "a clip, oil" and seen["ip_adapter_image"] is ref and seen["image"].size == (48, 32)
    assert seen["strength"] == 0.6 and seen["num_inference_steps"] == 2

    refs_dir = tmp_path / "refs"
    refs_dir.mkdir()
    ref.save(refs_dir / "oil_1.png")
    styles = tmp_path / "styles.jsonl"
    styles.write_text(json.dumps({"id": "oil", "description": "oil painting", "refs": ["refs/oil_1.png"]}) + "\n")
    out_dir = tmp_path / "out"
    code = cli("--raw", inputs["raw"], "--styles", styles, "-o", out_dir, "--stylizer", sdxl, "--ip-adapter", adapter,
               "--propagator", "toy", "--steps", 2, "--min-content", -1, "--motion-range", "0,inf", "-q")
    assert code == 0
    assert len(read_manifest(out_dir, on_error="stop").records) == 4
    assert (out_dir / "styles/oil/ref0.png").read_bytes() == (refs_dir / "oil_1.png").read_bytes()
    settings = json.loads((out_dir / "curation.json").read_text())
    assert settings["stylizer"] == f"{sdxl.resolve()}+ip-adapter:{adapter.resolve()}" and settings["strength"] == 0.6


# ---- the CSD style filter ---------------------------------------------------------------------------------------
def test_a_csd_checkpoint_drives_the_style_filter(inputs, tmp_path):
    from vidstyle.metrics.csd import CSDStyleEncoder, csd_score

    torch.manual_seed(0)
    encoder = CSDStyleEncoder(image_size=28, patch_size=14, width=128, layers=2, heads=2, output_dim=32)
    weights = tmp_path / "csd.pth"
    torch.save({"model_state_dict": {"module." + k: v for k, v in encoder.state_dict().items()}}, weights)
    styles = write_styles(tmp_path / "one.jsonl", {"halftone": STYLES["halftone"]})
    loose = tmp_path / "loose"
    assert cli("--raw", inputs["raw"], "--styles", styles, "-o", loose, "--csd", weights, "--min-style", -1,
               *TOY) == 0
    records = read_manifest(loose, on_error="stop").records
    assert len(records) == 4 and all("csd" in r.scores for r in records)
    loaded = CSDStyleEncoder.from_file(weights)
    refs = [np.asarray(Image.open(loose / p)) for p in records[0].style_refs]
    stylized, _ = read_frames(loose / "work/samples" / records[0].id / "stylized.npz")
    expected = next(iter(csd_score(loaded, stylized, refs).values()))
    assert records[0].scores["csd"] == pytest.approx(expected, abs=1e-5)
    assert json.loads((loose / "curation.json").read_text())["csd"] is not None

    values = sorted(r.scores["csd"] for r in records)
    assert values[1] < values[2]
    cut = (values[1] + values[2]) / 2
    strict = tmp_path / "strict"
    assert cli("--raw", inputs["raw"], "--styles", styles, "-o", strict, "--csd", weights, "--min-style", cut,
               *TOY) == 0
    rejected = rejected_rows(strict)
    assert len(rejected) == 2 and len(read_manifest(strict, on_error="stop").records) == 2
    assert all(row["failed"][0]["check"] == "style" and row["failed"][0]["value"] < cut for row in rejected)


# ---- bad inputs -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, expected", [
    ("missing_raw", "raw video folder not found"),
    ("empty_styles", "has no styles"),
    ("bad_json", "line 2: invalid JSON"),
    ("unknown_toy_style", "style 'ukiyoe' is not a toy style"),
    ("missing_ref", "line 1: reference not found: 'refs/none.png'"),
    ("bad_shard", "--shard must be i/n"),
    ("bad_frames", "--frames must be 4k+1"),
    ("bad_motion", "--motion-range"),
    ("too_many_styles", "--styles-per-video must be between 1 and the number of styles (3)"),
    ("t2v_preset", "is text-to-video"),
])
def test_bad_inputs_exit_2_with_one_line_and_write_nothing(inputs, tmp_path, capsys, case, expected):
    styles, raw, extra = inputs["styles"], inputs["raw"], []
    bad_styles = tmp_path / "bad.jsonl"
    if case == "missing_raw":
        raw = tmp_path / "nowhere"
    elif case == "empty_styles":
        styles = bad_styles
        styles.write_text("\n  \n")
    elif case == "bad_json":
        styles = bad_styles
        styles.write_text('{"id": "negative", "description": "x"}\n{"id": "halftone", description}\n')
    elif case == "unknown_toy_style":
        styles = write_styles(bad_styles, {"ukiyoe": "woodblock print"})
    elif case == "missing_ref":
        styles = write_styles(bad_styles, {"negative": "x"}, refs={"negative": ["refs/none.png"]})
    else:
        extra = {"bad_shard": ["--shard", "2/2"], "bad_frames": ["--frames", 6], "t2v_preset": [],
                 "bad_motion": ["--motion-range", "2,1"], "too_many_styles": ["--styles-per-video", 4]}[case]
    toy = ["--stylizer", "toy", "--propagator", "wan", "--preset", "tiny-t2v", "-q"] if case == "t2v_preset" else TOY
    out = tmp_path / "out"
    capsys.readouterr()
    assert cli("--raw", raw, "--styles", styles, "-o", out, *toy, *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidstyle: error: ") and err.count("\n") == 1 and expected in err, err
    assert not out.exists()


def test_a_rerun_with_other_settings_is_refused_and_changes_nothing(inputs, unsharded, tmp_path, capsys):
    out = tmp_path / "copy"
    assert cli("--raw", inputs["raw"], "--styles", inputs["styles"], "-o", out, "--styles-per-video", 2, *TOY) == 0
    before = all_files(out)
    capsys.readouterr()
    assert cli("--raw", inputs["raw"], "--styles", inputs["styles"], "-o", out, "--styles-per-video", 2,
               "--min-content", 0.5, *TOY) == 2
    err = capsys.readouterr().err
    assert "other settings (different min_content)" in err and err.count("\n") == 1
    assert all_files(out) == before
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.txt").write_text("mine")
    assert cli("--raw", inputs["raw"], "--styles", inputs["styles"], "-o", foreign, *TOY) == 2
    assert sorted(p.name for p in foreign.iterdir()) == ["x.txt"]
    with pytest.raises(VidstyleInputError, match="not a folder"):
        run_curate(toy_options(inputs, foreign / "x.txt"))
