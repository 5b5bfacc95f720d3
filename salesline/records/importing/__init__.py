"""Import of leads, people and companies from CSV and XLSX files (see docs/imports.md)."""
