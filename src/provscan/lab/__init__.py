"""The device lab: emulated cameras, recorders and hostile devices on loopback addresses."""
