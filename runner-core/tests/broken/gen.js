// An empty stand-in: the corpus's processors are resolved, never run; validation needs their files to exist.
