"""Fakes at the HTTP edge: discord.py's REST calls answered in memory (discord_http), plus the reaction
and message routes polls use (polls). Everything above the HTTP client is the real code."""
