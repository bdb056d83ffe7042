"""The jump host found in `ansible_ssh_common_args`, in every way Ansible users write it."""

from __future__ import annotations

import pytest

from runbook.load.inventory._ssh_args import proxy_jump_from_args


@pytest.mark.parametrize(
    ("args", "jump"),
    [
        ("-o ProxyJump=bastion", "bastion"),
        ("-o ProxyJump=ops@bastion:2200", "ops@bastion:2200"),
        ("-oProxyJump=bastion", "bastion"),
        ("-o 'ProxyJump bastion'", "bastion"),
        ("-o ProxyJump bastion", "bastion"),
        ("-o proxyjump=bastion", "bastion"),  # ssh keywords ignore case
        ("-J bastion", "bastion"),
        ("-Jops@bastion", "ops@bastion"),
        ("-J a.example,b.example", "a.example,b.example"),
        ("-o StrictHostKeyChecking=no -o ProxyJump=gw", "gw"),
        ('-o ProxyCommand="ssh -W %h:%p -q user@jump"', "user@jump"),
        ("-o 'ProxyCommand=ssh -q -W %h:%p jump.example'", "jump.example"),
        ('-o ProxyCommand="ssh -l ops -p 2200 -W %h:%p jump"', "ops@jump:2200"),
        ('-o ProxyCommand="/usr/bin/ssh jump nc %h %p"', "jump"),
        ('-o ProxyCommand="nc -X connect -x proxy:3128 %h %p"', None),  # not an ssh jump
        ("-o ProxyJump=none", None),
        ("-o ControlMaster=auto -o ControlPersist=60s", None),
        ("", None),
        ("-o ProxyJump='unclosed", "'unclosed"),  # shlex fails: split on spaces instead
    ],
)
def test_proxy_jump(args: str, jump: str | None) -> None:
    assert proxy_jump_from_args(args) == jump
