"""The manual in docs/: the generated configuration reference is current, every relative
link resolves, and the site builds with MkDocs in strict mode (any warning fails)."""

from __future__ import annotations

import difflib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATOR = ROOT / "scripts" / "gen_config_reference.py"

#: ``[text](target)`` and ``![alt](target)``, the target up to a space or ")".
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def _generator() -> ModuleType:
    """scripts/gen_config_reference.py as a module (scripts/ is not a package)."""
    name = "gen_config_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, GENERATOR)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up while being defined
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_config_reference_matches_the_schema() -> None:
    generated = _generator().render()
    committed = (DOCS / "config-reference.md").read_text(encoding="utf-8")
    if generated != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                generated.splitlines(keepends=True),
                "docs/config-reference.md (committed)",
                "docs/config-reference.md (from the schema)",
            )
        )
        raise AssertionError(
            "docs/config-reference.md is out of date with the config schema; regenerate it "
            f"with:\n    .venv/bin/python scripts/gen_config_reference.py\n\n{diff}"
        )


def test_config_reference_covers_every_key_and_kind() -> None:
    """Not only identical to the generator's output: the output itself is complete."""
    from reportgen.chart_blocks import CHARTS
    from reportgen.config import ReportConfig
    from reportgen.tables import TABLES

    gen = _generator()
    text = gen.render()
    for section in gen.walk(ReportConfig):
        path = section.place.path
        assert f'<a id="{section.place.anchor}"></a>' in text, path
        table = text.split(f'<a id="{section.place.anchor}"></a>', 1)[1].split("<a id=", 1)[0]
        for name in section.model.model_fields:
            assert f"| `{name}` |" in table, f"{path}.{name} missing from its table"
    for kind in [*TABLES, *CHARTS]:
        assert f"| `{kind}` |" in text, kind
    # a few facts of the schema, in the words the page uses
    assert "| `page_size` | one of `A4`, `Letter` | `A4` |" in text
    assert "| `id` | text, lowercase letters, digits, `_` and `-`, starting with a letter |" in text
    assert "each more than 0 and at most 1; at least 1 item | `[0.1, 0.2]` |" in text
    assert "Distinct reviewers who must approve the same draft" in text  # a field docstring


def test_generator_check_mode_exits_1_on_a_stale_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gen = _generator()
    stale = tmp_path / "config-reference.md"
    stale.write_text(gen.render().replace("Distinct reviewers", "Some reviewers"), encoding="utf-8")
    monkeypatch.setattr(gen, "OUTPUT", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "-| `required_approvers` |" in out and "+| `required_approvers` |" in out
    assert "regenerate it with: .venv/bin/python scripts/gen_config_reference.py" in out
    stale.write_text(gen.render(), encoding="utf-8")
    assert gen.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8") == gen.render()  # --check never writes


def _links(markdown: str) -> list[str]:
    """Link targets outside code: fenced blocks, indented blocks and code spans are text."""
    text = _FENCE.sub("", markdown)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("    "))
    text = _CODE_SPAN.sub("", text)
    return _LINK.findall(text)


def test_every_relative_link_in_the_docs_points_at_a_file() -> None:
    pages = sorted(DOCS.glob("*.md"))
    assert len(pages) >= 10
    broken = []
    for page in pages:
        for target in _links(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a web address, or a place on the same page
            path = target.split("#", 1)[0]
            if not (page.parent / path).resolve().is_file():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


def test_link_finder_sees_links_and_skips_code() -> None:
    sample = (
        "See [the guide](guide.md#setup) and ![a chart](images/c.png).\n"
        "`[not](a-link.md)`\n\n    [indented](code.md)\n\n```\n[fenced](code.md)\n```\n"
    )
    assert _links(sample) == ["guide.md#setup", "images/c.png"]


def _nav_pages(nav: list[object]) -> list[str]:
    pages: list[str] = []
    for item in nav:
        if isinstance(item, dict):
            for value in item.values():
                pages += _nav_pages(value) if isinstance(value, list) else [str(value)]
        else:
            pages.append(str(item))
    return pages


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    nav = _nav_pages(config["nav"])
    assert sorted(nav) == sorted(p.name for p in DOCS.glob("*.md"))


def test_the_manual_builds_with_mkdocs_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    try:
        import mkdocs  # noqa: F401
    except ImportError as exc:  # a failure, not a skip: the manual must keep building
        raise AssertionError(
            "mkdocs is not installed in this environment; run: bash scripts/setup.sh --dev"
        ) from exc
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert "WARNING" not in done.stderr, done.stderr
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for page in _nav_pages(config["nav"]):
        stem = page.removesuffix(".md")
        html_file = site / ("index.html" if stem == "index" else f"{stem}/index.html")
        assert html_file.is_file(), f"{page} was not built into {html_file}"
        html = html_file.read_text(encoding="utf-8")
        title = next(
            line[2:].strip()
            for line in (DOCS / page).read_text(encoding="utf-8").splitlines()
            if line.startswith("# ")
        )
        assert f">{_html_text(title)}<" in html.replace("\n", " "), f"{page}: no heading {title!r}"
    reference = (site / "config-reference" / "index.html").read_text(encoding="utf-8")
    assert 'id="key-sections-n-blocks-n-table"' in reference
    assert (site / "images" / "first-page.png").is_file()
    # the site reads offline: no script or style sheet from another server
    for html_file in site.rglob("*.html"):
        text = html_file.read_text(encoding="utf-8")
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", text), html_file


def _html_text(text: str) -> str:
    """A Markdown heading as MkDocs renders its text (code spans and escapes)."""
    text = re.sub(r"`([^`]*)`", r"<code>\1</code>", text)
    return text.replace("&", "&amp;")
