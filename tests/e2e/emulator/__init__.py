"""An emulated Discord (REST v10 + Gateway) that unchanged discord.py clients talk to over 127.0.0.1."""

from .interactions import CommandBlocked
from .server import FAKE_TOKEN, DefaultGuild, Emulator, Reply, SlashInvocation

__all__ = ["FAKE_TOKEN", "CommandBlocked", "DefaultGuild", "Emulator", "Reply", "SlashInvocation"]
