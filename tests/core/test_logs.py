"""Log lines mask every secret, configured or learnt later, and keep statements (with members'
data in their parameters) out even at DEBUG."""

from __future__ import annotations

import logging

import pytest

from bot.core.logs import configure, hide


@pytest.fixture(autouse=True)
def _restore_logging():
    """`configure` sets up the process's logging: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("aiosqlite", "httpx")}
    yield
    root.handlers[:], root.level = handlers, level
    for name, previous in quiet.items():
        logging.getLogger(name).setLevel(previous)


def test_secrets_are_masked_whenever_they_are_learnt(capsys):
    configure("DEBUG", secrets=["123456:CONFIGURED-token"])
    log = logging.getLogger("bot.test")
    log.info("calling https://api.telegram.org/bot123456:CONFIGURED-token/getMe")
    hide("rotated-zalo-access-token")  # a token the bot learns after start
    log.debug("new pair %s", {"access_token": "rotated-zalo-access-token"})
    try:
        raise RuntimeError("refused: rotated-zalo-access-token")
    except RuntimeError:
        log.exception("a traceback holding it")
    err = capsys.readouterr().err
    assert "123456:***" in err and "CONFIGURED" not in err
    assert "rotated-zalo-access-token" not in err and err.count("***") >= 4


def test_database_statements_stay_out_at_debug(capsys):
    configure("DEBUG")
    logging.getLogger("aiosqlite").debug("executing UPDATE users SET display_name = 'Lan'")
    logging.getLogger("bot.test").debug("ours")
    err = capsys.readouterr().err
    assert "ours" in err and "display_name" not in err
