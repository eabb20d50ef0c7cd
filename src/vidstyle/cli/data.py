"""`vidstyle data ...`: the dataset builders. Each builder module registers its own command."""

from __future__ import annotations

import typer

from vidstyle.cli import data_anagrams, data_curate, data_toy

data_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                       help="Build training data: the toy style world, curation, model-illusion pairs.")
for _module in (data_toy, data_curate, data_anagrams):
    _module.register(data_app)
