"""A model directory the real Dynamo frontend and mocker accept, made here: no model hub is reached.

The frontend reads the tokenizer (`tokenizer.json`), the chat template (`tokenizer_config.json`)
and the model's architecture (`config.json`: `architectures` and `model_type` for the preprocessor;
the 1.4 and 1.5 mockers read it with transformers' AutoConfig, so the type must be one transformers
knows, and the mocker sizes its KV cache from the layer, head and hidden sizes). The mocker emits
token ids from 1000 to 1999, so the vocabulary is larger than that or every token decodes to
nothing.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB = 4096
SPECIAL = ("<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>")
CHAT_TEMPLATE = ("{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
                 "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
_SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["th", "sh", "qu", "st", "ng"]


def _corpus(lines: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    return [" ".join(rng.choice(words) for _ in range(12)) for _ in range(lines)]


def make_model(directory: Path) -> Path:
    """Write the model directory (idempotent) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "config.json").exists():
        return directory
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=list(SPECIAL), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_corpus(6000), trainer=trainer)
    if tokenizer.get_vocab_size() < 2000:
        raise ValueError(f"the tokenizer has {tokenizer.get_vocab_size()} tokens: the mocker emits ids up to 1999")
    tokenizer.save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "model_max_length": 4096, "chat_template": CHAT_TEMPLATE}, indent=1))
    (directory / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": tokenizer.get_vocab_size(),
        "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 4, "max_position_embeddings": 4096, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": "float16"}, indent=1))
    return directory
