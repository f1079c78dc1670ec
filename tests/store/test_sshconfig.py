"""Reading OpenSSH client configs into devices: Include, patterns, Match and ProxyJump."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mudmap_tui.sshconfig import SshConfigError, parse, plan_import, split_arguments
from mudmap_tui.store.models import Device


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def devices_by_name(devices: list[Device]) -> dict[str, Device]:
    return {device.name: device for device in devices}


def test_concrete_hosts_become_devices(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        Host edge1
            HostName 192.0.2.10
            User admin
            Port 2222
            IdentityFile ~/.ssh/edge
        Host edge2 edge3
            HostName %h.example.net
        """,
    )

    plan = plan_import(config, ssh_dir=tmp_path)

    devices = devices_by_name(plan.devices)
    assert list(devices) == ["edge1", "edge2", "edge3"]
    edge1 = devices["edge1"]
    assert (edge1.host, edge1.user, edge1.port) == ("192.0.2.10", "admin", 2222)
    assert edge1.identity_file == "~/.ssh/edge"
    assert devices["edge2"].host == "edge2.example.net"
    assert devices["edge3"].host == "edge3.example.net"
    assert devices["edge3"].port == 22
    assert plan.notes == []


def test_keywords_case_insensitive_and_equals(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        HOST lab1
          hostname=10.0.0.1
          PORT = 2200
          user    root
          IdentityFile "/keys/my key"
        """,
    )

    device = plan_import(config, ssh_dir=tmp_path).devices[0]

    assert device.host == "10.0.0.1"
    assert device.port == 2200
    assert device.user == "root"
    assert device.identity_file == "/keys/my key"


def test_first_value_wins_across_blocks(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        Host lab1
            User first
        Host lab*
            User second
            Port 2022
        Host *
            Port 3033
            IdentityFile ~/.ssh/fleet
        """,
    )

    plan = plan_import(config, ssh_dir=tmp_path)

    device = plan.devices[0]
    assert [d.name for d in plan.devices] == ["lab1"]
    assert (device.user, device.port, device.identity_file) == ("first", 2022, "~/.ssh/fleet")


def test_wildcard_and_negated_patterns_skipped(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        Host *.example.com db? !bastion web1
            User ops
        """,
    )

    plan = plan_import(config, ssh_dir=tmp_path)

    assert [device.name for device in plan.devices] == ["web1"]
    assert plan.devices[0].user == "ops"
    assert len(plan.notes) == 3
    assert "'*.example.com'" in plan.notes[0]
    assert "'db?'" in plan.notes[1]
    assert "negated Host pattern '!bastion'" in plan.notes[2]
    assert all(note.startswith(f"{config}:1:") for note in plan.notes)


def test_negated_pattern_excludes_block(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        Host web1 web2
        Host * !web2
            Port 2200
        """,
    )

    devices = devices_by_name(plan_import(config, ssh_dir=tmp_path).devices)

    assert devices["web1"].port == 2200
    assert devices["web2"].port == 22


