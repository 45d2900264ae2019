"""``reportgen new``: the scaffolded config is valid, complete, builds, and never overwrites."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from reportgen.build import build
from reportgen.chart_blocks import CHARTS
from reportgen.config import BlockConfig, load_config
from reportgen.dataset import COLUMNS, CSV_FILES
from reportgen.errors import UsageError
from reportgen.scaffold import scaffold_report
from reportgen.tables import TABLES
from reportgen.validate import validate
from tests.dataset_factory import write_dataset

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


def test_new_config_shows_every_kind_and_validates_on_the_sample(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    created = scaffold_report("fund_flows-q1", folder, None)
    config = folder / "fund_flows-q1.yaml"
    commentary = folder / "commentary" / "fund_flows-q1.md"
    assert created == [config, commentary]

    assert validate(config, data_dir=SAMPLE, as_of=None) == []

    model = load_config(config).model
    assert model.id == "fund_flows-q1"
    blocks = [block for section in model.sections for block in section.blocks]
    assert {block.kind for block in blocks} == set(BlockConfig.model_fields)
    assert {b.table.kind for b in blocks if b.table} == set(TABLES)
    assert {b.chart.kind for b in blocks if b.chart} == set(CHARTS)
    assert [b.paragraph_file for b in blocks if b.paragraph_file] == ["commentary/fund_flows-q1.md"]
    assert model.funds and model.key_figures and model.disclaimer.strip()
    assert model.footer_disclaimer and model.legends
    # every top-level setting appears, set or as a commented example
    text = config.read_text(encoding="utf-8")
    for key in ("scenario", "compliance", "assumptions", "templates", "waivers"):
        assert re.search(rf"^\s*#?\s*{key}:", text, re.MULTILINE), key
    # figures come from facts, not typed by hand
    assert "{{ fact(" in commentary.read_text(encoding="utf-8")


def test_new_config_builds_on_the_sample_and_on_another_dataset(tmp_path: Path) -> None:
    scaffold_report("draft", tmp_path / "config", None)
    config = tmp_path / "config" / "draft.yaml"
    result = build(config, SAMPLE, date(2026, 3, 31), tmp_path / "out")
    html = result.files["report.html"].decode("utf-8")
    assert "Theme Index Gains" in html
    assert "Frequently Asked Questions" in html
    # a new note starts compliant: no finding at all on the sample
    findings = json.loads(result.files["compliance.json"])
    assert findings["summary"]["total"] == 0, findings["findings"]
    # the same text reads on any dataset (the test factory's tiny one)
    other = write_dataset(tmp_path / "tiny")
    assert validate(config, data_dir=other, as_of=date(2026, 1, 30)) == []


def test_dataset_template_has_the_contract_headers(tmp_path: Path) -> None:
    dataset = tmp_path / "data" / "new"
    created = scaffold_report("x", tmp_path / "config", dataset)
    assert {p.name for p in created if p.parent == dataset} == {
        *(f"{stem}.csv" for stem in CSV_FILES),
        "sources.yaml",
    }
    for stem in CSV_FILES:
        with (dataset / f"{stem}.csv").open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows == [list(COLUMNS[stem])], stem
    sources_text = (dataset / "sources.yaml").read_text(encoding="utf-8")
    assert sources_text.startswith("#")
    sources = yaml.safe_load(sources_text)
    assert set(sources) == {*CSV_FILES, "label"}
    assert all(sources[stem]["source"] for stem in CSV_FILES)


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    scaffold_report("note", folder, None)
    config = folder / "note.yaml"
    config.write_text("id: mine\n", encoding="utf-8")
    with pytest.raises(UsageError, match="refusing to overwrite"):
        scaffold_report("note", folder, None)
    assert config.read_text(encoding="utf-8") == "id: mine\n"

    # one existing file among many: nothing at all is created
    dataset = tmp_path / "data"
    dataset.mkdir()
    (dataset / "prices.csv").write_text("mine\n", encoding="utf-8")
    with pytest.raises(UsageError, match=re.escape(str(dataset / "prices.csv"))):
        scaffold_report("other", folder, dataset)
    assert not (folder / "other.yaml").exists()
    assert not (folder / "commentary" / "other.md").exists()
    assert sorted(p.name for p in dataset.iterdir()) == ["prices.csv"]
    assert (dataset / "prices.csv").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize(
    "name", ["", "Note", "1note", "_note", "-note", "my note", "note.v2", "../note", "n/x", "n\n"]
)
def test_refuses_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError, match="report name"):
        scaffold_report(name, tmp_path, tmp_path / "data")
    assert list(tmp_path.iterdir()) == []
