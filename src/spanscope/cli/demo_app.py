"""A simulated customer-service chatbot, instrumented with the spanscope SDK (the seed's example).

Each turn is a ``chatbot.turn`` trace: ``llm.generate`` decides on a tool, the tool span
(``llm.tools.get_order`` and friends) runs a ``db.query``, ``llm.generate_final`` writes the answer and
``llm.response_check`` scores it. Latencies, token usage, tool errors and slow DB calls are drawn from a
seeded generator; time is simulated through the SDK clock, so hundreds of multi-second turns take a moment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import spanscope
from spanscope.sdk import set_clock

MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-haiku")
SYSTEM_PROMPT = (
    "You are Ava, the support assistant of ShopRight. Be concise and polite. Use the tools to look up orders, "
    "refunds and accounts; never invent order details."
)
INTENTS = (
    ("get_order", "Where is my order {order}? It was supposed to arrive {day}.", 0.30),
    ("request_refund", "I want a refund for order {order}, the {item} arrived broken.", 0.20),
    ("get_user_message", "Can you check the message I sent you {day} about my {item}?", 0.15),
    ("update_address", "Please change the delivery address of order {order} to {street}.", 0.15),
    ("escalate", "This is the third time I ask. Let me talk to a human about order {order}!", 0.10),
    ("product_question", "Does the {item} come with a warranty?", 0.10),
)
ITEMS = ("blender", "headphones", "desk lamp", "coffee grinder", "backpack", "smart watch", "kettle")
DAYS = ("yesterday", "on Monday", "last week", "two days ago")
STREETS = ("12 Baker Street", "4 Elm Avenue", "88 Harbour Road")
CHANNELS = ("web", "mobile", "email")
PRICES_PER_1K = {"gpt-4o-mini": (0.00015, 0.0006), "gpt-4o": (0.0025, 0.01), "claude-3-5-haiku": (0.0008, 0.004)}


class SimClock:
    """Simulated wall clock in nanoseconds; ``sleep`` advances it instead of waiting."""

    def __init__(self, start_ns: int):
        self.now_ns = start_ns

    def __call__(self) -> int:
        self.now_ns += 1_000  # 1 µs per read keeps start/end strictly ordered
        return self.now_ns

    def sleep(self, ms: float) -> None:
        self.now_ns += int(ms * 1e6)


@dataclass(slots=True)
class TurnResult:
    trace_id: str
    quality: float
    error: bool


class ChatbotSimulator:
    def __init__(self, seed: int = 7, start_ns: int = 0, span_days: float = 7.0, degraded: bool = False):
        self.rng = random.Random(seed)
        self.clock = SimClock(start_ns)
        self.start_ns = start_ns
        self.span_ns = int(span_days * 86400e9)
        self.degraded = degraded

    # --- pieces -----------------------------------------------------------------------------------
    def _latency(self, median_ms: float, sigma: float = 0.35) -> float:
        return median_ms * self.rng.lognormvariate(0, sigma)

    def _usage(self, s: spanscope.sdk.Span, model: str, prompt: int, completion: int) -> float:
        price_in, price_out = PRICES_PER_1K[model]
        cost = prompt / 1000 * price_in + completion / 1000 * price_out
        s.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.response.model": model,
                "gen_ai.usage.input_tokens": prompt,
                "gen_ai.usage.output_tokens": completion,
                "usage.input_tokens": prompt,
                "usage.output_tokens": completion,
                "usage.total_tokens": prompt + completion,
                "spanscope.cost_usd": round(cost, 6),
            }
        )
        return cost

    def _pick_intent(self) -> tuple[str, str]:
        r = self.rng.random()
        acc = 0.0
        for tool, template, weight in INTENTS:
            acc += weight
            if r <= acc:
                return tool, template
        return INTENTS[0][0], INTENTS[0][1]

    # --- one turn ---------------------------------------------------------------------------------
    def turn(self, i: int, n: int) -> TurnResult:
        rng = self.rng
        self.clock.now_ns = self.start_ns + int(self.span_ns * (i + rng.random() * 0.5) / max(n, 1))
        tool, template = self._pick_intent()
        order = f"A{rng.randint(10000, 99999)}"
        item = rng.choice(ITEMS)
        question = template.format(order=order, item=item, day=rng.choice(DAYS), street=rng.choice(STREETS))
        model = rng.choices(MODELS, weights=(6, 3, 2))[0]
        user = f"user-{rng.randint(1, 60):03d}"
        history_turns = rng.choice((0, 0, 1, 2, 4))
        messages = [{"role": "system", "content": SYSTEM_PROMPT}]
        for h in range(history_turns):
            messages.append({"role": "user", "content": f"(earlier) question {h + 1} about my {item}"})
            messages.append({"role": "assistant", "content": f"(earlier) answer {h + 1}"})
        messages.append({"role": "user", "content": question})

        slow_db = rng.random() < (0.2 if self.degraded else 0.04)
        tool_fails = rng.random() < (0.2 if self.degraded else 0.05)
        total_tokens = 0
        total_cost = 0.0
        with spanscope.trace(
            "chatbot.turn",
            tags={"channel": rng.choice(CHANNELS), "app.version": "1.4.0" if not self.degraded else "1.5.0-rc1"},
            metadata={"intent": tool, "locale": rng.choice(("en-US", "en-GB", "de-DE"))},
            session_id=f"session-{rng.randint(1, 120):04d}",
            user_id=user,
        ) as t:
            t.set_inputs({"messages": messages})
            # 1. the model decides which tool to call
            with spanscope.span("llm.generate", kind="llm") as s:
                self.clock.sleep(self._latency(650))
                prompt_tokens = 180 + 40 * len(messages) + rng.randint(0, 120)
                completion_tokens = rng.randint(12, 40)
                total_cost += self._usage(s, model, prompt_tokens, completion_tokens)
                total_tokens += prompt_tokens + completion_tokens
                call = {
                    "id": f"call_{rng.getrandbits(40):010x}",
                    "type": "function",
                    "function": {"name": tool, "arguments": f'{{"order_id": "{order}"}}'},
                }
                s.set_inputs({"messages": messages, "model": model, "tools": [name for name, _, _ in INTENTS]})
                s.set_outputs(
                    {
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "tool_calls",
                                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                            }
                        ]
                    }
                )
                s.add_event("tool_selected", {"tool": tool})
            # 2. the tool, with its database call
            tool_result: dict[str, object] | None = None
            try:
                tool_result = self._run_tool(tool, order, item, slow_db, tool_fails)
            except ToolError as exc:
                tool_result = {"error": str(exc)}
            # 3. the final answer
            with spanscope.span("llm.generate_final", kind="llm") as s:
                final_messages = [
                    *messages,
                    {"role": "assistant", "content": None, "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": call["id"], "content": str(tool_result)},
                ]
                self.clock.sleep(self._latency(1100 if model != "gpt-4o" else 1600))
                prompt_tokens = 260 + 45 * len(final_messages) + rng.randint(0, 200)
                completion_tokens = rng.randint(40, 260) + (150 if tool_fails else 0)
                total_cost += self._usage(s, model, prompt_tokens, completion_tokens)
                total_tokens += prompt_tokens + completion_tokens
                answer = self._answer(tool, order, item, tool_result)
                s.set_inputs({"messages": final_messages, "model": model})
                s.set_outputs(
                    {
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}
                        ]
                    }
                )
            # 4. the safety / quality check
            with spanscope.span("llm.response_check", kind="guardrail") as s:
                self.clock.sleep(self._latency(120))
                safe = max(0.0, min(1.0, rng.gauss(0.93, 0.06) - (0.25 if tool_fails else 0.0)))
                s.set_inputs({"response": answer})
                s.set_outputs({"safe": safe >= 0.7})
                s.add_finding(
                    "response_safe_score", round(safe, 3), source="llm", rationale="heuristic toxicity / policy check"
                )
            quality = rng.betavariate(6, 2)
            quality -= 0.000045 * max(0, total_tokens - 900)  # long answers tend to be worse
            quality -= 0.3 if tool_fails else 0.0
            quality -= 0.15 if slow_db else 0.0
            quality -= 0.15 if self.degraded else 0.0
            quality = round(max(0.0, min(1.0, quality)), 3)
            t.set_tag("quality_score", quality)
            t.set_tag("model", model)
            t.set_attributes(
                {
                    "usage.total_tokens": total_tokens,
                    "spanscope.cost_usd": round(total_cost, 6),
                    "gen_ai.request.model": model,
                }
            )
            t.set_outputs({"response": answer})
            if rng.random() < 0.3:
                t.add_finding("user_thumbs_up", quality > 0.6, source="human")
            return TurnResult(t.trace_id, quality, tool_fails)

    def _run_tool(self, tool: str, order: str, item: str, slow_db: bool, fails: bool) -> dict[str, object]:
        rng = self.rng
        with spanscope.span(f"llm.tools.{tool}", kind="tool") as s:
            s.set_inputs({"order_id": order})
            s.set_attribute("tool.name", tool)
            self.clock.sleep(self._latency(15))
            with spanscope.span("db.query", kind="db") as db:
                table = "messages" if tool == "get_user_message" else "orders"
                statement = f"SELECT * FROM {table} WHERE order_id = $1"
                db.set_attributes({"db.system": "postgresql", "db.statement": statement, "db.table": table})
                db.set_inputs({"statement": statement, "params": [order]})
                self.clock.sleep(self._latency(1500 if slow_db else 25, 0.5))
                rows = rng.randint(0, 3) if tool != "product_question" else 1
                db.set_attribute("db.rows", rows)
                db.set_outputs({"rows": rows})
            self.clock.sleep(self._latency(5))
            if fails:
                raise ToolError(
                    rng.choice(
                        (f"order service timed out for {order}", "upstream returned 503", f"order {order} not found")
                    )
                )
            result: dict[str, object] = {
                "order_id": order,
                "item": item,
                "status": rng.choice(("shipped", "processing", "delivered")),
            }
            s.set_outputs(result)
            return result

    @staticmethod
    def _answer(tool: str, order: str, item: str, result: dict[str, object] | None) -> str:
        if result and "error" in result:
            return (
                "I'm sorry, I couldn't reach our order system just now. I've noted your request about "
                f"order {order}; a colleague will follow up by email within 24 hours."
            )
        return {
            "get_order": f"Your order {order} ({item}) is {result.get('status') if result else 'on its way'}.",
            "request_refund": f"I've started a refund for order {order}; you'll get an email once it is approved.",
            "get_user_message": f"I found your message about the {item}; our team replied to it this morning.",
            "update_address": f"Done: the delivery address of order {order} is updated.",
            "escalate": f"I'm connecting you with a human agent about order {order} now.",
            "product_question": f"Yes, the {item} comes with a two-year warranty.",
        }[tool]


class ToolError(RuntimeError):
    pass


def simulate(n: int, seed: int = 7, start_ns: int = 0, degraded: bool = False) -> list[TurnResult]:
    """Run ``n`` turns through the configured SDK with simulated time; restores the real clock after."""
    sim = ChatbotSimulator(seed=seed, start_ns=start_ns, degraded=degraded)
    set_clock(sim.clock)
    try:
        return [sim.turn(i, n) for i in range(n)]
    finally:
        set_clock(None)
