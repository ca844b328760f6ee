"""Statistical models on top of the journey engine: one module per idea.

``moments`` (moments of truth, excel and standard moments per touchpoint),
``memory`` (the remembered, peak-end experience of a journey) and
``hidden`` (hidden moments between designed touchpoints).
"""
