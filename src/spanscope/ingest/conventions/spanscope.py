"""spanscope's own keys, as the SDK's OTLP exporter (``spanscope.sdk.otlp_export``) sends them.

``spanscope.span.kind`` is the model's kind exactly (it covers kinds OpenInference lacks: ``db``, ``http``…);
``spanscope.tag.<key>`` and ``spanscope.metadata.<key>`` (JSON text for non-scalars) go back to the trace's
tags and metadata. ``session.id`` / ``user.id`` and the inputs/outputs travel as OpenInference keys and the
findings as ``gen_ai.evaluation.result`` events, which their own translators read.
"""

from __future__ import annotations

from collections.abc import Set

from spanscope.ingest.conventions.base import Translation, Translator, parse_json
from spanscope.model import SPAN_KINDS, Span

_TAG = "spanscope.tag."
_METADATA = "spanscope.metadata."


class Spanscope(Translator):
    name = "spanscope"

    def matches(self, span: Span, roots: Set[str]) -> bool:
        return "spanscope" in roots

    def translate(self, span: Span, out: Translation) -> None:
        a = span.attributes
        kind = a.get("spanscope.span.kind")
        if kind in SPAN_KINDS:
            out.set_kind(kind)  # type: ignore[arg-type]
        for key, value in a.items():
            if key.startswith(_TAG):
                out.add_tags({key[len(_TAG) :]: value})
            elif key.startswith(_METADATA):
                out.add_metadata({key[len(_METADATA) :]: parse_json(value)})
