"""The built-in process definition templates (YAML files shipped in salesline/process/templates)."""

from importlib import resources

_TEMPLATES_PACKAGE = "salesline.process"


def template_names() -> list[str]:
    folder = resources.files(_TEMPLATES_PACKAGE).joinpath("templates")
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def template_text(name: str) -> str:
    # Checked against the listing so a name can never reach outside the templates folder.
    if name not in template_names():
        raise KeyError(name)
    folder = resources.files(_TEMPLATES_PACKAGE).joinpath("templates")
    return folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8")
