"""What the "same calls" peer bots share: the recorded answers of our bot, step by step.

`bench.fake_server`'s "record" op walks one member through our bot's script (onboarding and one
self-assessment) and keeps, for each step, the Bot API calls our bot made: sendMessage,
answerCallbackQuery and editMessageText with their texts and keyboards. A peer bot makes the same
calls for the same step of each member, so a comparison measures the frameworks and our code,
not how many calls each makes. No database: the peers keep only a step counter per chat.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict


class Transcript:
    def __init__(self) -> None:
        with open(os.environ["BENCH_TRANSCRIPT"]) as f:
            self.steps: list[list[dict]] = json.load(f)
        self._next: defaultdict[int, int] = defaultdict(int)

    def calls_for(self, chat_id: int) -> list[dict]:
        """The calls our bot made for this chat's next step."""
        step = self._next[chat_id]
        self._next[chat_id] = step + 1
        return self.steps[step] if step < len(self.steps) else []
