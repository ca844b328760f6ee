"""Chart specifications (Vega-Lite via Altair), one module per chart; no model code."""
