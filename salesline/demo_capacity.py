"""Demo data for capacity planning (filled in by the capacity issue)."""
