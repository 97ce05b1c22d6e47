"""The one aiohttp server: channels' webhooks, /healthz, /metrics."""
