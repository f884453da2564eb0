"""One definition per output metric (docs/formats.md): the pipeline computes them with these,
the simulator's truth uses the same, trends and reports read them."""
