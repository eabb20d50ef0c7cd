"""Adapters that attach to a diffusers Wan transformer through wrapped linears and hooks."""

from vidstyle.adapters.call_context import FRAME_TYPES_KEY, TOKEN_TYPES, token_runs
from vidstyle.adapters.token_adapter import TokenLoRAAdapter, TokenLoRAConfig
from vidstyle.adapters.token_lora import TokenLoRALinear

__all__ = ["FRAME_TYPES_KEY", "TOKEN_TYPES", "TokenLoRAAdapter", "TokenLoRAConfig", "TokenLoRALinear", "token_runs"]
