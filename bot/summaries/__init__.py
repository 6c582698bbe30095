"""Poll results, exports and article summaries: figures, charts, CSV and their renderings."""
