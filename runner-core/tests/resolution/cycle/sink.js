// An empty stand-in: resolution tests never run it; validation checks that it exists.
