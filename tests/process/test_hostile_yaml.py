"""Hostile process definitions — alias bombs, self-reference, deep nesting, sheer size — are
refused with a problem a person can read, quickly and without growing the process, through the
service, the settings page and `salesline process load`. Nothing is loaded."""

import time
import tracemalloc

import pytest
from django.test import Client

from salesline import cli
from salesline.core.errors import ValidationFailed
from salesline.process.definition import MAX_DEFINITION_CHARS, DefinitionError, load_yaml
from salesline.process.selectors import definition_row_for
from salesline.process.services import process_check


def billion_laughs(levels: int = 9) -> str:
    lines = ["name: Laughs", 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        this, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{this}: &{this} [" + ", ".join([f"*{previous}"] * 10) + "]")
    lines.append(f"pipelines: *{chr(ord('a') + levels)}")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "billion laughs": (billion_laughs(), "aliases expand it to more than 50,000 values"),
    "self-referencing sequence": ("name: X\npipelines: &p [*p]\n", "an alias refers to a node"),
    "self-referencing mapping": ("name: X\npipelines: &p {a: *p}\n", "an alias refers to a node"),
    "5,000 levels of flow nesting": (
        "name: X\npipelines: " + "[" * 5000 + "]" * 5000 + "\n",
        "nests more than 64 levels deep",
    ),
    "5,000 levels of block nesting": (
        "name: X\npipelines:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 300)),
        "nests more than 64 levels deep",
    ),
    "too long": ("name: X\ndescription: " + "x" * MAX_DEFINITION_CHARS + "\n", "the limit is"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_the_loader_refuses_quickly_in_little_memory(case):
    text, message = HOSTILE[case]
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(DefinitionError) as refused:
            load_yaml(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message in str(refused.value)
    # Bounds, not timings: a bomb that got through would take minutes and gigabytes.
    assert time.perf_counter() - started < 30
    assert peak < 200 * 1024 * 1024


def test_a_few_aliases_are_still_fine():
    data, _, problems = load_yaml("shared: &gate {require: [value]}\na: *gate\nb: *gate\n")
    assert problems == []
    assert data["a"] == data["b"] == {"require": ["value"]}


@pytest.mark.parametrize("case", HOSTILE)
def test_the_service_refuses_with_a_problem(admin_actor, case):
    text, message = HOSTILE[case]
    with pytest.raises(ValidationFailed) as refused:
        process_check(actor=admin_actor, text=text)
    assert any(message in problem.msg for problem in refused.value.problems)


@pytest.mark.parametrize("case", HOSTILE)
def test_the_settings_page_shows_the_problem_and_loads_nothing(admin_user, org, case):
    text, message = HOSTILE[case]
    client = Client()
    client.force_login(admin_user)
    version = definition_row_for(org).version
    response = client.post("/settings/process/upload/", {"source": text})
    assert response.status_code == 422
    assert any(message.lower() in p.message.lower() for p in response.context["problems"])
    assert definition_row_for(org).version == version


@pytest.mark.parametrize("case", HOSTILE)
def test_process_load_check_reports_the_problem(org, tmp_path, capsys, case):
    text, message = HOSTILE[case]
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    for check in (["--check"], []):
        code = cli.main(["process", "load", str(path), "--org", org.slug, *check])
        out, err = capsys.readouterr()
        assert (code, out) == (1, "")
        assert err.startswith("error: The process definition is not valid.\n")
        assert message in err
    assert definition_row_for(org).version == 1
