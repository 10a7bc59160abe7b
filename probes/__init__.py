"""Probes: each module measures one kind of thing against a target."""
