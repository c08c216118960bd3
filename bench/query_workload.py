"""The workload of ``bench/query.py``: a seeded customer-service chatbot (the seed's example), streamed as gzipped
ingest bodies into a spool file that every engine's load replays.

Every turn is a ``chatbot.turn`` trace with ``llm.generate`` -> ``llm.tools.<tool>`` -> ``db.query`` ->
``llm.generate_final`` (5 spans), typed GenAI attributes (model, tokens, cost), prose-like inputs/outputs (zipf
vocabulary, sized like the storage anchor's data), tags and a ``user_thumbs_up`` finding on 30% of turns, over the
7 days before 2026-01-01; one trace in ``NEEDLE_EVERY`` carries a phrase found nowhere else.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DAY_NS = 86_400 * 10**9
END_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z: the workload covers the 7 days before
MODELS = (("gpt-4o-mini", 0.55), ("gpt-4o", 0.30), ("claude-3-5-haiku", 0.15))
PRICES_PER_1K = {"gpt-4o-mini": (0.00015, 0.0006), "gpt-4o": (0.0025, 0.01), "claude-3-5-haiku": (0.0008, 0.004)}
TOOLS = (
    ("get_order", 0.30),
    ("request_refund", 0.20),
    ("get_user_message", 0.15),
    ("update_address", 0.15),
    ("escalate", 0.10),
    ("product_question", 0.10),
)
CHANNELS = ("web", "mobile", "email")
NEEDLE_EVERY = 100_000  # one trace in this many carries a phrase found nowhere else


def needle(i: int) -> str:
    return f"xylophone-{i:07d}"


SYSTEM_PROMPT = (
    "You are Ava, the support assistant of ShopRight. Be concise and polite. Use the tools to look up orders, "
    "refunds and accounts; never invent order details."
)


class Vocabulary:
    """A zipf-distributed word list, so generated prose compresses roughly like real text."""

    def __init__(self, rng: random.Random, size: int = 6000):
        syllables = ["ka", "lo", "mi", "ne", "or", "pu", "ra", "si", "te", "vo", "an", "el", "is", "un"]
        syllables += ["ber", "dor", "fen", "gal", "hus", "jor"]
        words = []
        for i in range(size):
            k = 1 + (i % 4)
            word = "".join(syllables[(i * 7 + j * 13 + (i >> j)) % len(syllables)] for j in range(k))
            words.append(word + ("s" if i % 5 == 0 else ""))
        common = "the a to and of is your order you please we can for it this account item delivery help thanks"
        common += " I my on with status was not be have that shipping in are will if me ticket customer support"
        for i, word in enumerate(common.split()):
            words[i] = word
        self.words = words
        acc, self.cum = 0.0, []
        for rank in range(1, size + 1):
            acc += 1.0 / rank**1.05
            self.cum.append(acc)
        self.rng = rng

    def text(self, n_words: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cum, k=n_words))


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    r, acc = rng.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if r <= acc:
            return value
    return weighted[-1][0]


def generate(n_traces: int, seed: int = 42) -> Iterator[tuple[list[dict], dict, list[dict]]]:
    """Yield ``(spans, trace_info, findings)`` for each of ``n_traces`` chatbot turns, in time order."""
    rng = random.Random(seed)
    vocab = Vocabulary(random.Random(seed + 1))
    start0 = END_NS - 7 * DAY_NS
    step = 7 * DAY_NS // max(n_traces, 1)

    def lognorm(median: float, sigma: float = 0.4) -> float:
        return median * rng.lognormvariate(0, sigma)

    def new_id(bits: int) -> str:
        return f"{rng.getrandbits(bits):0{bits // 4}x}"

    for i in range(n_traces):
        trace_id, root_id = new_id(128), new_id(64)
        t0 = start0 + i * step + rng.randrange(step)
        tool = _pick(rng, TOOLS)
        model = _pick(rng, MODELS)
        order = f"A{rng.randint(10000, 99999)}"
        slow_db = rng.random() < 0.04
        tool_fails = rng.random() < 0.05
        llm_fails = rng.random() < 0.01
        refund = tool == "request_refund" and rng.random() < 0.5
        question = vocab.text(rng.randint(15, 50)) + (" I want a refund for it." if refund else "")
        question += f" Order {order}."
        if i % NEEDLE_EVERY == NEEDLE_EVERY // 2:  # a rare phrase (no random draw: the rest of the data is unchanged)
            question += f" Serial {needle(i)}."
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
        spans: list[dict] = []
        tokens_total, cost_total = 0, 0.0

        def usage(prompt: int, completion: int, model: str = model) -> dict[str, Any]:
            price_in, price_out = PRICES_PER_1K[model]
            cost = round(prompt / 1000 * price_in + completion / 1000 * price_out, 6)
            return {
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": prompt,
                "gen_ai.usage.output_tokens": completion,
                "usage.total_tokens": prompt + completion,
                "spanscope.cost_usd": cost,
            }

        def add(  # binds this turn's list and id through defaults
            name: str,
            kind: str,
            parent: str,
            start: int,
            dur_ms: float,
            spans: list[dict] = spans,
            trace_id: str = trace_id,
            **extra: Any,
        ) -> tuple[str, int]:
            span_id = new_id(64)
            end = start + int(dur_ms * 1e6)
            spans.append(
                {
                    "trace_id": trace_id,
                    "span_id": span_id,
                    "parent_span_id": parent,
                    "name": name,
                    "kind": kind,
                    "start_time_ns": start,
                    "end_time_ns": end,
                    "status": extra.pop("status", "OK"),
                    **extra,
                }
            )
            return span_id, end

        # 1. llm.generate picks the tool
        prompt, completion = 180 + rng.randint(0, 400), rng.randint(12, 40)
        attrs = usage(prompt, completion)
        tokens_total += prompt + completion
        cost_total += attrs["spanscope.cost_usd"]
        call = {"name": tool, "arguments": json.dumps({"order_id": order})}
        _, t = add(
            "llm.generate",
            "llm",
            root_id,
            t0 + 1_000_000,
            lognorm(650),
            attributes=attrs,
            inputs={"messages": messages},
            outputs={"choices": [{"message": {"role": "assistant", "tool_calls": [call]}}]},
            status="ERROR" if llm_fails else "OK",
        )
        # 2. the tool and its database call
        tool_start = t + 200_000
        db_ms = lognorm(1500 if slow_db else 25, 0.5)
        tool_ms = lognorm(15) + db_ms + lognorm(5)
        result = {"order_id": order, "status": rng.choice(("shipped", "processing", "delivered"))}
        tool_id, t = add(
            f"llm.tools.{tool}",
            "tool",
            root_id,
            tool_start,
            tool_ms,
            attributes={"tool.name": tool},
            inputs={"order_id": order},
            outputs={"error": "upstream returned 503"} if tool_fails else result,
            status="ERROR" if tool_fails else "OK",
            **({"status_message": "upstream returned 503"} if tool_fails else {}),
        )
        statement = f"SELECT * FROM orders WHERE order_id = $1 /* {tool} */"
        add(
            "db.query",
            "db",
            tool_id,
            tool_start + 3_000_000,
            db_ms,
            attributes={"db.system": "postgresql", "db.statement": statement, "db.rows": rng.randint(0, 3)},
            inputs={"statement": statement, "params": [order]},
            outputs={"rows": [{"order_id": order, "note": vocab.text(rng.randint(20, 60))}]},
        )
        # 3. the final answer
        prompt, completion = 300 + rng.randint(0, 500), rng.randint(40, 260) + (150 if tool_fails else 0)
        attrs = usage(prompt, completion)
        tokens_total += prompt + completion
        cost_total += attrs["spanscope.cost_usd"]
        answer = vocab.text(rng.randint(100, 260))
        _, t = add(
            "llm.generate_final",
            "llm",
            root_id,
            t + 300_000,
            lognorm(1600 if model == "gpt-4o" else 1100),
            attributes=attrs,
            inputs={"messages": [{"role": "user", "content": question}, {"role": "tool", "content": str(result)}]},
            outputs={"choices": [{"message": {"role": "assistant", "content": answer}}]},
        )
        quality = rng.betavariate(6, 2) - 0.00004 * max(0, tokens_total - 900)
        quality -= (0.3 if tool_fails else 0) + (0.15 if slow_db else 0)
        quality = round(max(0.0, min(1.0, quality)), 3)
        spans.insert(
            0,
            {
                "trace_id": trace_id,
                "span_id": root_id,
                "name": "chatbot.turn",
                "kind": "chain",
                "start_time_ns": t0,
                "end_time_ns": t + 500_000,
                "status": "ERROR" if llm_fails else "OK",
                "attributes": {
                    "usage.total_tokens": tokens_total,
                    "spanscope.cost_usd": round(cost_total, 6),
                    "gen_ai.request.model": model,
                },
                "inputs": {"messages": messages},
                "outputs": {"response": answer},
            },
        )
        info = {
            "trace_id": trace_id,
            "tags": {
                "quality_score": quality,
                "model": model,
                "channel": rng.choice(CHANNELS),
                "app.version": "1.4.0" if i % 10 else "1.5.0-rc1",
            },
            "metadata": {"intent": tool},
            "session_id": f"session-{rng.randint(1, 20000):05d}",
            "user_id": f"user-{rng.randint(1, 5000):04d}",
        }
        findings = []
        if rng.random() < 0.3:
            findings.append(
                {
                    "trace_id": trace_id,
                    "name": "user_thumbs_up",
                    "value": quality > 0.6,
                    "source": "human",
                    "time_ns": t,
                }
            )
        yield spans, info, findings


# -- loading through the server ------------------------------------------------------------------------------


def bodies(
    n_traces: int, batch_spans: int, seed: int = 42, on_trace: Callable[[str], None] | None = None
) -> Iterator[tuple[bytes, int]]:
    """Native ingest bodies of about ``batch_spans`` spans each, and the span count of each."""
    spans: list[dict] = []
    infos: list[dict] = []
    findings: list[dict] = []
    for trace_spans, info, trace_findings in generate(n_traces, seed):
        if on_trace is not None:
            on_trace(info["trace_id"])
        spans += trace_spans
        infos.append(info)
        findings += trace_findings
        if len(spans) >= batch_spans:
            yield json.dumps({"spans": spans, "traces": infos, "findings": findings}).encode(), len(spans)
            spans, infos, findings = [], [], []
    if spans:
        yield json.dumps({"spans": spans, "traces": infos, "findings": findings}).encode(), len(spans)


@dataclass
class Spool:
    """The workload's ingest bodies, gzipped (level 1, as the SDK sends them) into one file: generated once,
    streamed, and replayed to every engine, so the load phase measures the server and not the generator, and
    10M spans never sit in memory."""

    path: Path
    spans: int = 0
    traces: int = 0
    raw_bytes: int = 0
    sample_ids: list[str] = field(default_factory=list)  # every 1000th trace id, across the whole time range
    last_trace_id: str = ""

    @classmethod
    def write(cls, path: Path, n_traces: int, batch_spans: int, seed: int = 42) -> Spool:
        spool = cls(path)

        def seen(trace_id: str) -> None:
            if spool.traces % 1000 == 0:
                spool.sample_ids.append(trace_id)
            spool.traces += 1
            spool.last_trace_id = trace_id

        with open(path, "wb") as out:
            for body, n in bodies(n_traces, batch_spans, seed, on_trace=seen):
                packed = gzip.compress(body, compresslevel=1, mtime=0)
                out.write(struct.pack("<II", len(packed), n))
                out.write(packed)
                spool.spans += n
                spool.raw_bytes += len(body)
        return spool

    def read(self) -> Iterator[tuple[bytes, int]]:
        """``(gzipped body, spans in it)``, one at a time from disk."""
        with open(self.path, "rb") as f:
            while head := f.read(8):
                size, n = struct.unpack("<II", head)
                yield f.read(size), n
