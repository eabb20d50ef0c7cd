"""Run under `accelerate launch --num_processes 2`: train on a cache and save each rank's adapter weights and the
learning rate after each optimizer step."""

import json
import sys
from pathlib import Path

from safetensors.torch import save_file

from vidstyle.training.config import DreamStyleTrainConfig
from vidstyle.training.dreamstyle_trainer import DreamStyleTrainer

cache, out = Path(sys.argv[1]), Path(sys.argv[2])
trainer = DreamStyleTrainer(DreamStyleTrainConfig(cache=cache, output_dir=out, preset="tiny", rank=4, max_steps=3,
                                                  checkpoint_every=100, learning_rate=1e-2, cooldown_steps=3))
rates: list[float] = []
trainer.train(on_step=lambda step, loss: rates.append(trainer.optimizer.param_groups[0]["lr"]))
rank = trainer.accelerator.process_index
save_file({k: v.contiguous() for k, v in trainer.adapter.state_dict().items()}, out / f"rank{rank}.safetensors")
(out / f"rates{rank}.json").write_text(json.dumps(rates))
