"""`khuyenhoc qr --channel`: posters for Telegram, a Zalo Official Account or a Zalo Bot."""

from tests.test_cli import run

TOKEN = "1459232241454765289:s3cr3t-part"


def test_a_zalo_bot_poster_links_to_the_bot_and_says_the_payload_is_not_passed(tmp_path):
    out = tmp_path / "poster.png"
    result = run(
        ["qr", "assess-gia-dinh-hoc-tap", "--channel", "zalobot", "--out", str(out)],
        tmp_path,
        ZALO_BOT_TOKEN=TOKEN,
    )
    assert result.returncode == 0, result.stderr
    assert "https://zalo.me/1459232241454765289" in result.stdout
    assert "s3cr3t" not in result.stdout + result.stderr
    assert "Zalo không chuyển" in result.stdout  # the member lands in the menu instead
    assert out.read_bytes().startswith(b"\x89PNG")


def test_an_official_account_poster_needs_the_oa_id(tmp_path):
    out = tmp_path / "oa.png"
    missing = run(["qr", "--channel", "zalo-oa", "--out", str(out)], tmp_path)
    assert missing.returncode == 2 and "Official Account" in missing.stderr
    assert missing.stderr.count("\n") == 1 and not out.exists()  # one clear line
    given = run(
        ["qr", "--channel", "zalo-oa", "--bot", "579745863508352884", "--out", str(out)], tmp_path
    )
    assert given.returncode == 0 and "https://zalo.me/579745863508352884" in given.stdout


def test_telegram_stays_the_default_and_needs_what_the_link_opens(tmp_path):
    out = tmp_path / "tg.png"
    result = run(["qr", "--out", str(out), "--bot", "khuyenhoc_bot"], tmp_path)
    assert result.returncode == 2 and not out.exists()
    result = run(["qr", "plans", "--out", str(out), "--bot", "khuyenhoc_bot"], tmp_path)
    assert result.returncode == 0 and "https://t.me/khuyenhoc_bot?start=plans" in result.stdout
