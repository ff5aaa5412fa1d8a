"""CLI commands of later pipeline inputs (lookup, screen, discover, pcap); cli.py registers them."""
