"""A tiny random CLIP (text + vision, 64 patches) with a character-level tokenizer, built fully offline."""

from __future__ import annotations

import string

import torch
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import (
    CLIPConfig,
    CLIPImageProcessorPil,
    CLIPModel,
    CLIPTextConfig,
    CLIPVisionConfig,
    PreTrainedTokenizerFast,
)

BOS, EOS, PAD, UNK = "<|startoftext|>", "<|endoftext|>", "<pad>", "<unk>"


def tiny_clip_tokenizer(max_length: int = 77) -> PreTrainedTokenizerFast:
    """Lower-cased character-level tokenizer: ``<|startoftext|> chars... <|endoftext|>``, padded with ``<pad>``."""
    chars = string.ascii_lowercase + string.digits + string.punctuation + " "
    vocab = {token: i for i, token in enumerate([PAD, UNK, BOS, EOS, *chars])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    backend.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", pair=f"{BOS} $A {EOS} $B {EOS}",
        special_tokens=[(BOS, vocab[BOS]), (EOS, vocab[EOS])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK,
        model_max_length=max_length,
    )


TINY_VISION = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
               "image_size": 32, "patch_size": 4}


def build_tiny_clip(
    seed: int = 0, vision: dict | None = None, text_layers: int = 2, projection_dim: int = 16,
    initializer_factor: float = 1.0,
) -> tuple[CLIPModel, PreTrainedTokenizerFast, CLIPImageProcessorPil]:
    """Random CLIP in eval mode: by default width 16, 2 layers per tower, 32px images, 4px patches, projection 16.

    ``vision`` replaces the vision tower's ``TINY_VISION`` settings (the image processor follows its
    ``image_size``); ``initializer_factor`` scales the random weights. Returns ``(model, tokenizer,
    image_processor)``; weights are a pure function of the arguments.
    """
    tokenizer = tiny_clip_tokenizer()
    text = CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=text_layers,
        num_attention_heads=2, max_position_embeddings=77, projection_dim=projection_dim,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    vision_config = CLIPVisionConfig(**(vision or TINY_VISION), projection_dim=projection_dim,
                                     initializer_factor=initializer_factor)
    config = CLIPConfig(text_config=text.to_dict(), vision_config=vision_config.to_dict(),
                        projection_dim=projection_dim, initializer_factor=initializer_factor)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(config).eval()
    size = vision_config.image_size
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size=size)
    return model, tokenizer, image_processor
