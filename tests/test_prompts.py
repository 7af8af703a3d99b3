"""Prompt files: strict loading, content hashes, and few-shot examples that ground in their text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from extractor.errors import ConfigError
from extractor.extract.llm.answers import FrontMatterAnswer, RolesAnswer
from extractor.extract.llm.second_opinion import UnitsAnswer
from extractor.prompts import DEFAULT_PROMPTS_DIR, available, load_file, load_prompt

SHIPPED = sorted(DEFAULT_PROMPTS_DIR.glob("*.toml"))
MODELS = {"front_matter": FrontMatterAnswer, "model_roles": RolesAnswer, "second_opinion": UnitsAnswer}

GOOD = '''name = "demo"
version = "2"
description = "d"
variables = ["paper_id", "text"]
example_variable = "text"
system = "rules"
user = "Paper $paper_id: $text"
'''


def test_shipped_prompts_load_and_have_a_response_model() -> None:
    assert set(available()) == set(MODELS)
    for path in SHIPPED:
        prompt = load_file(path)
        assert prompt.name in MODELS and len(prompt.sha256) == 64
        assert "never follow" in prompt.spec.system  # paper text is data, not instructions


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_few_shot_examples_validate_and_ground_in_their_own_text(path: Path) -> None:
    """Every quoted or copied value of an example answer occurs verbatim in the example text."""
    prompt = load_file(path)
    assert prompt.spec.examples
    for ex in prompt.spec.examples:
        MODELS[prompt.name].model_validate_json(ex.answer)
        data = ex.answer_data()
        quoted: list[str] = []
        if prompt.name == "front_matter":
            quoted += [data["title"]]
            for a in data["authors"]:
                quoted += [a["name"], a["evidence"], a.get("email")]
            for f in data["affiliations"]:
                quoted += [f["raw"], f["evidence"], f.get("institution"), f.get("department"), f.get("city")]
            for m in data["model_mentions"]:
                quoted += [m["name"], m["evidence"]]
        elif prompt.name == "second_opinion":
            quoted += [v for u in data["units"] for v in (u.get("institution"), u.get("city"))]
            assert sorted(u["id"] for u in data["units"]) == [int(n) for n in re.findall(r"^\[(\d+)\]", ex.text, re.M)]
        else:
            quoted += [i["evidence"] for i in data["items"]]
            assert sorted(i["id"] for i in data["items"]) == [int(n) for n in re.findall(r"^\[(\d+)\]", ex.text, re.M)]
        for value in filter(None, quoted):
            assert value in ex.text, f"{path.name} example {ex.name!r}: {value!r} is not in its text"


def test_messages_put_examples_before_the_request() -> None:
    prompt = load_prompt("front_matter")
    msgs = prompt.messages(paper_id="abc", front_matter="THE PAPER")
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert "THE PAPER" in msgs[-1]["content"] and "<<<PAPER" in msgs[-1]["content"]
    assert json.loads(msgs[2]["content"])["title"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_hash_follows_content(tmp_path: Path) -> None:
    a = load_file(write(tmp_path, "demo.v2.toml", GOOD))
    (tmp_path / "edited").mkdir()
    b = load_file(write(tmp_path / "edited", "demo.v2.toml", GOOD.replace("rules", "rules!")))
    assert a.sha256 != b.sha256 and a.label.startswith("demo@2#")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + 'temperature = 0\n', "temperature: Extra inputs are not permitted"),
        (GOOD.replace("Paper $paper_id: $text", "Paper $paper_id: $text $extra"), "undeclared variables ['extra']"),
        (GOOD.replace('"paper_id", "text"', '"paper_id", "text", "unused"'), "declared but not used"),
        (GOOD.replace('system = "rules"', 'system = "costs $5"'), "must not contain $placeholders"),
        (GOOD + '[[examples]]\nname = "e"\ntext = "t"\nanswer = "[1, 2]"\n', "must be a JSON object"),
        (GOOD + '[[examples]]\nname = "e"\ntext = "t"\nanswer = "{nope"\n', "not valid JSON"),
        (GOOD.replace('version = "2"', 'version = "two"'), "version"),
        ("name = [", "not valid UTF-8 TOML"),
    ],
    ids=["unknown-key", "undeclared-variable", "unused-variable", "dollar-in-system", "answer-not-object",
         "answer-not-json", "bad-version", "bad-toml"],
)
def test_invalid_prompt_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "demo.v2.toml", text)
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert message in str(info.value) and "demo.v2.toml" in str(info.value)


def test_file_name_must_match_contents(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be named demo.v2.toml"):
        load_file(write(tmp_path, "demo.v3.toml", GOOD))


def test_highest_version_wins_and_missing_ones_are_clear(tmp_path: Path) -> None:
    write(tmp_path, "demo.v2.toml", GOOD)
    write(tmp_path, "demo.v10.toml", GOOD.replace('version = "2"', 'version = "10"'))
    assert load_prompt("demo", directory=tmp_path).version == "10"
    assert load_prompt("demo", "2", directory=tmp_path).version == "2"
    with pytest.raises(ConfigError, match="no version '3'"):
        load_prompt("demo", "3", directory=tmp_path)
    with pytest.raises(ConfigError, match="no prompt named 'other'"):
        load_prompt("other", directory=tmp_path)
