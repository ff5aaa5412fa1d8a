"""The compliance program on top of the store: the inventory, scan differences and
remediation cases rendered for people and programs, and the compliance report."""
