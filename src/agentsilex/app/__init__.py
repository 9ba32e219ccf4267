"""What the command line and the web chat share (common.py), and the two front ends (cli/, web/)."""
