"""What the bot can do, each service owning its rows: assessment, outreach (service, worker,
pacing), reminders, scheduling, reports and charts, ask (FAQ matching), inbox (member questions),
staff, members and maintenance (backup, pruning). Services depend on the store and the catalog,
never on a channel: delivery goes through the `Sender` protocol of `bot.core.channel`."""
