"""Doubles of the services the bot talks to, speaking their real protocols over HTTP on 127.0.0.1:
the Telegram Bot API (:mod:`fakes.bot_api`), Zalo OA (:mod:`fakes.zalo_api`) and the Zalo Bot
Platform (:mod:`fakes.zalo_bot_api`). Shared by the tests and the benchmarks (`bench/`); never
imported by the bot itself."""

from .bot_api import FakeBotAPI, FakeUser, SentMessage, UploadedFile

__all__ = ["FakeBotAPI", "FakeUser", "SentMessage", "UploadedFile"]
