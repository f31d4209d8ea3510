"""The device's mini shell (`sh -c` as adbd runs it) and the commands it knows."""
