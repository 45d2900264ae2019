"""Publishing a build's files: all or nothing, never over someone else's folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from reportgen import output
from reportgen.errors import UsageError
from reportgen.output import MARKER, _recover, check_replaceable, publish
from tests.cli_runner import snapshot


def reportgen_manifest(build: int) -> bytes:
    """A manifest as reportgen writes one: only such a folder may be replaced."""
    return (
        b'{"inputs": {"as_of": "2026-03-31", "build": %d, "versions": {"reportgen": "0.1.0"}},'
        b' "outputs": {}}\n' % build
    )


V1 = {
    MARKER: reportgen_manifest(1),
    "note.html": b"<html>one</html>\n",
    "only-in-v1.txt": b"old\n",
    "charts/flows.svg": b"<svg>1</svg>\n",
}
V2 = {
    MARKER: reportgen_manifest(2),
    "note.html": b"<html>two</html>\n",
    "note.pdf": b"%PDF-1.7 two\n",
    "charts/flows.svg": b"<svg>2</svg>\n",
    "charts/deep/x.svg": b"<svg>x</svg>\n",
}


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


@pytest.fixture
def out(tmp_path: Path) -> Path:
    parent = tmp_path / "builds"
    parent.mkdir()
    return parent / "out"


def test_publish_writes_every_file(out: Path) -> None:
    publish(out, V1)
    assert snapshot(out) == V1
    assert siblings(out) == ["out"]  # no staging folder left beside it
    assert stat.S_IMODE(out.stat().st_mode) == 0o755


def test_publish_creates_missing_parents(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    publish(out, V1)
    assert snapshot(out) == V1


def test_replacing_an_output_swaps_it_whole(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(out, V1)
    seen: list[str] = []

    def state() -> str:
        if not out.exists():
            return "missing"
        now = snapshot(out)
        if now == V1:
            return "v1"
        if now == V2:
            return "v2"
        return f"MIXED {sorted(now)}"

    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        seen.append(state())
        real_fsync(fd)

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(state())
        real_rename(src, dst)
        seen.append(state())

    monkeypatch.setattr(output.os, "fsync", fsync)
    monkeypatch.setattr(output.os, "rename", rename)
    publish(out, V2)
    monkeypatch.undo()

    assert snapshot(out) == V2  # only-in-v1.txt is gone
    assert siblings(out) == ["out"]  # no staging, no old folder
    # readers only ever saw the complete old set, then the complete new one
    assert all(s in ("v1", "v2", "missing") for s in seen), seen
    assert seen[: len(V2)] == ["v1"] * len(V2)  # files are written aside, not into out
    assert seen[-1] == "v2"


def test_an_empty_existing_folder_may_be_used(out: Path) -> None:
    out.mkdir()
    publish(out, V1)
    assert snapshot(out) == V1
    assert siblings(out) == ["out"]


def test_a_folder_reportgen_did_not_write_is_never_replaced(out: Path) -> None:
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    (out / "sub").mkdir()
    (out / "sub" / "notes.txt").write_bytes(b"more")
    before = snapshot(out)
    with pytest.raises(UsageError) as info:
        publish(out, V1)
    assert MARKER in str(info.value)
    assert str(out) in str(info.value)
    assert info.value.exit_code == 2
    assert snapshot(out) == before
    assert siblings(out) == ["out"]
    with pytest.raises(UsageError):
        check_replaceable(out)


def test_a_file_in_the_way_is_refused(out: Path) -> None:
    out.write_bytes(b"not a folder")
    with pytest.raises(UsageError, match="found a file"):
        publish(out, V1)
    assert out.read_bytes() == b"not a folder"
    assert siblings(out) == ["out"]


def _fail_on_call(n: int, real: Callable[..., object]) -> Callable[..., object]:
    calls = {"n": 0}

    def wrapper(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(28, "No space left on device")
        return real(*args)

    return wrapper


def test_a_failure_mid_write_keeps_the_previous_output(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(out, V1)
    monkeypatch.setattr(output.os, "fsync", _fail_on_call(3, os.fsync))
    with pytest.raises(OSError, match="No space left"):
        publish(out, V2)
    monkeypatch.undo()
    assert snapshot(out) == V1
    assert siblings(out) == ["out"]  # the staging folder was removed


def test_a_failure_mid_write_of_a_first_build_leaves_nothing(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open

    def failing_open(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "note.pdf":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(PermissionError):
        publish(out, V2)
    monkeypatch.undo()
    assert not out.exists()
    assert siblings(out) == []


def test_a_failure_in_the_swap_keeps_the_previous_output(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second rename (staging -> out) fails: the previous output must be back in
    place when publish returns, not only after the next build's recovery."""
    publish(out, V1)
    real_rename = os.rename

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".staging-" in Path(src).name:
            raise OSError(5, "Input/output error")
        real_rename(src, dst)

    monkeypatch.setattr(output.os, "rename", rename)
    with pytest.raises(OSError, match="Input/output"):
        publish(out, V2)
    monkeypatch.undo()
    assert out.is_dir()
    assert snapshot(out) == V1
    assert siblings(out) == ["out"]


def _interrupt_between_renames(out: Path) -> Path:
    """What a build killed between its two renames leaves: out moved aside, nothing new."""
    old = output._old(out)
    os.rename(out, old)
    return old


def test_recover_restores_an_output_whose_swap_was_interrupted(out: Path) -> None:
    publish(out, V1)
    old = _interrupt_between_renames(out)
    assert not out.exists()
    _recover(out)
    assert snapshot(out) == V1
    assert not old.exists()
    assert siblings(out) == ["out"]


def test_recover_does_nothing_when_the_output_is_in_place(out: Path) -> None:
    publish(out, V1)
    _recover(out)
    assert snapshot(out) == V1
    _recover(out.parent / "never-built")
    assert not (out.parent / "never-built").exists()
    _recover(out.parent / "no-such-parent" / "out")  # a missing parent is not an error


def test_the_next_build_recovers_then_replaces(out: Path) -> None:
    publish(out, V1)
    _interrupt_between_renames(out)
    # a check before any work (what `build` runs first) already puts the old output back
    check_replaceable(out)
    assert snapshot(out) == V1
    _interrupt_between_renames(out)
    publish(out, V2)
    assert snapshot(out) == V2
    assert siblings(out) == ["out"]


def test_a_recovered_folder_is_still_protected(out: Path) -> None:
    """Recovery must not turn someone's folder into a replaceable one, nor lose it."""
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    _interrupt_between_renames(out)
    with pytest.raises(UsageError):
        publish(out, V1)
    assert snapshot(out) == {"thesis.docx": b"years of work"}


def test_a_leftover_old_folder_is_cleaned_up_by_the_next_build(out: Path) -> None:
    """A build killed after its swap but during the removal of the old folder leaves a
    partial ``.out.old`` beside a complete ``out``. The next build must not leave it
    lying there (a later recovery could restore that partial copy)."""
    publish(out, V1)
    stale = output._old(out)
    stale.mkdir()
    (stale / "note.html").write_bytes(b"<html>half deleted</html>\n")
    publish(out, V2)
    assert snapshot(out) == V2
    assert siblings(out) == ["out"]