def test_match_block_skipped(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        Host lab1
            HostName 10.0.0.1
        Match host lab1 exec "test -f /tmp/x"
            User fromMatch
            Port 9999
        Host lab2
            HostName 10.0.0.2
        """,
    )

    plan = plan_import(config, ssh_dir=tmp_path)

    devices = devices_by_name(plan.devices)
    assert list(devices) == ["lab1", "lab2"]
    assert devices["lab1"].user is None
    assert devices["lab1"].port == 22
    assert devices["lab2"].host == "10.0.0.2"
    assert len(plan.notes) == 1
    assert plan.notes[0].startswith(f"{config}:3: skipped Match block")


def test_include_relative_to_ssh_dir(tmp_path: Path) -> None:
    ssh_dir = tmp_path / "dotssh"
    write(ssh_dir / "conf.d" / "10-core.conf", "Host core1\n  HostName 10.0.1.1\n")
    write(ssh_dir / "conf.d" / "20-edge.conf", "Host edge1\n  HostName 10.0.2.1\n")
    write(ssh_dir / "conf.d" / "README", "Host ignored\n")
    write(ssh_dir / "extra", "Host extra1\n  HostName 10.0.3.1\n")
    config = write(
        tmp_path / "elsewhere" / "config",
        """
        Include conf.d/*.conf extra
        Host main1
            HostName 10.0.0.1
        """,
    )

    plan = plan_import(config, ssh_dir=ssh_dir)

    assert [device.name for device in plan.devices] == ["core1", "edge1", "extra1", "main1"]
    assert plan.sources["edge1"].path == ssh_dir / "conf.d" / "20-edge.conf"
    assert plan.sources["main1"].line == 2


def test_include_absolute_and_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    write(tmp_path / "home" / "hosts.conf", "Host homehost\n  HostName 10.0.5.1\n")
    absolute = write(tmp_path / "abs.conf", "Host abshost\n  HostName 10.0.6.1\n")
    config = write(tmp_path / "config", f"Include ~/hosts.conf\nInclude {absolute}\n")

    plan = plan_import(config, ssh_dir=tmp_path / "unused")

    assert [device.name for device in plan.devices] == ["homehost", "abshost"]


def test_include_inside_host_block_keeps_block(tmp_path: Path) -> None:
    write(tmp_path / "common.conf", "User shared\n")
    config = write(
        tmp_path / "config",
        """
        Host lab1
            Include common.conf
            Port 2201
        Host lab2
        """,
    )

    devices = devices_by_name(plan_import(config, ssh_dir=tmp_path).devices)

    assert (devices["lab1"].user, devices["lab1"].port) == ("shared", 2201)
    assert (devices["lab2"].user, devices["lab2"].port) == (None, 22)


def test_include_without_match_noted(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "Include missing/*.conf\nHost a\n")

    plan = plan_import(config, ssh_dir=tmp_path)

    assert [device.name for device in plan.devices] == ["a"]
    assert plan.notes == [f"{config}:1: Include 'missing/*.conf' matched no files"]


def test_include_loop_rejected(tmp_path: Path) -> None:
    write(tmp_path / "a.conf", "Host a\nInclude b.conf\n")
    write(tmp_path / "b.conf", "Host b\nInclude a.conf\n")
    config = write(tmp_path / "config", "Include a.conf\n")

    with pytest.raises(SshConfigError, match="Include loop") as caught:
        plan_import(config, ssh_dir=tmp_path)

    assert "a.conf -> " in str(caught.value)
    assert "nothing was imported" in str(caught.value)


def test_proxyjump_to_imported_host(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        Host inner
            HostName 10.1.0.2
            ProxyJump bastion
        Host bastion
            HostName 192.0.2.1
        """,
    )

    devices = devices_by_name(plan_import(config, ssh_dir=tmp_path).devices)

    assert devices["inner"].jump == "bastion"
    assert devices["bastion"].jump is None


def test_proxyjump_to_known_device(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "Host inner\n  ProxyJump edge\n")

    plan = plan_import(config, ssh_dir=tmp_path, known_devices=["edge"])

    assert plan.devices[0].jump == "edge"


def test_proxyjump_inline_resolved_through_config(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        Host inner
            ProxyJump jumpbox
        Host other
            ProxyJump ops@gw.example.org:2200
        Host third
            ProxyJump ssh://plainhost/
        Host jump*
            HostName 198.51.100.7
            User hop
            Port 2022
        """,
    )

    devices = devices_by_name(plan_import(config, ssh_dir=tmp_path).devices)

    assert devices["inner"].jump == "hop@198.51.100.7:2022"
    assert devices["other"].jump == "ops@gw.example.org:2200"
    assert devices["third"].jump == "plainhost:22"


def test_proxyjump_none_means_direct(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "Host a\n  ProxyJump none\nHost *\n  ProxyJump b.example\n")

    assert plan_import(config, ssh_dir=tmp_path).devices[0].jump is None


def test_proxyjump_loop_rejected(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        Host a
            ProxyJump b
        Host b
            ProxyJump a
        """,
    )

    with pytest.raises(SshConfigError, match=r"ProxyJump hosts loop: a -> b -> a") as caught:
        plan_import(config, ssh_dir=tmp_path)

    assert str(caught.value).startswith(f"{config}:2: Host a:")


def test_proxyjump_several_hops_rejected(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config", "Host a\n  HostName 10.0.0.1\n  ProxyJump x.example,y.example\n"
    )

    with pytest.raises(SshConfigError) as caught:
        plan_import(config, ssh_dir=tmp_path)

    assert str(caught.value).startswith(f"{config}:3: Host a: invalid jump 'x.example,y.example'")


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("Host a\n  Port 70000\n", 2, "Host a: invalid port 70000: must be 1 to 65535"),
        ("Host a\n  Port ssh\n", 2, "Host a: invalid port 'ssh': must be a whole number"),
        ("Host a\n  HostName bad;host\n", 2, "Host a: invalid host 'bad;host'"),
        ("Host a\n  User -oProxy\n", 2, "Host a: invalid user '-oProxy'"),
        ("Host a\n  HostName %p.example\n", 2, "Host a: invalid host '%p.example'"),
        ("Host good\nHost bad;name\n", 2, "Host bad;name: invalid name 'bad;name'"),
        ("Host a\n  User 'unclosed\n", 2, "unclosed ' quote"),
    ],
)
def test_bad_entry_names_file_line_entry(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    config = write(tmp_path / "config", body)

    with pytest.raises(SshConfigError) as caught:
        plan_import(config, ssh_dir=tmp_path)

    assert str(caught.value).startswith(f"{config}:{line}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_entry_in_included_file_named(tmp_path: Path) -> None:
    included = write(tmp_path / "conf.d" / "x.conf", "Host ok\n\nHost broken\n  Port 0\n")
    config = write(tmp_path / "config", "Include conf.d/*\n")

    with pytest.raises(SshConfigError) as caught:
        plan_import(config, ssh_dir=tmp_path)

    assert str(caught.value).startswith(f"{included}:4: Host broken: invalid port 0")


def test_missing_file_reported(tmp_path: Path) -> None:
    with pytest.raises(SshConfigError, match="cannot read the file: No such file"):
        plan_import(tmp_path / "absent", ssh_dir=tmp_path)


def test_comments_and_blank_lines_ignored(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        """
        # a comment
        Host a   # trailing comment
            # indented comment

            HostName 10.0.0.1 # why this address
        """,
    )

    plan = plan_import(config, ssh_dir=tmp_path)

    assert [(d.name, d.host) for d in plan.devices] == [("a", "10.0.0.1")]


def test_groups_given_to_new_devices(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "Host a b\n")

    plan = plan_import(config, ssh_dir=tmp_path, groups=["imported"])

    assert [d.groups for d in plan.devices] == [["imported"], ["imported"]]


def test_proxycommand_noted(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "Host a\n  ProxyCommand nc %h %p\n")

    plan = plan_import(config, ssh_dir=tmp_path)

    assert plan.notes == [
        f"{config}:2: ProxyCommand is not imported; add a jump with `mudmap device edit`"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a b  c", ["a", "b", "c"]),
        ('"a b" c', ["a b", "c"]),
        ("'a b'c", ["a bc"]),
        (r"a\ b", ["a b"]),
        (r'"say \"hi\""', ['say "hi"']),
        ("a #comment", ["a"]),
        ("a#b", ["a#b"]),
        ("", []),
    ],
)
def test_split_arguments(text: str, expected: list[str]) -> None:
    assert split_arguments(text) == expected


def test_parse_tags_options_with_blocks(tmp_path: Path) -> None:
    config = write(tmp_path / "config", "User global\nHost a\n  Port 1\n")

    parsed = parse(config, ssh_dir=tmp_path)

    assert [(o.keyword, o.args, o.block is None) for o in parsed.options] == [
        ("user", ["global"], True),
        ("port", ["1"], False),
    ]
    assert parsed.settings("a")["user"].args == ["global"]
