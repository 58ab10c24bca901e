"""Revenue forecast: weekly payments received, 13 weeks ahead, with 80 % and 95 % intervals."""
