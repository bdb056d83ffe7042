"""Messages about one session channel: starting its command, its stdin's end, a signal,
closing it, answering its stdin. paramiko calls, like client.py's: paramiko's own
`exec_command` and `shutdown_write` do not do what a lost connection needs (see each)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import paramiko
from paramiko.common import cMSG_CHANNEL_REQUEST
from paramiko.message import Message

from runbook.executors import Feed, FeedState, OutputCallback
from runbook.executors.ssh._client import CONN_ERRORS


class NotSent(Exception):
    """A command's exec request could not be sent: its connection was found dead, so the
    command never started and may be tried on a new connection."""

    def __init__(self, why: BaseException) -> None:
        super().__init__(str(why))
        self.why = why


def start_command(chan: paramiko.Channel, command: str) -> None:
    """paramiko's `exec_command`, after a look at the connection: on a dead one paramiko
    drops the request silently and then reports the channel closed, which would read as a
    command lost after it started. Lost after the look: CONN_ERRORS, it may have started."""
    transport = chan.get_transport()
    if chan.closed or not transport.is_active():
        raise NotSent(transport.saved_exception or EOFError())
    chan.exec_command(command)


def side_command(
    transport: paramiko.Transport, open_timeout_s: float, command: str, timeout_s: float = 5.0
) -> bool:
    """Run a short command on a channel of its own; False if the server did not answer."""
    try:
        side = transport.open_session(timeout=open_timeout_s)
    except CONN_ERRORS:
        return False
    try:
        side.exec_command(command)
        return side.status_event.wait(timeout_s)
    except CONN_ERRORS:
        return False
    finally:
        close_channel(side)


def close_channel(chan: paramiko.Channel) -> None:
    """Close a channel whose connection may be gone (never raises: the CLOSE message may
    meet a socket that just failed, and the command's result already says so)."""
    with contextlib.suppress(*CONN_ERRORS):
        chan.close()


def send_signal(chan: paramiko.Channel, name: str) -> None:
    """RFC 4254 "signal" request; paramiko has no public call for it. sshd applies it to
    the session's process group, but refuses it for root logins (see remote_command.py)."""
    m = Message()
    m.add_byte(cMSG_CHANNEL_REQUEST)
    m.add_int(chan.remote_chanid)
    m.add_string("signal")
    m.add_boolean(False)
    m.add_string(name)
    _send_while_open(chan, lambda: m)


def send_eof(chan: paramiko.Channel) -> None:
    """End the command's stdin; nothing if the channel is already closed."""
    _send_while_open(chan, chan._send_eof)  # type: ignore[attr-defined]  # no public API


def _send_while_open(chan: paramiko.Channel, message: Callable[[], Message | None]) -> None:
    """Send a message about `chan` only while it is open, in order with its CLOSE.

    paramiko's `shutdown_write` builds the EOF under the channel's lock and sends it after
    letting go (paramiko#1705): a command that ends in between has its CLOSE sent first, and
    OpenSSH then drops the whole connection ("ieof packet referred to nonexistent channel"),
    failing every other command it carries. Here the message is sent while the lock is held,
    so the transport thread's CLOSE goes after it, or it is not sent at all. The transport's
    send lock is only taken when no key exchange is under way (paramiko releases the
    channel's lock before sending because a re-key waiting on it would deadlock); during one,
    the message waits for it without the channel's lock, as paramiko does.
    """
    transport = chan.get_transport()
    with contextlib.suppress(*CONN_ERRORS):
        with chan.lock:
            if chan.closed:
                return
            with transport.clear_to_send_lock:
                if transport.clear_to_send.is_set():
                    m = message()
                    if m is not None:
                        transport._send_message(m)  # type: ignore[attr-defined]
                    return
            m = message()
        if m is not None:  # a key exchange is under way: paramiko's way
            transport._send_user_message(m)  # type: ignore[attr-defined]  # no public API


def feeding(
    chan: paramiko.Channel, feed: Feed, on_output: OutputCallback
) -> tuple[OutputCallback, FeedState]:
    """`on_output` that also answers the command's stdin as its stderr shows (_feed.py)."""

    def send(data: bytes) -> None:
        # the command ended, or the connection: its result says which
        with contextlib.suppress(*CONN_ERRORS):
            chan.sendall(data)

    def close() -> None:
        send_eof(chan)

    state = FeedState(feed, send, close)

    def on(stream: str, text: str) -> None:
        if stream == "stderr":
            text = state.stderr(text)
        if text:
            on_output(stream, text)

    return on, state
