"""khuyenhoc-bot: the outreach chatbot of a study-promotion association (Hội Khuyến học).
`bot.app` wires the parts; README.md's Layout maps the rooms."""
