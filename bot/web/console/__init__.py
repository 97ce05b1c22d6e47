"""The staff console on the web, served under /console by the bot's own HTTP server.

`site.ConsoleSite` signs staff in (links from the chat's /console), keeps their session, checks
CSRF tokens and permissions, renders the pages (Jinja2 templates in `templates/`, texts from
content/locales `console:`) and serves its own assets from `static/` (no CDN). The pages'
figures and actions come from the services, as in the chat.
"""
