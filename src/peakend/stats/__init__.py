"""Shared statistics: intervals, resampling, survival models; used by text and models."""
