"""The one escaping function for text the bot repeats in Slack.

Slack's mrkdwn gives meaning to exactly three characters: `&`, `<` and `>`. Escaping them turns
`<!channel>`, `<@U123>`, `<#C123>` and `<https://evil|looks safe>` into inert text, which is what
Slack's own formatting guide asks for. Plain `@here` typed as text never pings when posted by an app
(the bot never sets `link_names`), so nothing else needs touching.
"""

from __future__ import annotations


def escape_mrkdwn(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
