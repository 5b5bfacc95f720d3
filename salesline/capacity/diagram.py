"""The organisation model drawn as SVG. Pure: no Django."""
