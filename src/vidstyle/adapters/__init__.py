"""Adapters that attach to a diffusers Wan transformer through wrapped linears and hooks."""

from vidstyle.adapters.token_adapter import TokenLoRAAdapter, TokenLoRAConfig
from vidstyle.adapters.token_lora import TokenLoRALinear
from vidstyle.adapters.token_types import FRAME_TYPES_KEY, TOKEN_TYPES, token_runs

__all__ = ["FRAME_TYPES_KEY", "TOKEN_TYPES", "TokenLoRAAdapter", "TokenLoRAConfig", "TokenLoRALinear", "token_runs"]
