import pytest

from mediaopt._atomic import atomic_path, write_text


def test_write_replaces_whole_file(tmp_path):
    p = tmp_path / "out.json"
    write_text(p, "one")
    write_text(p, "two")
    assert p.read_text() == "two"
    assert [f.name for f in tmp_path.iterdir()] == ["out.json"]


def test_failure_leaves_previous_content_and_no_temp(tmp_path):
    p = tmp_path / "out.json"
    p.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["out.json"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_text(tmp_path / "nope" / "x.txt", "x")


def test_only_regular_files_are_replaced(tmp_path):
    from mediaopt._atomic import check_output
    from mediaopt.errors import InputError

    target = tmp_path / "t.txt"
    target.write_text("keep")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with pytest.raises(InputError, match="is a symbolic link"):
        write_text(link, "x")
    assert link.is_symlink() and target.read_text() == "keep"
    with pytest.raises(InputError, match="is a character device"):
        check_output("/dev/null")
    target.chmod(0o444)
    with pytest.raises(InputError, match="is read-only"):
        write_text(target, "x")
    assert target.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "t.txt"]


def test_a_destination_name_at_the_length_limit_still_gets_a_temp(tmp_path):
    p = tmp_path / ("n" * 250)
    write_text(p, "long")
    assert p.read_text() == "long"
    assert [f.name for f in tmp_path.iterdir()] == [p.name]
