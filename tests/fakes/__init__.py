"""Test doubles that speak real protocols (see :mod:`tests.fakes.bot_api`)."""

from .bot_api import FakeBotAPI, FakeUser, SentMessage, UploadedFile

__all__ = ["FakeBotAPI", "FakeUser", "SentMessage", "UploadedFile"]
