"""The jump host hidden in `ansible_ssh_common_args`: `-J`, `-o ProxyJump`, `-o ProxyCommand`.

Inventories written for Ansible reach hosts behind a bastion with OpenSSH options; we run
SSH through paramiko, so the jump is pulled out as `[user@]host[:port]` (or a comma list).
"""

from __future__ import annotations

import os
import shlex

# ssh(1) options that take an argument: their value must not be read as the destination.
_SSH_ARG_OPTIONS = set("BbcDEeFIiJLlmOoPpQRSWw")


def proxy_jump_from_args(args: str) -> str | None:
    """The ProxyJump that `ssh ARGS` would use, or None (also for `ProxyJump=none`)."""
    try:
        tokens = shlex.split(args)
    except ValueError:
        tokens = args.split()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token == "-J":
            return _none(nxt)
        if token.startswith("-J"):
            return _none(token[2:])
        if token == "-o" or token.startswith("-o"):
            option = token[2:] if token != "-o" else nxt
            step = 1 if token != "-o" else 2
            key, value = _split_option(option)
            if not value and key and i + step < len(tokens) and token == "-o":
                value = tokens[i + step]  # `-o ProxyJump host`, written without quotes
                step += 1
            if key == "proxyjump" and value:
                return _none(value)
            if key == "proxycommand" and value:
                return _jump_of_proxy_command(value)
            i += step
            continue
        i += 1
    return None


def _split_option(option: str) -> tuple[str, str]:
    """`ProxyJump=x`, `ProxyJump x` → ("proxyjump", "x"); ssh keywords ignore case."""
    option = option.strip()
    for sep in ("=", " ", "\t"):
        if sep in option:
            key, _, value = option.partition(sep)
            return key.strip().lower(), value.strip().lstrip("=").strip()
    return option.lower(), ""


def _none(value: str) -> str | None:
    value = value.strip()
    return None if not value or value.lower() == "none" else value


def _jump_of_proxy_command(command: str) -> str | None:
    """`ssh -W %h:%p -q user@jump` (or `ssh jump nc %h %p`) → `user@jump[:port]`.

    As ssh(1) reads its arguments: options after the destination count too (`ssh jump -p
    2222 -W %h:%p`), up to the remote command; the first user and port given win (`-l`,
    `-o User=`, `user@`; `-p`, `-o Port=`)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if not words or os.path.basename(words[0]) != "ssh":
        return None
    user = port = destination = ""
    i = 1
    while i < len(words):
        word = words[i]
        if word == "--" and not destination:
            destination = words[i + 1] if i + 1 < len(words) else ""
            break
        if word.startswith("-") and len(word) > 1:
            flag = word[1]
            if flag in _SSH_ARG_OPTIONS:
                value = word[2:] or (words[i + 1] if i + 1 < len(words) else "")
                i += 1 if word[2:] else 2
                key, val = _split_option(value) if flag == "o" else (flag, value)
                if key in ("l", "user"):
                    user = user or val
                elif key in ("p", "port"):
                    port = port or val
                continue
            i += 1
            continue
        if destination:
            break  # the remote command (`nc %h %p`): no more options
        destination = word
        if "@" in word:
            given, destination = word.rsplit("@", 1)
            user = user or given
        i += 1
    if not destination:
        return None
    if user:
        destination = f"{user}@{destination}"
    if port and ":" not in destination.rpartition("@")[2]:
        destination = f"{destination}:{port}"
    return destination
