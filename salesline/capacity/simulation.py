"""The simulator of the sales model (SimPy). Pure: no Django."""
