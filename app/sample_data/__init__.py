"""Data that is not the company's own: the demo company (`demo`) and bulk generated data
for benchmarks (`generator`). Both write as the system, through the same validation as a
form; neither is part of the rules in app/services/."""
