"""British English as the pages show it: Django's own, with times on the 24-hour clock
("6 Dec 2025, 14:05") rather than "2:05 p.m."; dates stay "6 Dec 2025"."""

DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
