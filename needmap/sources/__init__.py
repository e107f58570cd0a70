"""Reading the outside world: one module per kind of input."""
