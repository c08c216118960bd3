"""The quality loop end to end: production traces -> dataset -> ground truth -> two evaluations -> did it help?

Run it with ``python examples/quality_loop.py``. It starts a spanscope server on a loopback port with a
temporary store, simulates the demo customer-service chatbot (normal and degraded traffic), and then:

1. finds low-quality turns (``tag.quality_score < 0.5``) and a human marks one with feedback;
2. builds a dataset from them: fields taken from the traces by extract-field paths, 40 records sampled
   with a seed and stratified by the turn's intent (``metadata.intent``) so every kind of request is in it;
3. adds ground truth from a CSV an annotator filled in (keyed by the question), which makes version 2;
4. evaluates the support bot before and after a prompt change over the same dataset version, each call
   traced and linked to its record and run, scored by built-in and custom scorers;
5. compares the two runs: per metric the means, the difference, a 95% bootstrap interval, a paired test,
   the records that got worse and a verdict;
6. exports the dataset (CSV, and OpenAI fine-tuning JSONL built from the traces' message lists).
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
import tempfile
import time
from pathlib import Path

import spanscope
from spanscope import datasets
from spanscope.cli.demo_app import simulate
from spanscope.evals import (
    Comparison,
    compare_runs,
    contains,
    evaluate,
    exact_match,
    latency_under,
    levenshtein_ratio,
    scorer,
    token_budget,
)
from spanscope.feedback import log_feedback
from spanscope.server import ServerThread

DAY_NS = 86_400 * 10**9
PROMPT_V1 = "You are Ava, the support assistant of ShopRight. Be concise and polite."
PROMPT_V2 = (
    PROMPT_V1 + " Always restate the order number. When the order system does not answer, retry once and say "
    "what happens next instead of giving up."
)
ORDER_RE = re.compile(r"\bA\d{5}\b")
ITEM_RE = re.compile(r"(blender|headphones|desk lamp|coffee grinder|backpack|smart watch|kettle)")


# ---------------------------------------------------------------------------------------------- the app
def reference_answer(question: str) -> str:
    """What a good answer says (the annotators' ground truth, and what the bot aims for)."""
    order = (ORDER_RE.search(question) or [None])[0]
    item = (ITEM_RE.search(question) or ["item"])[0]
    q = question.lower()
    if "refund" in q:
        return f"I've started a refund for order {order}; you'll get an email once it is approved."
    if "human" in q:
        return f"I'm connecting you with a human agent about order {order} now."
    if "address" in q:
        return f"Done: the delivery address of order {order} is updated."
    if "message i sent" in q:
        return f"I found your message about the {item}; our team replied to it this morning."
    if "warranty" in q:
        return f"Yes, the {item} comes with a two-year warranty."
    return f"I'm checking order {order} ({item}) now; you'll get its tracking link by email within the hour."


def _support_bot(question: str, prompt: str, failure_rate: float) -> str:
    # A stand-in for the model call: deterministic per question, failing on a share of questions that
    # depends on the prompt (v2's failures are a subset of v1's, as a better prompt fixes some cases).
    with spanscope.span("llm.generate", kind="llm") as s:
        draw = int(hashlib.sha256(question.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        answer = reference_answer(question) if draw >= failure_rate else "I'm sorry, I can't help with that right now."
        prompt_tokens, completion_tokens = 20 + len(prompt) // 4 + len(question) // 4, 5 + len(answer) // 4
        messages = [{"role": "system", "content": prompt}, {"role": "user", "content": question}]
        s.set_inputs({"messages": messages, "model": "gpt-4o-mini"})
        s.set_outputs({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]})
        s.set_attributes(
            {
                "gen_ai.request.model": "gpt-4o-mini",
                "usage.input_tokens": prompt_tokens,
                "usage.output_tokens": completion_tokens,
                "usage.total_tokens": prompt_tokens + completion_tokens,
            }
        )
    return answer


def support_bot_v1(input: str) -> str:
    return _support_bot(input, PROMPT_V1, failure_rate=0.45)


def support_bot_v2(input: str) -> str:
    return _support_bot(input, PROMPT_V2, failure_rate=0.10)


@scorer(name="restates_order")
def restates_order(inputs: dict, outputs: str) -> bool | None:
    """The answer repeats the order number the customer gave (not applicable without one)."""
    order = ORDER_RE.search(inputs["input"])
    return None if order is None else order.group(0) in outputs


SCORERS = [exact_match, contains, levenshtein_ratio, restates_order, token_budget(400), latency_under(1000)]


# ---------------------------------------------------------------------------------------------- the loop
def main(data_dir: str | Path | None = None, *, turns: int = 300, quiet: bool = False) -> Comparison:
    say = (lambda *a: None) if quiet else print
    with tempfile.TemporaryDirectory() as tmp, ServerThread(Path(data_dir or tmp)) as srv:
        spanscope.configure(endpoint=srv.url, project="quality-loop")
        start = time.time_ns() - 8 * DAY_NS  # a week of traffic, ending now
        simulate(turns, seed=7, start_ns=start)
        simulate(turns // 3, seed=8, start_ns=start, degraded=True)
        assert spanscope.flush(timeout=30), "the demo traces did not all reach the server"

        # 1. where quality is low, and one piece of human feedback on it
        low = spanscope.search_traces("tag.quality_score < 0.5", max_results=1000)
        say(f"{len(low)} low-quality turns out of {turns + turns // 3}")
        log_feedback(low["trace_id"].iloc[0], "resolved", False, rationale="customer wrote again the next day")

        # 2. a dataset from those traces: fields by extract-field paths, stratified by intent
        ds = datasets.create("low-quality-turns", description="turns with quality_score < 0.5")
        added = ds.add_from_traces(
            "tag.quality_score < 0.5",
            mapping={
                "input": "span.inputs.messages[-1].content",
                "output": "span.outputs.choices[0].message.content",
                "intent": "metadata.intent",
                "model": "span.attributes.`gen_ai.request.model`",
            },
            sample=40,
            seed=7,
            stratify_by="metadata.intent",
        )
        say(f"dataset {ds.name} v{ds.version}: {added['added']} records, strata {added['strata']}")

        # 3. ground truth from the annotators' CSV, matched on the question
        truth = Path(tmp) / "ground_truth.csv"
        with open(truth, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["input", "expected"])
            for row in ds.rows():
                writer.writerow([row["input"], reference_answer(row["input"])])
        set_ = ds.expected_from_csv(truth, key="input", by="annotator@shopright")
        say(f"ground truth for {set_['expected_set']} records -> v{ds.version} (hash {ds.content_hash[:12]})")
        assert ds.verify(), "the version's records do not hash to its content hash"

        # 4. the bot before and after the prompt change, over the same dataset version
        before = evaluate(ds, support_bot_v1, SCORERS, name="prompt-v1", progress=not quiet)
        after = evaluate(ds, support_bot_v2, SCORERS, name="prompt-v2", progress=not quiet)

        # 5. did it help?
        comparison = compare_runs(before, after)
        if not quiet:
            comparison.print()
        for metric, records in comparison.worse.items():
            if records:
                say(f"{metric} got worse on {len(records)} record(s), e.g. trace {records[0]['trace_b']}")

        # 6. exports
        ds.to_csv(Path(tmp) / "dataset.csv")
        n = ds.to_openai_jsonl(Path(tmp) / "finetune.jsonl")
        say(f"exported {len(ds)} records to CSV and {n} fine-tuning examples")
        spanscope.shutdown()
    return comparison


if __name__ == "__main__":
    result = main(sys.argv[1] if len(sys.argv) > 1 else None)
    sys.exit(0 if result.verdicts.get("exact_match") == "better" else 1)
