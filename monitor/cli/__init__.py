"""The command line: its commands, their output, the starter config and the demo."""
