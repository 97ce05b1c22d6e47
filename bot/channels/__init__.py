"""Messengers behind the kernel: Telegram, Zalo OA and the terminal. Each implements
`bot.core.channel.Channel` and imports only the kernel and its platform library; what it needs
from the rest (the Dispatcher, a token vault, the rate limiter) it is given by `bot.app`."""
