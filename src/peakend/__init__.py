"""peakend: the moments that matter in customer journeys."""
