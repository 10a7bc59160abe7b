"""Examples shipped with smokewatch: a demo target with faults, and a config watching it."""
