"""``spanscope datasets …`` and ``spanscope eval …`` against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spanscope.cli.main import main
from spanscope.server import ServerThread

APP = """
import spanscope

def answer(input):
    with spanscope.span("llm.generate", kind="llm") as s:
        s.set_attribute("usage.total_tokens", 30)
    return "Yes." if "{good}" in input else "No."
"""


def test_datasets_and_eval_commands(server: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ep = ["--endpoint", server.url, "--project", "cli"]
    rows = "".join(f"question {i},Yes.\n" for i in range(24))
    (tmp_path / "records.csv").write_text("input,expected\n" + rows)
    assert (
        main(["datasets", "create", "faq", "--description", "FAQ", "--from-file", str(tmp_path / "records.csv"), *ep])
        == 0
    )
    assert "added 24 record(s)" in capsys.readouterr().out
    assert main(["datasets", "list", *ep]) == 0
    assert "faq" in capsys.readouterr().out
    assert main(["datasets", "show", "faq", "--limit", "3", *ep]) == 0
    shown = capsys.readouterr().out
    assert "version 1 of 1: 24 record(s)" in shown and "question 0" in shown
    out_csv = tmp_path / "faq.csv"
    assert main(["datasets", "export", "faq", "--format", "csv", "-o", str(out_csv), *ep]) == 0
    assert out_csv.read_text().splitlines()[0] == "record_id,input,expected,source_trace_id,source_span_id"
    assert main(["datasets", "export", "faq", "--format", "openai", "-o", str(tmp_path / "ft.jsonl"), *ep]) == 0
    first = json.loads((tmp_path / "ft.jsonl").read_text().splitlines()[0])
    assert first == {"messages": [{"role": "user", "content": "question 0"}, {"role": "assistant", "content": "Yes."}]}

    (tmp_path / "bot_a.py").write_text(APP.replace("{good}", "1"))  # right for questions with a 1 in them
    (tmp_path / "bot_b.py").write_text(APP.replace("{good}", "question"))  # right for all
    for name, module in (("cli-a", "bot_a"), ("cli-b", "bot_b")):
        app = f"{tmp_path / module}.py:answer"
        scorers = ["--scorer", "exact_match", "--scorer", "token_budget(100)"]
        code = main(["eval", "run", "--dataset", "faq", "--app", app, *scorers, "--name", name, "--no-progress", *ep])
        assert code == 0
    ran = capsys.readouterr().out
    assert "exact_match" in ran and "run id:" in ran
    assert main(["eval", "compare", "cli-a", "cli-b", *ep]) == 0
    compared = capsys.readouterr().out
    assert "A = cli-a" in compared and "better" in compared and "token_budget_100" in compared
    assert main(["eval", "compare", "cli-a", "cli-b", "--json", *ep]) == 0
    data = json.loads(capsys.readouterr().out)
    verdicts = {m["metric"]: m["verdict"] for m in data["metrics"]}
    assert verdicts == {"exact_match": "better", "token_budget_100": "no significant change"}
    assert main(["eval", "list", "--dataset", "faq", *ep]) == 0
    assert "cli-b" in capsys.readouterr().out
    assert main(["eval", "show", "cli-a", *ep]) == 0

    runs = "tag.`spanscope.run` = 'cli-b'"
    assert main(["datasets", "add-traces", "faq", runs, "--map", "input=span.inputs.input", "--sample", "5", *ep]) == 0
    assert "added 0, 24 duplicate(s)" in capsys.readouterr().out  # every input is one of the CSV records
    maps = ["--map", "q=span.inputs.input", "--map", "a=span.outputs"]
    assert main(["datasets", "add-traces", "faq", runs, *maps, "--sample", "5", "--seed", "3", *ep]) == 0
    assert "added 5" in capsys.readouterr().out
    assert main(["datasets", "diff", "faq", "1", "2", *ep]) == 0
    assert "5 added, 0 removed, 0 changed" in capsys.readouterr().out

    assert main(["datasets", "show", "nope", *ep]) == 1
    assert "404" in capsys.readouterr().err
    assert main(["eval", "run", "--dataset", "faq", "--app", "no_such_module:x", *ep]) == 2
    assert main(["datasets", "add-traces", "faq", "tag.x <", "--map", "a=tag.x", *ep]) == 2
