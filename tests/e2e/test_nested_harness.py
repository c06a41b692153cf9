"""Pieces of the nested-KVM harness (tests/nested/nested.py) that need no guest."""
import nested


def guest_with_console(tmp_path, text):
    g = nested.NestedGuest.__new__(nested.NestedGuest)
    g.console = str(tmp_path / "console.log")
    g._console_pos = 0
    (tmp_path / "console.log").write_bytes(text)
    return g


def append(tmp_path, text):
    with open(tmp_path / "console.log", "ab") as f:
        f.write(text)


def test_a_lasting_soft_lockup_is_a_stuck_guest(tmp_path):
    g = guest_with_console(
        tmp_path,
        b"[  577.17] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [MHD-single:2081]\n"
        b"[  605.17] watchdog: BUG: soft lockup - CPU#1 stuck for 48s! [MHD-single:2081]\n")
    assert g._console_lockup() is None  # short ones pass
    append(tmp_path, b"[  633.17] watchdog: BUG: soft lockup - CPU#1 stuck for 74s! "
                     b"[MHD-single:2081]\n")
    assert g._console_lockup() == "a soft lockup of CPU#1 for 74 s (task MHD-single:2081)"
    # what was read is not reported again
    assert g._console_lockup() is None


def test_a_line_being_written_is_read_when_complete(tmp_path):
    g = guest_with_console(tmp_path, b"[ 1.0] boot\n[ 633.17] watchdog: BUG: soft lockup - "
                                     b"CPU#0 stuck for 7")
    assert g._console_lockup() is None
    append(tmp_path, b"4s! [kworker/0:1]\n")
    assert g._console_lockup() == "a soft lockup of CPU#0 for 74 s (task kworker/0:1)"


def test_no_console_is_no_lockup(tmp_path):
    g = guest_with_console(tmp_path, b"")
    g.console = str(tmp_path / "absent.log")
    assert g._console_lockup() is None
